"""The Green–Kubo conductivity from the charge current's autocorrelation, where a trajectory holds velocities."""

from __future__ import annotations

import numpy as np


def green_kubo(current: np.ndarray, times: np.ndarray, upper: float, kT: float, volume: float) -> float:
    """κ = 1/(3 kT V) ∫_0^upper C_JJ(t) dt by trapezoids; nan without a current or with < 2 points.

    ``current`` (T,) C_JJ at ``times`` (T,) lags from 0, τ.
    """
    inside = times <= upper + 1e-12
    if len(current) == 0 or inside.sum() < 2:
        return float("nan")
    t, c = times[inside], current[inside]
    return float(np.sum(0.5 * (c[1:] + c[:-1]) * np.diff(t))) / (3.0 * kT * volume)
