"""Choosing the fit window inside the diffusive regime, and fitting slopes over it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FitWindow:
    """A time window [t0, t1] (τ), the log-log slope of the MSD over it, and whether it is diffusive."""

    t0: float
    t1: float
    loglog_slope: float
    diffusive: bool


def _loglog_slope(times: np.ndarray, msd: np.ndarray, t0: float, t1: float) -> float:
    inside = (times >= t0) & (times <= t1) & (msd > 0)
    if inside.sum() < 2:
        return float("nan")
    return float(np.polyfit(np.log(times[inside]), np.log(msd[inside]), 1)[0])


def choose_window(times: np.ndarray, msd: np.ndarray, *, slope_tolerance: float, min_decades: float,
                  max_fraction: float = 0.5, forced: tuple[float, float] | None = None) -> FitWindow:
    """The window of ``min_decades`` decades whose MSD log-log slope is closest to 1.

    ``times`` (n,) lag times (τ, > 0) and ``msd`` (n,) the mean-squared
    displacement there. Lags beyond ``max_fraction`` of the longest are not
    used (too few time origins). ``forced`` skips the search. A trajectory too
    short for ``min_decades`` decades gets its longest usable window, flagged
    not diffusive.
    """
    if forced is not None:
        slope = _loglog_slope(times, msd, *forced)
        return FitWindow(forced[0], forced[1], slope, abs(slope - 1) <= slope_tolerance)
    t_min, t_max = float(times[0]), float(times[-1]) * max_fraction
    ratio = 10.0 ** min_decades
    if t_max < t_min * ratio:
        t0 = max(t_min, t_max / ratio)
        slope = _loglog_slope(times, msd, t0, t_max)
        return FitWindow(t0, t_max, slope, False)
    starts = np.geomspace(t_min, t_max / ratio, num=max(2, int(8 * np.log10(t_max / (t_min * ratio))) + 2))
    candidates = [(abs(_loglog_slope(times, msd, t0, t0 * ratio) - 1), t0) for t0 in starts]
    candidates = [c for c in candidates if np.isfinite(c[0])]
    if not candidates:
        return FitWindow(t_min, t_max, float("nan"), False)
    deviation, t0 = min(candidates)
    return FitWindow(float(t0), float(t0 * ratio), float(_loglog_slope(times, msd, t0, t0 * ratio)),
                     bool(deviation <= slope_tolerance))


def fit_slope(times: np.ndarray, values: np.ndarray, window: FitWindow) -> tuple[float, float]:
    """Least-squares slope of ``values`` against ``times`` inside ``window``, and its standard error."""
    inside = (times >= window.t0) & (times <= window.t1)
    t, y = times[inside], values[inside]
    if len(t) < 3:
        raise ValueError(f"fit window [{window.t0:g}, {window.t1:g}] τ holds {len(t)} lag times; need >= 3")
    design = np.vstack([t, np.ones_like(t)]).T
    coefficients, residuals, _, _ = np.linalg.lstsq(design, y, rcond=None)
    dof = len(t) - 2
    sigma2 = float(residuals[0]) / dof if residuals.size and dof > 0 else 0.0
    covariance = sigma2 * np.linalg.inv(design.T @ design)
    return float(coefficients[0]), float(np.sqrt(covariance[0, 0]))
