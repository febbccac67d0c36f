"""How an imported trajectory's coordinates are unwrapped: by what the file holds (issue 30).

Unwrapped columns (LAMMPS ``xu yu zu``, ``xsu ysu zsu``), image flags (LAMMPS ``ix iy iz``, GSD
``particles.image``), or, where the file has neither, NoJump (:mod:`core.md.unwrap`); ``--unwrapped`` states
it where the file cannot. :func:`unwrapping_of` makes the choice for :mod:`core.md.trajectory_import`
(``options``: its :class:`core.md.trajectory_import.ImportOptions`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from core.errors import UserError
from core.md.trajectory import EXTENSION_FORMATS, GSDContents, gsd_contents, is_gsd


#: How a file's coordinates are unwrapped (see :func:`unwrapping_of`).
STATED_UNWRAPPED = "unwrapped, as --unwrapped states"
UNWRAPPED_COLUMNS = "the file's unwrapped coordinates"
IMAGE_FLAGS = "the file's image flags"
NOJUMP = "NoJump (the file has neither unwrapped coordinates nor image flags)"


def unwrapping_of(path: Path, options) -> tuple[str, dict]:
    """(how ``path``'s coordinates are unwrapped, MDAnalysis reader keywords that do it).

    A LAMMPS dump says by its columns: ``xu yu zu`` (or scaled ``xsu ysu zsu``) are unwrapped, ``ix iy iz``
    image flags are applied by the reader; a GSD file's ``particles.image`` is applied here. Anything else
    is unwrapped by NoJump, unless ``options.unwrapped`` says the coordinates already are.
    """
    if options.unwrapped:
        return STATED_UNWRAPPED, {}
    if is_gsd(path) and (options.format or "GSD").upper() == "GSD":
        return (IMAGE_FLAGS, {}) if gsd_has_images(path) else (NOJUMP, {})
    if is_lammps_dump(path, options):
        columns = lammps_columns(path)
        if {"xu", "yu", "zu"} <= columns:
            return UNWRAPPED_COLUMNS, {"lammps_coordinate_convention": "unwrapped"}
        if {"xsu", "ysu", "zsu"} <= columns:
            return UNWRAPPED_COLUMNS, {"lammps_coordinate_convention": "scaled_unwrapped"}
        if {"ix", "iy", "iz"} <= columns:
            return IMAGE_FLAGS, {"unwrap_images": True}
    return NOJUMP, {}


def is_lammps_dump(path: Path, options) -> bool:
    """Whether ``path`` is read as a LAMMPS text dump (``options.format``, else its extension)."""
    if options.format is not None:
        return options.format.upper() == "LAMMPSDUMP"
    return EXTENSION_FORMATS.get(Path(path).suffix.lower()) == "LAMMPSDUMP"


def lammps_columns(path: Path) -> set[str]:
    """The per-atom columns of a LAMMPS text dump's first frame (its ``ITEM: ATOMS`` line)."""
    try:
        with open(path, errors="replace") as handle:
            for number, line in enumerate(handle):
                if line.startswith("ITEM: ATOMS"):
                    return set(line.split()[2:])
                if number > 10_000_000:
                    break
    except OSError as exc:
        raise UserError(f"{path}: cannot read it: {exc}") from exc
    return set()


def gsd_has_images(path: Path) -> bool:
    """Whether a GSD file stores image flags (a ``particles/image`` chunk in any frame)."""
    return checked_gsd_contents(path).has_images


def checked_gsd_contents(path: Path) -> GSDContents:
    """The GSD file's index, refused where a frame it counts holds no positions (GSD would repeat frame 0's)."""
    contents = gsd_contents(path)
    if contents.first_without_positions is not None:
        raise UserError(f"{path}: the index counts {contents.n_frames} frames, but frame "
                        f"{contents.first_without_positions} holds no particle positions ({contents.with_positions} "
                        "frames do); GSD would give those frames the first frame's positions, which no dynamics "
                        "returns to. Write positions in every frame, or cut the file to the frames that hold them")
    return contents


def gsd_images(path: Path) -> Iterator[np.ndarray]:
    """(N, 3) image flags of each frame of a GSD file."""
    import gsd.hoomd

    with gsd.hoomd.open(str(path), "r") as trajectory:
        for frame in trajectory:
            yield np.asarray(frame.particles.image, dtype=np.float64)
