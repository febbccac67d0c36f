"""The ``hoomd`` simulator plugin: the paper's electrolyte with HOOMD-blue (the paper's engine).

WCA by ``md.pair.LJ`` (shifted, cut at 2^(1/6)σ); Coulomb by PPPM with
charges z·sqrt(kT·l_B) (HOOMD's Coulomb prefactor is 1), its real-space part
switched off for pairs involving solvent (per-type-pair r_cut = 0, which
leaves the forces unchanged); harmonic ``pair`` bonds, whose partners are
excluded from each other's pair and Coulomb terms (``exclusions=("bond",)``).

``coulomb_method``: ``all-particles`` is HOOMD's stock PPPM (every bead on the
mesh; the Ewald real-space term shares the WCA cell list, whose cells it
widens to its 3σ cutoff). ``ion-pairs`` (what ``auto`` picks) gives the real
space its own BVH neighbour list, which visits only ion–ion pairs, and puts
only the ions on the mesh; the forces are the same (tests: against each
other and a full Ewald sum).

Start: lattice placement, FIRE minimisation, an unrecorded equilibration with
the Bussi thermostat (MTTK started right after FIRE rings), then Nosé–Hoover
(MTTK) production. Restart checkpoints hold the state as GSD (positions,
images, velocities, step) with the MTTK variables (ξ, η) in its log; at each
checkpoint a running simulation is rebuilt from the state it saved, so an
uninterrupted run and a resumed one follow the same (single-precision GSD)
path, bit for bit. Version differences live in :mod:`hoomd_compat`.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
from pydantic import Field

from core.api import (ANION_TYPE, CATION_TYPE, PAIR_BOND_TYPE, SOLVENT_TYPE, TYPES, EngineConfig, EngineSimulator,
                      SimulationJob, SimulationSettings, Topology, build_topology, ewald_parameters,
                      initial_positions, unwrap)

from . import hoomd_compat as compat


#: The particle types that carry charge (``core.md.electrolyte.TYPES`` less the solvent).
ION_TYPES = (CATION_TYPE, ANION_TYPE)


class HOOMDConfig(EngineConfig):
    """Options of the ``hoomd`` simulator (lengths σ, energies ε)."""

    device: Literal["CPU", "GPU", "auto"] = "auto"
    coulomb_cutoff: float = Field(default=3.0, gt=0, description="Ewald real-space cutoff, σ")
    pppm_accuracy: float = Field(default=5e-4, gt=0, lt=1,
                                 description="relative accuracy that sets the PPPM grid (as OpenMM's tolerance)")
    pppm_order: int = Field(default=5, ge=3, le=7, description="PPPM assignment order")
    nlist_buffer: float = Field(default=0.4, ge=0, description="neighbour list buffer, σ")
    coulomb_method: Literal["auto", "ion-pairs", "all-particles"] = Field(
        default="auto", description="ion-pairs: real space over ion pairs only (own BVH list), mesh on the "
                                    "ions only; all-particles: HOOMD's stock PPPM over every bead; auto: ion-pairs")
    fire_force_tolerance: float = Field(default=0.1, gt=0, description="FIRE convergence: mean force, ε/σ")
    fire_max_steps: int = Field(default=1000, ge=100, description="FIRE step cap (the lattice start has no "
                                                                   "overlaps; minimising only relaxes it)")


def pppm_grid(box_length: float, cutoff: float, accuracy: float) -> int:
    """Grid points per edge for ``accuracy`` (:func:`core.md.ewald.ewald_parameters`; HOOMD picks its own α)."""
    return ewald_parameters(box_length, cutoff, accuracy)[1]


def make_forces(topology: Topology, *, bjerrum_length: float, kT: float, settings: SimulationSettings,
                config: HOOMDConfig) -> dict[str, list]:
    """The model's force objects by term (a fresh set for each integrator).

    ``"coulomb"`` holds (Ewald pair, PPPM) and is empty without ions (HOOMD's
    PPPM refuses a system with no charge).
    """
    import hoomd

    nlist = hoomd.md.nlist.Cell(buffer=config.nlist_buffer, exclusions=("bond",))
    wca = hoomd.md.pair.LJ(nlist=nlist, default_r_cut=settings.wca_cutoff, mode="shift")
    wca.params[(TYPES, TYPES)] = dict(epsilon=1.0, sigma=1.0)
    forces: dict[str, list] = {"wca": [wca], "coulomb": [], "bond": []}
    if np.any(topology.valence[topology.typeid == TYPES.index(SOLVENT_TYPE)] != 0):
        raise ValueError("the hoomd plugin restricts Coulomb to the ion types; a solvent bead carries charge")
    if np.any(topology.valence != 0):
        grid = pppm_grid(topology.box_length, config.coulomb_cutoff, config.pppm_accuracy)
        if config.coulomb_method == "all-particles":
            forces["coulomb"] = list(compat.pppm_forces(nlist, grid, config.pppm_order, config.coulomb_cutoff))
        else:
            forces["coulomb"] = list(compat.pppm_forces(compat.tree_nlist(config.nlist_buffer), grid,
                                                        config.pppm_order, config.coulomb_cutoff,
                                                        charged_types=list(ION_TYPES)))
    if topology.bonds.size:
        bond = hoomd.md.bond.Harmonic()
        bond.params[PAIR_BOND_TYPE] = dict(k=settings.bond_k, r0=settings.bond_r0)
        forces["bond"].append(bond)
    return forces


def all_forces(forces: dict[str, list]) -> list:
    return [force for term in forces.values() for force in term]


def restrict_ewald_to_ions(forces: dict[str, list]) -> None:
    """Zero the Ewald real-space cutoff of every pair involving solvent (after the forces are attached)."""
    if not forces["coulomb"]:
        return
    ewald = forces["coulomb"][0]
    for other in TYPES:
        ewald.r_cut[("solvent", other)] = 0.0


def make_snapshot(topology: Topology, positions: np.ndarray, bjerrum_length: float, kT: float):
    """A HOOMD snapshot of ``topology`` at ``positions`` ((N, 3), σ, in [-L/2, L/2))."""
    import hoomd

    snapshot = hoomd.Snapshot()
    n = topology.n_particles
    length = topology.box_length
    snapshot.configuration.box = [length, length, length, 0, 0, 0]
    snapshot.particles.N = n
    snapshot.particles.types = list(TYPES)
    snapshot.particles.typeid[:] = topology.typeid
    snapshot.particles.position[:] = positions
    snapshot.particles.mass[:] = 1.0
    snapshot.particles.charge[:] = topology.valence * np.sqrt(kT * bjerrum_length)
    if topology.bonds.size:
        snapshot.bonds.N = len(topology.bonds)
        snapshot.bonds.types = [PAIR_BOND_TYPE]
        snapshot.bonds.typeid[:] = 0
        snapshot.bonds.group[:] = topology.bonds
    return snapshot


class HOOMDSession:
    """A HOOMD simulation behind :class:`core.md.production_loop.EngineSession`, in reduced units.

    Checkpoints are reloaded in place (``reload_at_checkpoints``): :meth:`load_state` replaces the
    simulation by one built from the saved state exactly as a resumed run builds it (``rebuild``), so an
    uninterrupted run and a resumed one continue identically. Setting the snapshot on the running
    simulation is not enough: its thermodynamic compute keeps the kinetic energy of the unrounded
    velocities for the current step, which the MTTK thermostat then uses (measured: 2·10⁻⁹σ apart after
    100 steps, 10⁻³σ after 700).
    """

    reload_at_checkpoints = True

    def __init__(self, simulation, thermo, thermostat=None,
                 rebuild: Callable[[bytes], HOOMDSession] | None = None) -> None:
        self.simulation = simulation
        self.thermo = thermo
        self.thermostat = thermostat
        self.rebuild = rebuild

    def run(self, steps: int) -> None:
        self.simulation.run(steps)

    def _snapshot(self):
        return self.simulation.state.get_snapshot()

    def unwrapped_positions(self) -> np.ndarray:
        snapshot = self._snapshot()
        box = np.asarray(snapshot.configuration.box[:3], dtype=np.float64)
        return unwrap(snapshot.particles.position, snapshot.particles.image, box)

    def velocities(self) -> np.ndarray:
        return np.asarray(self._snapshot().particles.velocity, dtype=np.float64)

    def potential_energy(self) -> float:
        return float(self.thermo.potential_energy)

    def kinetic_energy(self) -> float:
        """Kinetic energy, ε."""
        return float(self.thermo.kinetic_energy)

    def save_state(self) -> bytes:
        """The state as GSD bytes, the MTTK (ξ, η) in its log."""
        logger = compat.thermostat_log(self.thermostat) if self.thermostat is not None else None
        with tempfile.TemporaryDirectory() as directory:
            path = Path(directory) / "state.gsd"
            compat.write_state(self.simulation.state, str(path), logger)
            return path.read_bytes()

    def load_state(self, state: bytes) -> None:
        """Continue from ``state`` (bytes of :meth:`save_state`) as a freshly restored simulation would."""
        if self.rebuild is None:
            raise RuntimeError("this HOOMD session was made without a way to rebuild itself from a state")
        fresh = self.rebuild(state)
        self.simulation, self.thermo, self.thermostat = fresh.simulation, fresh.thermo, fresh.thermostat


def read_state(state: bytes):
    """(the GSD frame, the MTTK (ξ, η) or ``None``) of a state saved by :meth:`HOOMDSession.save_state`."""
    import gsd.hoomd

    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "state.gsd"
        path.write_bytes(state)
        with gsd.hoomd.open(str(path), mode="r") as trajectory:
            frame = trajectory[0]
    dof = frame.log.get("/".join(compat.THERMOSTAT_LOG_KEY))
    return frame, (tuple(float(x) for x in dof) if dof is not None else None)


def restore_thermostat(thermostat, dof) -> None:
    """Set the MTTK (ξ, η); states saved before they were stored restart them at zero."""
    if thermostat is not None and dof is not None:
        thermostat.translational_dof = dof


class HOOMDSimulator(EngineSimulator):
    name = "hoomd"
    version = "1.1"
    Config = HOOMDConfig
    requires = ("hoomd", "hoomd.md")
    install_hint = "conda install -c conda-forge hoomd  (HOOMD-blue 4.0–7.x; not on PyPI)"
    description = "coarse-grained electrolyte: WCA + PPPM Coulomb + MTTK Nosé–Hoover, HOOMD-blue (the paper's)"

    def prepare(self, job: SimulationJob, threads: int, state: bytes | None = None) -> HOOMDSession:
        """A production-ready session: fresh (placed, minimised, equilibrated) or restored from ``state``."""
        import hoomd

        compat.check_version()
        config: HOOMDConfig = self.config
        settings = job.settings
        topology = build_topology(job.system)
        simulation = hoomd.Simulation(device=compat.make_device(config.device, threads), seed=job.seed % 65536)
        force_args = dict(bjerrum_length=job.system.bjerrum_length, kT=settings.kT, settings=settings, config=config)
        if state is None:
            snapshot = make_snapshot(topology, initial_positions(topology, job.seed), job.system.bjerrum_length,
                                     settings.kT)
            simulation.create_state_from_snapshot(snapshot)
            self._minimise(simulation, make_forces(topology, **force_args))
            simulation.state.thermalize_particle_momenta(filter=hoomd.filter.All(), kT=settings.kT)
            self._equilibrate(simulation, make_forces(topology, **force_args), settings)
        else:
            with tempfile.TemporaryDirectory() as directory:
                path = Path(directory) / "state.gsd"
                path.write_bytes(state)
                simulation.create_state_from_gsd(filename=str(path))
        thermostat = (compat.mttk(settings.kT, settings.thermostat_tau)
                      if config.thermostat == "nose-hoover" else None)
        if state is not None:
            restore_thermostat(thermostat, read_state(state)[1])
        forces = make_forces(topology, **force_args)
        simulation.operations.integrator = hoomd.md.Integrator(
            dt=settings.timestep, methods=[compat.constant_volume(hoomd.filter.All(), thermostat)],
            forces=all_forces(forces))
        thermo = hoomd.md.compute.ThermodynamicQuantities(filter=hoomd.filter.All())
        simulation.operations.computes.append(thermo)
        simulation.run(0)
        restrict_ewald_to_ions(forces)
        return HOOMDSession(simulation, thermo, thermostat, rebuild=lambda saved: self.prepare(job, threads, saved))

    def _minimise(self, simulation, forces: dict[str, list]) -> None:
        import hoomd

        minimiser = compat.fire(0.005, all_forces(forces), [compat.constant_volume(hoomd.filter.All())],
                                self.config.fire_force_tolerance)
        simulation.operations.integrator = minimiser
        simulation.run(0)
        restrict_ewald_to_ions(forces)
        steps = 0
        while not minimiser.converged and steps < self.config.fire_max_steps:
            simulation.run(100)
            steps += 100
        simulation.operations.integrator = None

    def _equilibrate(self, simulation, forces: dict[str, list], settings: SimulationSettings) -> None:
        import hoomd

        method = compat.constant_volume(hoomd.filter.All(), compat.bussi(settings.kT, settings.thermostat_tau))
        simulation.operations.integrator = hoomd.md.Integrator(dt=settings.timestep, methods=[method],
                                                               forces=all_forces(forces))
        simulation.run(0)
        restrict_ewald_to_ions(forces)
        if settings.equilibration_steps:
            simulation.run(settings.equilibration_steps)
        simulation.operations.integrator = None

    def session(self, job: SimulationJob, threads: int, state: bytes | None) -> HOOMDSession:
        return self.prepare(job, threads, state)

    def engine_facts(self, job: SimulationJob) -> dict[str, Any]:
        return {"engine": "hoomd", "version": compat.check_version(), "device": self.config.device}


def evaluate(topology: Topology, positions: np.ndarray, *, bjerrum_length: float, settings: SimulationSettings,
             config: HOOMDConfig, which: tuple[str, ...] = ("wca", "coulomb", "bond")) -> tuple[float, np.ndarray]:
    """Potential energy (ε) and forces ((N, 3), ε/σ) of ``positions`` ((N, 3), σ) from the chosen terms."""
    import hoomd

    simulation = hoomd.Simulation(device=compat.make_device("CPU", 1), seed=0)
    simulation.create_state_from_snapshot(make_snapshot(topology, positions, bjerrum_length, settings.kT))
    forces = make_forces(topology, bjerrum_length=bjerrum_length, kT=settings.kT, settings=settings, config=config)
    simulation.operations.integrator = hoomd.md.Integrator(
        dt=settings.timestep, methods=[compat.constant_volume(hoomd.filter.All())], forces=all_forces(forces))
    simulation.run(0)
    chosen = [force for name in which for force in forces[name]]
    energy = sum(float(force.energy) for force in chosen)
    total = sum((np.asarray(force.forces, dtype=np.float64) for force in chosen), np.zeros((len(positions), 3)))
    return energy, total
