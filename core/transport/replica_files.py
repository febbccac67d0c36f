"""From trajectory files to what transport needs of one replica: positions relative to the centre of mass
(:class:`ReplicaPositions`), their displacement correlations, and a replica's transport on its own."""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.md.species import IonSpecies, ion_species
from core.md.trajectory_import import ImportOptions, frames_of
from core.transport.curves import ReplicaCurves, curves_from_positions
from core.transport.onsager import ReplicaTransport, system_transport

@dataclass(frozen=True)
class ReplicaPositions:
    """The unwrapped positions transport needs from one trajectory, relative to the system's centre of mass.

    cations (T, N₊, 3), anions (T, N₋, 3), solvent (T, N_s, 3) or None, σ; currents (T, 3) the charge
    current J(t) or None; frame_interval τ (uniform); volume σ³.
    """

    source: str
    cations: np.ndarray = field(repr=False)
    anions: np.ndarray = field(repr=False)
    frame_interval: float
    volume: float
    solvent: np.ndarray | None = field(default=None, repr=False)
    currents: np.ndarray | None = field(default=None, repr=False)
    z_plus: float = 1.0
    z_minus: float = -1.0
    species: tuple[IonSpecies, ...] = ()
    cation_species: np.ndarray | None = field(default=None, repr=False)
    anion_species: np.ndarray | None = field(default=None, repr=False)
    #: (N₊ + N₋,) particle index of each ion in the file, cations then anions (the order of
    #: ``cations`` and ``anions``); and (N₊ + N₋,) each ion's valence z, e. Empty where not read from a file.
    ion_index: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)
    ion_valence: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    #: (3,) the box edges, σ (of the last frame); NaN where not read from a file.
    box: np.ndarray = field(default_factory=lambda: np.full(3, np.nan), repr=False)

    @property
    def ions(self) -> np.ndarray:
        """(T, N₊ + N₋, 3) every ion's unwrapped position relative to the centre of mass, cations first, σ."""
        return np.concatenate([self.cations, self.anions], axis=1)

    def curves(self, frames: int | None = None) -> ReplicaCurves:
        """The displacement correlations of the first ``frames`` frames (all by default)."""
        cut = slice(None, frames)
        return curves_from_positions(self.cations[cut], self.anions[cut], self.frame_interval, self.volume,
                                     solvent=None if self.solvent is None else self.solvent[cut],
                                     currents=None if self.currents is None else self.currents[cut],
                                     source=self.source, valences=(self.z_plus, self.z_minus),
                                     species=self.species, cation_species=self.cation_species,
                                     anion_species=self.anion_species)


