"""The paper's coarse-grained electrolyte, independent of any engine.

Simulator plugins build their engine's model from what this module gives:
which particle is which (:func:`build_topology`), where they start
(:func:`initial_positions`), which frames a run writes (:func:`frame_schedule`)
and what every frame records (:func:`trajectory_log`). Particle order is fixed:
cations ``0 … n-1``, anions ``n … 2n-1``, then solvent; bonded pair ``i`` joins
cation ``i`` and anion ``n + i``.

>>> from core.datatypes import SystemSpec
>>> spec = SystemSpec("s", 0.05, 5.0, 0.5, 1000, 0.8, 1, 0)
>>> topology = build_topology(spec)
>>> topology.n_ion_pairs, int(topology.valence.sum()), len(topology.bonds)
(62, 0, 31)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.datatypes import (ANION_TYPE, CATION_TYPE, SOLVENT_TYPE, Frame, SimulationSettings, SystemSpec)
from core.periodic import wrap as periodic_wrap
from core.md.trajectory import (LOG_BJERRUM_LENGTH, LOG_CONCENTRATION, LOG_ENGINE, LOG_FRAME_INTERVAL, LOG_KT,
                             LOG_PAIRED_FRACTION, LOG_SEED, LOG_TIMESTEP)

#: Particle type names in typeid order.
TYPES: tuple[str, str, str] = (CATION_TYPE, ANION_TYPE, SOLVENT_TYPE)


@dataclass(frozen=True)
class Topology:
    """Who is who in one system.

    Attributes
    ----------
    typeid: (N,) int32 index into :data:`TYPES`.
    valence: (N,) float64 ion valence z (+1, -1, 0); multiply by the engine's
        charge unit to get charges.
    bonds: (M, 2) int64 bonded cation–anion pairs.
    box_length: edge of the cubic box, σ.
    """

    typeid: np.ndarray
    valence: np.ndarray
    bonds: np.ndarray
    box_length: float

    @property
    def n_particles(self) -> int:
        return int(self.typeid.shape[0])

    @property
    def n_ion_pairs(self) -> int:
        return int(np.count_nonzero(self.typeid == 0))

    @property
    def ion_indices(self) -> np.ndarray:
        """Indices of all charged particles, int64."""
        return np.flatnonzero(self.valence != 0)


def build_topology(system: SystemSpec) -> Topology:
    """Types, valences and bonds of ``system``: N₊ = N₋ = round(c·V), the rest solvent."""
    n_pairs, n = system.n_ion_pairs, system.n_particles
    if 2 * n_pairs > n:
        raise ValueError(f"system {system.name}: {2 * n_pairs} ions do not fit in {n} particles")
    typeid = np.full(n, 2, dtype=np.int32)
    typeid[:n_pairs] = 0
    typeid[n_pairs:2 * n_pairs] = 1
    valence = np.array([1.0, -1.0, 0.0])[typeid]
    bonded = np.arange(system.n_bonded_pairs, dtype=np.int64)
    bonds = np.stack([bonded, bonded + n_pairs], axis=1) if bonded.size else np.zeros((0, 2), dtype=np.int64)
    return Topology(typeid=typeid, valence=valence, bonds=bonds, box_length=system.box_length)


def initial_positions(topology: Topology, seed: int, jitter: float = 0.05) -> np.ndarray:
    """Overlap-free start: particles on a shuffled simple-cubic lattice, σ.

    The lattice has ``m = ceil(N^(1/3))`` sites per edge (spacing ≥ ρ^(-1/3),
    1.077σ at ρ = 0.8, where the WCA energy is below 0.1 kT); bonded pairs
    take two neighbouring sites along x. Returns (N, 3) float64 in
    [-L/2, L/2), each site moved by up to ``jitter``·spacing at random.
    """
    rng = np.random.default_rng(seed)
    n = topology.n_particles
    length = topology.box_length
    per_edge = int(np.ceil(n ** (1.0 / 3.0) - 1e-9))
    spacing = length / per_edge
    grid = np.stack(np.meshgrid(*(np.arange(per_edge),) * 3, indexing="ij"), axis=-1).reshape(-1, 3)
    n_bonds = len(topology.bonds)
    slots = grid[(grid[:, 0] % 2 == 0) & (grid[:, 0] + 1 < per_edge)]
    if n_bonds > len(slots):
        raise ValueError(f"{n_bonds} bonded pairs do not fit on a {per_edge}³ lattice")
    chosen = slots[rng.choice(len(slots), size=n_bonds, replace=False)]
    taken = np.zeros(len(grid), dtype=bool)
    sites = np.empty((n, 3), dtype=np.int64)
    if n_bonds:
        partner = chosen + np.array([1, 0, 0])
        sites[topology.bonds[:, 0]] = chosen
        sites[topology.bonds[:, 1]] = partner
        taken[_site_index(chosen, per_edge)] = True
        taken[_site_index(partner, per_edge)] = True
    unbonded = np.setdiff1d(np.arange(n), topology.bonds.ravel())
    free = grid[~taken]
    sites[unbonded] = free[rng.choice(len(free), size=len(unbonded), replace=False)]
    positions = (sites + 0.5) * spacing - length / 2
    positions += rng.uniform(-jitter, jitter, size=positions.shape) * spacing
    return wrap(positions, length)[0]


def _site_index(sites: np.ndarray, per_edge: int) -> np.ndarray:
    """Flat index of lattice sites (n, 3) on a ``per_edge``³ grid."""
    return (sites[:, 0] * per_edge + sites[:, 1]) * per_edge + sites[:, 2]


def wrap(unwrapped: np.ndarray, box_length: float) -> tuple[np.ndarray, np.ndarray]:
    """Split unwrapped positions (N, 3), σ, into wrapped ones in [-L/2, L/2) and int32 images
    (:func:`core.periodic.wrap`; a position rounded onto +L/2 now gets its image raised with it)."""
    return periodic_wrap(unwrapped, box_length)


def frame_schedule(settings: SimulationSettings, start_step: int = 0) -> list[int]:
    """Production steps at which frames are written: 0, w, 2w, … ≤ steps.

    An extension that continues a run at ``start_step`` > 0 (whose frame is already written) writes
    start_step + w, … ≤ start_step + steps.
    """
    if start_step == 0:
        return list(range(0, settings.steps + 1, settings.write_period))
    return list(range(start_step + settings.write_period, start_step + settings.steps + 1, settings.write_period))


def trajectory_log(system: SystemSpec, settings: SimulationSettings, seed: int,
                   engine: str = "") -> dict[str, float | str]:
    """The ``localcond/*`` log values every frame of a trajectory carries (``engine``: name and version)."""
    return {LOG_TIMESTEP: settings.timestep, LOG_FRAME_INTERVAL: settings.timestep * settings.write_period,
            LOG_CONCENTRATION: system.concentration, LOG_BJERRUM_LENGTH: system.bjerrum_length,
            LOG_PAIRED_FRACTION: system.paired_fraction, LOG_SEED: float(seed), LOG_KT: settings.kT,
            LOG_ENGINE: engine}


def make_frame(topology: Topology, unwrapped: np.ndarray, step: int, timestep: float) -> Frame:
    """A :class:`Frame` from unwrapped positions (N, 3), σ, at production ``step``."""
    wrapped, image = wrap(np.asarray(unwrapped, dtype=np.float64), topology.box_length)
    return Frame(positions=wrapped, box=np.full(3, topology.box_length), typeid=topology.typeid, types=TYPES,
                 image=image, bonds=topology.bonds, step=step, time=step * timestep)
