"""The ``openmm`` simulator plugin: the paper's electrolyte with OpenMM.

Placement on a lattice, the local energy minimiser, an unrecorded
equilibration with a Langevin thermostat (which settles the minimised state
without the ringing a Nosé–Hoover start shows), then Nosé–Hoover production
at kT with the recipe's time step. The GSD file's ``particles.charge`` holds
the valence z; the engine's scaled charge is z·sqrt(kT·l_B / 138.935…).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field

from core.api import EngineConfig, EngineSimulator, SimulationJob, build_topology, initial_positions

from .openmm_model import CoulombSettings, build_system, choose_coulomb_method, make_platform
from .openmm_units import temperature_kelvin


class OpenMMConfig(EngineConfig):
    """Options of the ``openmm`` simulator (lengths σ, energies ε)."""

    platform: Literal["CPU", "CUDA", "OpenCL", "HIP", "Reference"] = "CPU"
    precision: Literal["single", "mixed", "double"] = Field(
        default="mixed", description="CUDA/OpenCL/HIP precision; the CPU platform always uses single-precision "
                                     "forces with double-precision integration")
    coulomb_method: Literal["auto", "ion-pairs", "all-particles"] = Field(
        default="auto", description="how the PME real-space part is computed: over the explicit list of ion "
                                    "pairs, or over every bead within the cutoff; 'auto' takes ion-pairs while "
                                    "n_ions²/2 ≤ 10·N (openmm_model.choose_coulomb_method)")
    coulomb_cutoff: float | None = Field(
        default=None, gt=0, description="PME real-space cutoff, σ (default: 3σ for all-particles, 0.49 of the box "
                                        "edge for ion-pairs)")
    ewald_tolerance: float = Field(default=5e-4, gt=0, lt=1, description="PME relative force error tolerance")
    minimise_tolerance: float = Field(default=10.0, gt=0, description="minimiser force tolerance, ε/σ")


class OpenMMSession:
    """An OpenMM context behind :class:`core.md.production_loop.EngineSession`, in reduced units.

    Checkpoints are reloaded in place (``reload_at_checkpoints``): :meth:`load_state` reinitialises the
    context before loading, so a running context continues exactly as a fresh one that loads the same
    checkpoint (with the CPU platform's ``DeterministicForces``, bit for bit).
    """

    reload_at_checkpoints = True

    def __init__(self, context, integrator) -> None:
        self.context = context
        self.integrator = integrator

    def run(self, steps: int) -> None:
        self.integrator.step(steps)

    def _state(self, **what: bool):
        return self.context.getState(enforcePeriodicBox=False, **what)

    def unwrapped_positions(self) -> np.ndarray:
        from openmm import unit

        positions = self._state(getPositions=True).getPositions(asNumpy=True)
        return np.asarray(positions.value_in_unit(unit.nanometer), dtype=np.float64)

    def velocities(self) -> np.ndarray:
        from openmm import unit

        velocities = self._state(getVelocities=True).getVelocities(asNumpy=True)
        return np.asarray(velocities.value_in_unit(unit.nanometer / unit.picosecond), dtype=np.float64)

    def potential_energy(self) -> float:
        from openmm import unit

        return float(self._state(getEnergy=True).getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole))

    def kinetic_energy(self) -> float:
        """Kinetic energy, ε."""
        from openmm import unit

        return float(self._state(getEnergy=True).getKineticEnergy().value_in_unit(unit.kilojoule_per_mole))

    def save_state(self) -> bytes:
        return bytes(self.context.createCheckpoint())

    def load_state(self, state: bytes) -> None:
        """Restore ``state`` as a fresh context would: no neighbour list or forces kept from before."""
        self.context.reinitialize(preserveState=False)
        self.context.loadCheckpoint(state)


class OpenMMSimulator(EngineSimulator):
    name = "openmm"
    version = "1.1"
    Config = OpenMMConfig
    requires = ("openmm",)
    install_hint = "pip install 'localcond[openmm]'  (or: conda install -c conda-forge openmm)"
    description = "coarse-grained electrolyte: WCA + PME Coulomb (ion-pair real space) + Nosé–Hoover, OpenMM"

    @classmethod
    def missing_hardware(cls, config: OpenMMConfig) -> tuple[str, str] | None:
        """A GPU platform (CUDA, OpenCL, HIP) that OpenMM does not offer here, with those it does."""
        if config.platform in ("CPU", "Reference"):
            return None
        import openmm

        here = [openmm.Platform.getPlatform(i).getName() for i in range(openmm.Platform.getNumPlatforms())]
        if config.platform in here:
            return None
        return "platform", (f"OpenMM platform {config.platform!r} is not available on this machine (OpenMM "
                            f"{openmm.__version__} offers {', '.join(here)}); use one of those, or run the recipe on "
                            "a cluster whose workers have it (executor: slurm or address)")

    def prepare(self, job: SimulationJob, threads: int, equilibrate: bool = True) -> tuple[OpenMMSession, Any]:
        """A production-ready session: built, placed, minimised and (if asked) equilibrated.

        Returns the session and the ``openmm.System``.
        """
        import openmm

        config: OpenMMConfig = self.config
        settings = job.settings
        topology = build_topology(job.system)
        system = build_system(topology, bjerrum_length=job.system.bjerrum_length, kT=settings.kT,
                              wca_cutoff=settings.wca_cutoff, bond_k=settings.bond_k, bond_r0=settings.bond_r0,
                              coulomb=self.coulomb_settings(topology))
        temperature = temperature_kelvin(settings.kT)
        platform, properties = make_platform(config.platform, threads, config.precision)
        production = self._production_integrator(temperature, settings)
        context = openmm.Context(system, production, platform, properties)
        if equilibrate:
            context.setState(self._equilibrated_state(system, topology, job, platform, properties, temperature))
        return OpenMMSession(context, production), system

    def coulomb_settings(self, topology) -> CoulombSettings:
        """The PME settings for ``topology``, with ``coulomb_method: auto`` resolved."""
        config: OpenMMConfig = self.config
        method = config.coulomb_method
        if method == "auto":
            method = choose_coulomb_method(topology.n_particles, int(np.count_nonzero(topology.valence)))
        return CoulombSettings(config.coulomb_cutoff, config.ewald_tolerance, method)

    def _production_integrator(self, temperature: float, settings):
        import openmm

        if self.config.thermostat == "none":
            return openmm.VerletIntegrator(settings.timestep)
        return openmm.NoseHooverIntegrator(temperature, 1.0 / settings.thermostat_tau, settings.timestep)

    def _equilibrated_state(self, system, topology, job: SimulationJob, platform, properties, temperature):
        import openmm

        settings = job.settings
        integrator = openmm.LangevinMiddleIntegrator(temperature, 1.0 / settings.thermostat_tau, settings.timestep)
        integrator.setRandomNumberSeed(job.seed)
        context = openmm.Context(system, integrator, platform, properties)
        context.setPositions(initial_positions(topology, job.seed))
        openmm.LocalEnergyMinimizer.minimize(context, self.config.minimise_tolerance, 0)
        context.setVelocitiesToTemperature(temperature, job.seed)
        if settings.equilibration_steps:
            integrator.step(settings.equilibration_steps)
        state = context.getState(getPositions=True, getVelocities=True, enforcePeriodicBox=False)
        del context
        return state

    def session(self, job: SimulationJob, threads: int, state: bytes | None) -> OpenMMSession:
        session, _ = self.prepare(job, threads, equilibrate=state is None)
        if state is not None:
            session.load_state(state)
        return session

    def engine_facts(self, job: SimulationJob) -> dict[str, Any]:
        import openmm

        return {"engine": "openmm", "version": openmm.__version__, "platform": self.config.platform,
                "coulomb_method": self.coulomb_settings(build_topology(job.system)).method}
