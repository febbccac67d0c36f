"""Data types that core hands to plugins and plugins hand back.

All quantities are in reduced Lennard-Jones units: lengths in σ, energies in
ε (= kT), times in τ, charges in e, concentrations in σ⁻³.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.periodic import unwrap

#: GSD particle type names every simulator writes and every reader relies on.
CATION_TYPE = "cation"
ANION_TYPE = "anion"
SOLVENT_TYPE = "solvent"
#: GSD bond type name of the harmonic cation–anion bonds.
PAIR_BOND_TYPE = "pair"


@dataclass(frozen=True)
class SystemSpec:
    """One electrolyte system: a point of the recipe's grid.

    Attributes
    ----------
    name: stable identifier, e.g. ``c0.05_lB10_p0_N40000``.
    concentration: salt concentration c (cation number density), σ⁻³.
    bjerrum_length: l_B, σ.
    paired_fraction: fraction p of ions bonded to an unlike ion, in [0, 1).
    n_particles: total bead count N (ions and solvent).
    density: total number density, σ⁻³.
    replicas: number of independent replicas.
    seed: the recipe's base seed; replica seeds derive from it and the system.
    test_only: never used for training; predicted as an external test.
    """

    name: str
    concentration: float
    bjerrum_length: float
    paired_fraction: float
    n_particles: int
    density: float
    replicas: int
    seed: int
    test_only: bool = False

    @property
    def volume(self) -> float:
        """Box volume V = N / density, σ³."""
        return self.n_particles / self.density

    @property
    def box_length(self) -> float:
        """Edge of the cubic box, σ."""
        return self.volume ** (1.0 / 3.0)

    @property
    def n_ion_pairs(self) -> int:
        """Number of cations (= anions): round(c·V)."""
        return int(round(self.concentration * self.volume))

    @property
    def n_bonded_pairs(self) -> int:
        """Number of harmonically bonded cation–anion pairs: round(p·N₊)."""
        return int(round(self.paired_fraction * self.n_ion_pairs))

    def replica_seed(self, replica: int) -> int:
        """A 31-bit seed for ``replica``, stable across recipe edits that keep this system."""
        text = f"{self.seed}:{self.concentration!r}:{self.bjerrum_length!r}:" \
               f"{self.paired_fraction!r}:{self.n_particles}:{self.density!r}:{replica}"
        return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little") & 0x7FFFFFFF

    def physical_parameters(self) -> dict[str, Any]:
        """The parameters that define the system (not its replica count or flags)."""
        return {
            "concentration": self.concentration,
            "bjerrum_length": self.bjerrum_length,
            "paired_fraction": self.paired_fraction,
            "n_particles": self.n_particles,
            "density": self.density,
        }


@dataclass(frozen=True)
class SimulationSettings:
    """Engine-independent model and run control shared by every simulator.

    Attributes
    ----------
    steps: production steps written to the trajectory.
    equilibration_steps: steps run (not recorded) after minimisation.
    write_period: steps between written frames.
    timestep: dt, τ.
    kT: thermal energy, ε.
    wca_cutoff: WCA cut, σ (2^(1/6)).
    thermostat_tau: Nosé–Hoover coupling time, τ.
    bond_k: harmonic bond constant of bonded pairs, kT/σ².
    bond_r0: harmonic bond rest length, σ.
    min_ions: the fewest cations a system may have.
    """

    steps: int
    equilibration_steps: int
    write_period: int
    timestep: float
    kT: float
    wca_cutoff: float
    thermostat_tau: float
    bond_k: float
    bond_r0: float
    min_ions: int


@dataclass(frozen=True)
class TaskContext:
    """What every unit of work is told about where and how it runs.

    Attributes
    ----------
    threads: CPU threads the task may use (OpenMM, torch and BLAS are held to it).
    scratch_dir: a directory that survives an interrupted attempt of this unit
        (for checkpoints) and is removed once the unit succeeds.
    label: the unit's human-readable label (system, replica) for messages.
    """

    threads: int
    scratch_dir: Path
    label: str


@dataclass(frozen=True)
class SimulationJob:
    """One replica of one system to simulate.

    Attributes
    ----------
    system: the system.
    replica: replica index, 0-based.
    seed: this replica's seed (``system.replica_seed(replica)``).
    settings: model and run control.
    trajectory_path: where the simulator writes the GSD file. Core renames it
        into place only after ``simulate`` returns, so a half-written file is
        never visible under its final name.
    start_step: production step this run starts from: 0 for a fresh replica; for an
        extension, the last step of the run it continues (its first frame is one
        ``write_period`` later, and ``settings.steps`` more steps are run).
    continue_from: the engine state (``EngineSession.save_state`` bytes, in a file)
        at ``start_step``, for an extension; ``None`` for a fresh replica.
    """

    system: SystemSpec
    replica: int
    seed: int
    settings: SimulationSettings
    trajectory_path: Path
    start_step: int = 0
    continue_from: Path | None = None


@dataclass
class Frame:
    """One snapshot of a trajectory, as read from a GSD file.

    Attributes
    ----------
    positions: (N, 3) float64, wrapped into the box [-L/2, L/2), σ.
    box: (3,) float64 box edge lengths (orthorhombic), σ.
    typeid: (N,) int32 index into ``types``.
    types: particle type names, e.g. ``("cation", "anion", "solvent")``.
    image: (N, 3) int32 periodic image counters; unwrapped = positions + image·box.
    bonds: (M, 2) int64 indices of bonded particle pairs.
    step: the time step of this frame.
    time: the simulated time of this frame, τ.
    velocities: (N, 3) float64, σ/τ, where the trajectory stores them; else None.
    masses: (N,) float64 particle masses (for the centre of mass), where known; None means all equal.
    valence: (N,) float64 valences z (0 for solvent), where the file gives them; None means ions are ±1.
    species: (N,) int32 index into ``species_names`` of every ion (−1 elsewhere), where the ions were
        named by species on import (:mod:`core.md.species`); None: species by charge sign and valence.
    species_names: the names ``species`` indexes.
    """

    positions: np.ndarray
    box: np.ndarray
    typeid: np.ndarray
    types: tuple[str, ...]
    image: np.ndarray
    bonds: np.ndarray
    step: int
    time: float
    velocities: np.ndarray | None = None
    masses: np.ndarray | None = None
    valence: np.ndarray | None = None
    species: np.ndarray | None = None
    species_names: tuple[str, ...] = ()

    @property
    def n_particles(self) -> int:
        return int(self.positions.shape[0])

    @property
    def ion_sign(self) -> np.ndarray:
        """(N,) int8: +1 for cations, -1 for anions, 0 for everything else.

        By type name (``cation``, ``anion``) where the frame uses localcond's names; otherwise, where the
        frame has charges, by the sign of each particle's charge (a file with types A, B, C and charges ±1).
        """
        names = [1 if t == CATION_TYPE else -1 if t == ANION_TYPE else 0 for t in self.types]
        if not any(names) and self.valence is not None:
            return np.sign(np.asarray(self.valence, dtype=np.float64)).astype(np.int8)
        return np.array(names, dtype=np.int8)[self.typeid]

    @property
    def ion_indices(self) -> np.ndarray:
        """Indices of all ions (cations then anions in particle order), int64."""
        return np.flatnonzero(self.ion_sign != 0)

    @property
    def bonded_mask(self) -> np.ndarray:
        """(N,) bool: particle takes part in a bond."""
        mask = np.zeros(self.n_particles, dtype=bool)
        if self.bonds.size:
            mask[self.bonds.ravel()] = True
        return mask

    def unwrapped_positions(self) -> np.ndarray:
        """(N, 3) float64 positions with the periodic images undone, σ."""
        return unwrap(self.positions, self.image, self.box)


@dataclass
class LearningData:
    """Environments of several systems, ready for a model.

    The predicted molar conductivity of system s is
    ``Λ̂_s = Σ_{i ∈ s} weight_i · f(x_i)``; with the default convention the
    weight is 1 / (all ion environments of s, bonded ones included), so bonded
    ions count as zero in the mean (the paper's eq. 11).

    Attributes
    ----------
    features: (n_env, dim) float32 descriptors x_i.
    system_index: (n_env,) int64 in [0, n_systems), which system each row is from.
    weight: (n_env,) float64 per-environment weight in the system mean.
    target: (n_systems,) float64 molar conductivity Λ_s.
    variance: (n_systems,) float64 Δ_s, the (floored) variance of Λ_s over replicas.
    system_names: the systems, in index order.
    local_target: (n_env,) float64 the measured attribution a_i of each row (Λ units, on the scale of k:
        Λ̂_s's weights turn it into the system's Λ), NaN where a row has none; None: no local labels.
    local_variance: (n_env,) float64 the noise variance σ_i² of ``local_target`` (NaN where it is).
    fit_system_means: whether the system labels Λ_s enter the loss (False: the local labels alone).
    local_group: (n_env,) int64 which common mode each local label shares (one per system and ion valence:
        the far part's mean, :mod:`core.learn.shape`); ids into ``local_group_variance``, unique across
        systems. None: every row its own system's group.
    local_group_variance: (n_groups,) float64 the variance of each group's common mode (0: none).
    """

    features: np.ndarray
    system_index: np.ndarray
    weight: np.ndarray
    target: np.ndarray
    variance: np.ndarray
    system_names: list[str]
    local_target: np.ndarray | None = None
    local_variance: np.ndarray | None = None
    fit_system_means: bool = True
    local_group: np.ndarray | None = None
    local_group_variance: np.ndarray | None = None

    @property
    def n_systems(self) -> int:
        return len(self.system_names)

    @property
    def has_local_labels(self) -> bool:
        """Whether any row has a measured attribution to fit."""
        return self.local_target is not None and bool(np.any(np.isfinite(self.local_target)))

    def local_precision(self) -> np.ndarray:
        """(n_env,) 1/σ_i² of each row's local label, 0 where it has none (or without local labels)."""
        if self.local_target is None or self.local_variance is None:
            return np.zeros(len(self.system_index))
        usable = np.isfinite(self.local_target) & np.isfinite(self.local_variance) & (self.local_variance > 0)
        out = np.zeros(len(self.system_index))
        out[usable] = 1.0 / self.local_variance[usable]
        return out

    def rows(self, chosen: np.ndarray, systems: np.ndarray | None = None) -> LearningData:
        """The rows ``chosen`` (indices) of the systems ``systems`` (indices, renumbered in that order; all by
        default), with their labels."""
        chosen = np.asarray(chosen, dtype=np.int64)
        systems = np.arange(self.n_systems) if systems is None else np.asarray(systems, dtype=np.int64)
        position = np.full(self.n_systems, -1)
        position[systems] = np.arange(len(systems))
        local = None if self.local_target is None else self.local_target[chosen]
        noise = None if self.local_variance is None else self.local_variance[chosen]
        group = None if self.local_group is None else self.local_group[chosen]
        return LearningData(self.features[chosen], position[self.system_index[chosen]], self.weight[chosen],
                            self.target[systems], self.variance[systems], [self.system_names[s] for s in systems],
                            local, noise, self.fit_system_means, group, self.local_group_variance)

    def without_local_labels(self) -> LearningData:
        """The same rows and system labels, without local labels (what a level model fits)."""
        return LearningData(self.features, self.system_index, self.weight, self.target, self.variance,
                            self.system_names)

    def local_loss(self, local: np.ndarray) -> float:
        """Σ_i (a_i − k_i)² / σ_i² over the rows with a local label; (n_env,) -> float."""
        if self.local_target is None:
            return 0.0
        precision = self.local_precision()
        residual = np.where(precision > 0, np.nan_to_num(self.local_target) - np.asarray(local, np.float64), 0.0)
        return float(np.sum(precision * residual ** 2))

    def system_means(self, local: np.ndarray) -> np.ndarray:
        """Λ̂_s = Σ_i weight_i · local_i per system; (n_env,) -> (n_systems,)."""
        return np.bincount(self.system_index, weights=self.weight * np.asarray(local, dtype=np.float64),
                           minlength=self.n_systems)

    def weighted_loss(self, local: np.ndarray) -> float:
        """The paper's eq. 12: Σ_s (Λ_s − Λ̂_s)² / Δ_s."""
        residual = self.target - self.system_means(local)
        return float(np.sum(residual ** 2 / self.variance))



@dataclass
class AnalysisResult:
    """What an analysis produced, paths relative to its output directory.

    Attributes
    ----------
    title: heading in the report.
    paper_figure: the figure of the paper it reproduces ("" if none).
    figures: image files (PNG/SVG) it wrote.
    tables: CSV files it wrote.
    numbers: headline numbers, JSON-serialisable.
    notes: remarks for the report, e.g. what was skipped for lack of data.
    missing: why a number may not be computable: a name of ``numbers`` (an inner key or a table column;
        shell-style patterns such as ``near_*`` allowed) -> the reason. The report shows such a value as
        "—" with this reason under its table, never as NaN.
    """

    title: str
    paper_figure: str = ""
    figures: list[str] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
    numbers: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    missing: dict[str, str] = field(default_factory=dict)
