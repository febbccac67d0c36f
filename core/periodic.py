"""Periodic boundaries: the one place that wraps positions into a box, unwraps them with image flags, and takes
minimum images. Boxes are orthorhombic, centred on the origin ([-L/2, L/2) per axis, GSD's convention); every
length is in the same unit (σ in localcond's own files).
"""

from __future__ import annotations

import numpy as np


def wrap(unwrapped: np.ndarray, box: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """(wrapped positions in [-L/2, L/2), int32 image flags) of ``unwrapped`` positions (..., 3), with
    wrapped + image × L = unwrapped (to rounding). ``box``: the edge lengths (3,) or one edge of a cube.

    Floating-point rounding can put a position a hair outside the half-open box: at +L/2 (then it moves to
    −L/2 and its image rises by one, so that the identity still holds) or just below −L/2 (then it moves up
    by L and its image falls by one). Both happen for about one position in a thousand near an edge.
    """
    box = np.asarray(box, dtype=np.float64)
    image = np.floor((unwrapped + box / 2) / box)
    wrapped = unwrapped - image * box
    above = wrapped >= box / 2
    if np.any(above):
        wrapped, image = np.where(above, wrapped - box, wrapped), np.where(above, image + 1, image)
    below = wrapped < -box / 2
    if np.any(below):
        # a hair below −L/2: up by L where that stays below +L/2, else onto −L/2 itself (off by the hair)
        lifted = wrapped + box
        move = below & (lifted < box / 2)
        wrapped = np.where(move, lifted, np.where(below, -box / 2, wrapped))
        image = np.where(move, image - 1, image)
    return wrapped, image.astype(np.int32)


def unwrap(positions: np.ndarray, image: np.ndarray, box: np.ndarray | float) -> np.ndarray:
    """(..., 3) float64 positions with the image flags undone: positions + image × L."""
    return np.asarray(positions, dtype=np.float64) + np.asarray(image) * np.asarray(box, dtype=np.float64)


def minimum_image(delta: np.ndarray, box: np.ndarray | float) -> np.ndarray:
    """(..., 3) the separations ``delta`` reduced to their nearest periodic image (each component within ±L/2)."""
    return delta - box * np.round(delta / box)
