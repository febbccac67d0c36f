"""Built-in simulator plugins, registered through the ``localcond`` entry-point group like any other package's."""

from __future__ import annotations

from core.api import PluginRegistry, SimulatorPlugin, hookimpl

from .hoomd_simulator import HOOMDSimulator
from .imported_trajectories import ImportedTrajectories
from .lammps_simulator import LAMMPSSimulator
from .openmm_simulator import OpenMMSimulator

#: The built-in simulator plugin classes.
BUILTIN: list[type[SimulatorPlugin]] = [LAMMPSSimulator, OpenMMSimulator, HOOMDSimulator, ImportedTrajectories]


@hookimpl
def localcond_register_simulators(registry: PluginRegistry) -> list[type[SimulatorPlugin]]:
    return list(BUILTIN)