def replica_positions(path: Path | Sequence[Path], *, timestep: float | None = None,
                      import_options: ImportOptions | None = None, include_solvent: bool = False) -> ReplicaPositions:
    """Read ``path`` frame by frame, keeping only what transport needs.

    ``path`` is a localcond GSD file, or with ``import_options`` any trajectory MDAnalysis reads
    (:mod:`core.md.trajectory_import`), or a sequence of files that continue each other (the segments of
    an extended run, read in order; their frames must stay equally spaced). ``include_solvent`` keeps
    the solvent's positions too. Memory grows with ions × frames: the centre of mass of all beads
    (weighted by the frames' masses where the file has them) is computed per frame and discarded.
    """
    paths = [Path(path)] if isinstance(path, (str, Path)) else [Path(p) for p in path]
    path = paths[0] if len(paths) == 1 else Path(f"{paths[0]} (+{len(paths) - 1} continuations)")
    cations: list[np.ndarray] = []
    anions: list[np.ndarray] = []
    currents: list[np.ndarray] = []
    solvent: list[np.ndarray] = []
    times: list[float] = []
    volumes: list[float] = []
    species: tuple[IonSpecies, ...] | None = None
    for index, frame in enumerate(itertools.chain.from_iterable(frames_of(p, import_options, timestep)
                                                                 for p in paths)):
        unwrapped = frame.unwrapped_positions()
        _check_positions(path, index, unwrapped, frame.box)
        centre = np.average(unwrapped, axis=0, weights=frame.masses)  # the centre of mass
        sign = frame.ion_sign
        if species is None:
            species, species_index = ion_species(frame, path)
            charges = np.asarray(frame.valence, dtype=np.float64) if frame.valence is not None else sign * 1.0
        cations.append(unwrapped[sign > 0] - centre)
        anions.append(unwrapped[sign < 0] - centre)
        if include_solvent:
            solvent.append(unwrapped[sign == 0] - centre)
        if frame.velocities is not None:
            relative = frame.velocities - np.average(frame.velocities, axis=0, weights=frame.masses)
            currents.append(charges @ relative)  # J = Σ_i z_i (v_i − v_cm)
        times.append(frame.time)
        volumes.append(float(np.prod(frame.box)))
    if len(times) < 4:
        raise ValueError(f"{path}: {len(times)} frames; transport needs at least 4")
    for kind, found in (("cations", cations[0]), ("anions", anions[0])):
        if found.shape[0] == 0:
            raise ValueError(f"{path}: no {kind} (particles of type 'cation'/'anion', or with positive/negative "
                             "charge); transport needs both")
    steps = np.diff(np.asarray(times, dtype=np.float64))
    if not np.all(steps > 0) or np.ptp(steps) > 1e-6 * steps.mean():
        raise ValueError(f"{path}: frames are not equally spaced in time (intervals {steps.min():g} to "
                         f"{steps.max():g} τ); transport needs a uniform frame interval")
    volume = float(np.mean(volumes))   # a box that varies (NPT): the mean volume over the frames used
    if np.ptp(volumes) > 1e-9 * volume:
        warnings.warn(f"{path}: the box volume varies from {min(volumes):.6g} to {max(volumes):.6g} (NPT); transport "
                      f"uses the mean volume {volume:.6g} and each frame's box to unwrap", UserWarning, stacklevel=2)
    sign = frame.ion_sign
    z_plus, z_minus = ((species[0].valence, species[1].valence) if len(species) == 2
                       else (float("nan"), float("nan")))
    return ReplicaPositions(str(path), np.stack(cations), np.stack(anions), float(steps.mean()), volume,
                            solvent=np.stack(solvent) if include_solvent and solvent else None,
                            currents=np.stack(currents) if len(currents) == len(times) else None,
                            z_plus=z_plus, z_minus=z_minus, species=species,
                            cation_species=species_index[sign > 0], anion_species=species_index[sign < 0],
                            ion_index=np.concatenate([np.flatnonzero(sign > 0), np.flatnonzero(sign < 0)]),
                            ion_valence=np.concatenate([charges[sign > 0], charges[sign < 0]]),
                            box=np.asarray(frame.box, dtype=np.float64))


#: Unwrapped coordinates beyond this many box lengths from the origin are taken as corrupt input.
ABSURD_BOX_LENGTHS = 1e6


def _check_positions(path: Path, index: int, unwrapped: np.ndarray, box: np.ndarray) -> None:
    """Unwrapped coordinates within reason (the frame's own values were checked by core.md.trajectory_checks)."""
    if np.abs(unwrapped).max() > ABSURD_BOX_LENGTHS * float(np.max(box)):
        raise ValueError(f"{path}: frame {index} has coordinates beyond {ABSURD_BOX_LENGTHS:g} box lengths "
                         f"({np.abs(unwrapped).max():.3g}); the file is corrupt or its images are wrong")


def replica_curves(path: Path | Sequence[Path], *, timestep: float | None = None,
                   import_options: ImportOptions | None = None, include_solvent: bool = False) -> ReplicaCurves:
    """The displacement correlations of ``path`` (see :func:`replica_positions` for what it may be)."""
    return replica_positions(path, timestep=timestep, import_options=import_options,
                             include_solvent=include_solvent).curves()


def replica_transport(path: Path, *, kT: float = 1.0, timestep: float | None = None,
                      fit_window: tuple[float, float] | None = None, slope_tolerance: float = 0.1,
                      min_decades: float = 1.0, max_window_fraction: float = 0.25,
                      import_options: ImportOptions | None = None, include_solvent: bool = False) -> ReplicaTransport:
    """The transport of one trajectory on its own (a system of one replica)."""
    curves = replica_curves(path, timestep=timestep, import_options=import_options, include_solvent=include_solvent)
    return system_transport([curves], kT=kT, fit_window=fit_window, slope_tolerance=slope_tolerance,
                            min_decades=min_decades, max_window_fraction=max_window_fraction).replicas[0]
