"""Minimum-image distances needed for the environment table."""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree


def nearest_unlike_distance(positions: np.ndarray, sign: np.ndarray, box: np.ndarray,
                            centers: np.ndarray) -> np.ndarray:
    """For each index in ``centers``, the minimum-image distance to the nearest ion of opposite sign (σ).

    ``positions`` (N, 3), ``sign`` (N,) ±1/0, ``box`` (3,) edge lengths. Inf where there is none.
    """
    wrapped = np.mod(positions, box)
    wrapped = np.where(wrapped >= box, 0.0, wrapped)
    out = np.full(len(centers), np.inf)
    for charge in (1, -1):
        unlike = np.flatnonzero(sign == -charge)
        mine = np.flatnonzero(sign[centers] == charge)
        if len(unlike) == 0 or len(mine) == 0:
            continue
        tree = cKDTree(wrapped[unlike], boxsize=box)
        distance, _ = tree.query(wrapped[centers[mine]], k=1)
        out[mine] = distance
    return out
