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
                  max_fraction: float = 0.25, forced: tuple[float, float] | None = None) -> FitWindow:
    """The earliest window of ``min_decades`` decades whose MSD log-log slope is within tolerance of 1.

    ``times`` (n,) lag times (τ, > 0) and ``msd`` (n,) the mean-squared displacement there (for a
    system, the ions' self MSD pooled over its replicas). The window ends at most at ``max_fraction``
    of the longest lag (the run length): the error of a collective MSD grows with the lag, as
    (t/T)^(1/2) relative to its value, so the earliest diffusive decade is the most precise one.
    When no window under that cap is diffusive, the one closest to slope 1 is taken and flagged not
    diffusive; a run too short for ``min_decades`` decades under the cap gets its longest window
    ending at half the run, also flagged. ``forced`` skips the search.
    """
    if forced is not None:
        slope = _loglog_slope(times, msd, *forced)
        return FitWindow(forced[0], forced[1], slope, abs(slope - 1) <= slope_tolerance)
    t_min, t_max = float(times[0]), float(times[-1]) * max_fraction
    ratio = 10.0 ** min_decades
    if t_max < t_min * ratio:
        t_max = float(times[-1]) * 0.5
        t0 = max(t_min, t_max / ratio)
        slope = _loglog_slope(times, msd, t0, t_max)
        return FitWindow(t0, t_max, slope, False)
    starts = np.geomspace(t_min, t_max / ratio, num=max(2, int(8 * np.log10(t_max / (t_min * ratio))) + 2))
    candidates = [(abs(_loglog_slope(times, msd, t0, t0 * ratio) - 1), t0) for t0 in starts]
    candidates = [c for c in candidates if np.isfinite(c[0])]
    if not candidates:
        return FitWindow(t_min, t_max, float("nan"), False)
    diffusive = [t0 for deviation, t0 in candidates if deviation <= slope_tolerance]
    t0 = diffusive[0] if diffusive else min(candidates)[1]
    slope = _loglog_slope(times, msd, t0, t0 * ratio)
    return FitWindow(float(t0), float(t0 * ratio), float(slope), bool(diffusive))


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
