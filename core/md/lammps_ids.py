"""Atom ids of imported files: one id per atom in a topology, and the same atoms in every frame of a LAMMPS dump.

MDAnalysis' LAMMPS dump reader orders each frame's atoms by id and keeps no ids, so a repeated id or a later
frame with other atoms would silently mix coordinates up; these checks read the ids themselves.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from core.errors import UserError


def check_unique_ids(universe, path: Path) -> None:
    """Refuse a topology (or a LAMMPS dump's first frame) that gives one atom id to two atoms: readers that
    order atoms by id (MDAnalysis' LAMMPS dump reader) would then mix their coordinates up."""
    ids = getattr(universe.atoms, "ids", None)
    if ids is None or len(ids) == 0:
        return
    values, first, counts = np.unique(np.asarray(ids), return_index=True, return_counts=True)
    repeated = np.flatnonzero(counts > 1)
    if len(repeated):
        which = repeated[np.argmin(first[repeated])]
        raise UserError(f"{path}: atom id {values[which]} is given to {counts[which]} atoms ({len(repeated)} ids "
                        "repeated in all); every atom needs an id of its own")


def lammps_frame_ids(path: Path) -> Iterator[np.ndarray]:
    """(n_atoms,) the ``id`` column of each frame of a LAMMPS text dump, in file order (nothing where the dump
    has no ``id`` column). MDAnalysis' reader orders each frame by id and keeps no ids, so what it cannot
    see (a later frame with other atoms, or an id twice) is read here."""
    with open(path, errors="replace") as handle:
        n_atoms = 0
        for line in handle:
            if line.startswith("ITEM: NUMBER OF ATOMS"):
                n_atoms = int(next(handle).split()[0])
            elif line.startswith("ITEM: ATOMS"):
                columns = line.split()[2:]
                if "id" not in columns:
                    return
                column = columns.index("id")
                yield np.fromiter((int(next(handle).split(maxsplit=column + 1)[column]) for _ in range(n_atoms)),
                                  dtype=np.int64, count=n_atoms)


def check_lammps_frame_ids(path: Path) -> None:
    """Refuse a LAMMPS dump whose later frames hold other atom ids than its first, or an id twice: read by id,
    their coordinates would be other atoms' (a dump of a different group, atoms lost or inserted)."""
    first: np.ndarray | None = None
    try:
        for index, ids in enumerate(lammps_frame_ids(path)):
            ordered = np.sort(ids)
            repeated = ordered[1:][ordered[1:] == ordered[:-1]]
            if len(repeated):
                raise UserError(f"{path}: frame {index} gives atom id {repeated[0]} to more than one atom; every "
                                "atom needs an id of its own")
            if first is None:
                first = ordered
            elif len(ordered) != len(first) or not np.array_equal(ordered, first):
                new = np.setdiff1d(ordered, first)
                lost = np.setdiff1d(first, ordered)
                what = (f"atom id {new[0]} is not in the first frame" if len(new) else
                        f"atom id {lost[0]} of the first frame is missing")
                raise UserError(f"{path}: frame {index} holds other atoms than the first frame ({what}; "
                                f"{len(new)} new, {len(lost)} missing); every frame must hold the same atoms")
    except (ValueError, IndexError, StopIteration) as exc:
        raise UserError(f"{path}: a LAMMPS dump frame's ATOMS section cannot be read ({exc}); expected "
                        "NUMBER OF ATOMS lines, each with an integer id") from exc
