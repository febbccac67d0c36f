"""Ewald mesh parameters from an accuracy target, shared by every engine's mesh Coulomb method."""

from __future__ import annotations

import math


def smooth_size(n: int) -> int:
    """The smallest integer ≥ n whose prime factors are 2, 3, 5 and 7 (fast FFT grids).

    >>> [smooth_size(n) for n in (1, 11, 13, 17, 97)]
    [1, 12, 14, 18, 98]
    """
    candidate = max(1, n)
    while True:
        rest = candidate
        for prime in (2, 3, 5, 7):
            while rest % prime == 0:
                rest //= prime
        if rest == 1:
            return candidate
        candidate += 1


def ewald_parameters(box_length: float, cutoff: float, tolerance: float) -> tuple[float, int]:
    """(splitting α, σ⁻¹; grid points per edge) for a relative force error ``tolerance``.

    OpenMM's PME estimate: α = sqrt(−ln 2δ) / r_c and n = ⌈2αL / (3δ^(1/5))⌉,
    with the grid rounded up to a 2,3,5,7-smooth size (at least 6).
    """
    alpha = math.sqrt(-math.log(2.0 * tolerance)) / cutoff
    points = math.ceil(2.0 * alpha * box_length / (3.0 * tolerance ** 0.2))
    return alpha, smooth_size(max(points, 6))
