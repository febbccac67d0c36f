"""Trajectories from other tools: any format MDAnalysis reads, as localcond :class:`Frame` objects.

Users bring DCD, XTC, TRR, LAMMPS dumps (with a topology such as a LAMMPS
data file, PSF or PDB), or GSD files written by other programs. Ions are
chosen by MDAnalysis selection strings (``"type 1"``, ``"name NA"``);
every other atom is solvent. Positions are unwrapped with MDAnalysis'
``NoJump`` (no atom moves more than half a box between frames, so frames must
be close enough in time) and stored as wrapped positions plus image counters,
as in localcond's own GSD files. Lengths are taken as σ; ``length_scale``
and ``time_scale`` convert from the file's units (e.g. Å → σ, ps → τ).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.datatypes import ANION_TYPE, CATION_TYPE, SOLVENT_TYPE, Frame
from core.errors import UserError
from core.trajectory import read_frames

TYPES = (CATION_TYPE, ANION_TYPE, SOLVENT_TYPE)


@dataclass(frozen=True)
class ImportOptions:
    """How to read a foreign trajectory.

    topology: file with atom names/types (None when the trajectory carries them).
    cation, anion: MDAnalysis selections of the ions.
    frame_interval: τ between frames; None: the file's times × ``time_scale``.
    length_scale: σ per file length unit. time_scale: τ per file time unit.
    """

    topology: Path | None = None
    cation: str = f"type {CATION_TYPE}"
    anion: str = f"type {ANION_TYPE}"
    frame_interval: float | None = None
    length_scale: float = 1.0
    time_scale: float = 1.0

    def __post_init__(self) -> None:
        for name in ("frame_interval", "length_scale", "time_scale"):
            value = getattr(self, name)
            if value is not None and not (np.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, got {value!r}")


def is_gsd(path: Path) -> bool:
    """Whether ``path`` is a GSD file (by its extension)."""
    return Path(path).suffix.lower() == ".gsd"


def frames_of(path: Path, options: ImportOptions | None = None, timestep: float | None = None) -> Iterator[Frame]:
    """Frames of a localcond GSD file (``options`` ignored) or of any MDAnalysis-readable trajectory."""
    if is_gsd(path) and options is None:
        return read_frames(path, timestep=timestep)
    return mdanalysis_frames(path, options or ImportOptions())


def mdanalysis_frames(path: Path, options: ImportOptions) -> Iterator[Frame]:
    """Read ``path`` through MDAnalysis, one frame at a time; a :class:`UserError` names what is wrong."""
    try:
        import MDAnalysis as mda
        from MDAnalysis.transformations import NoJump
    except ImportError as exc:
        raise UserError(f"{path}: reading non-GSD trajectories needs MDAnalysis "
                        f"(pip install 'localcond[mdanalysis]'): {exc}") from exc
    files = [str(options.topology), str(path)] if options.topology else [str(path)]
    try:
        universe = mda.Universe(*files)
    except Exception as exc:  # MDAnalysis raises many kinds for unreadable input
        with_topology = f" with {options.topology}" if options.topology else ""
        raise UserError(f"{path}: MDAnalysis cannot read it{with_topology}: {exc}") from exc
    typeid = np.full(universe.atoms.n_atoms, 2, dtype=np.int32)
    for index, (label, selection) in enumerate((("cation", options.cation), ("anion", options.anion))):
        try:
            chosen = universe.select_atoms(selection)
        except Exception as exc:
            raise UserError(f"{path}: bad {label} selection {selection!r}: {exc}") from exc
        if chosen.n_atoms == 0:
            raise UserError(f"{path}: the {label} selection {selection!r} matches no atom")
        overlap = int(np.count_nonzero(typeid[chosen.indices] != 2))
        if overlap:
            raise UserError(f"{path}: the cation selection {options.cation!r} and the anion selection "
                            f"{options.anion!r} overlap ({overlap} atoms in both); each ion must be one or "
                            "the other")
        typeid[chosen.indices] = index
    bonds = _ion_bonds(universe, typeid)
    if universe.trajectory.ts.dimensions is None:
        raise UserError(f"{path}: the trajectory has no periodic box")
    universe.trajectory.add_transformations(NoJump())
    return _frames(universe, typeid, bonds, options, path)


def _frames(universe, typeid: np.ndarray, bonds: np.ndarray, options: ImportOptions, path: Path) -> Iterator[Frame]:
    for index, ts in enumerate(universe.trajectory):
        dimensions = np.asarray(ts.dimensions, dtype=np.float64)
        if not np.allclose(dimensions[3:], 90.0):
            raise UserError(f"{path}: frame {index} has a triclinic box; only orthorhombic boxes are supported")
        box = dimensions[:3] * options.length_scale
        unwrapped = np.asarray(universe.atoms.positions, dtype=np.float64) * options.length_scale
        image = np.floor((unwrapped + box / 2) / box).astype(np.int32)
        time = index * options.frame_interval if options.frame_interval is not None else ts.time * options.time_scale
        yield Frame(unwrapped - image * box, box, typeid, TYPES, image, bonds, step=index, time=float(time))


def _ion_bonds(universe, typeid: np.ndarray) -> np.ndarray:
    """(M, 2) bonds of the topology that join a cation to an anion (the model's paired ions)."""
    try:
        pairs = np.asarray(universe.bonds.indices, dtype=np.int64).reshape(-1, 2)
    except Exception:  # a topology without bonds
        return np.zeros((0, 2), dtype=np.int64)
    kinds = np.sort(typeid[pairs], axis=1)
    return pairs[(kinds[:, 0] == 0) & (kinds[:, 1] == 1)]
