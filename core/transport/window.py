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


#: A forced fit window must start by lag n_frames × this (frames): a lag of k frames has n − k time origins,
#: so past n/2 it has fewer than two independent (non-overlapping) ones, and a window made only of such lags
#: rests on about one sample of the displacement, whatever the fit's error model says. A window that starts
#: earlier may run on to the end of the run (as kinisi's fits do); the output then warns that its last lags
#: are thinly sampled.
MAX_FORCED_FRACTION = 0.5
#: ... and must hold at least this many lag times (a line and its error need three points).
MIN_FORCED_LAGS = 3


class FitWindowError(ValueError):
    """A forced fit window that the data cannot support. The message names no option: the caller puts its
    own name (``--fit`` or ``transport.fit_window``) before it."""


def check_forced_window(window: tuple[float, float], n_frames: int, frame_interval: float) -> list[str]:
    """Refuse a forced window [t0, t1] (τ) that starts past lag ⌊n_frames · :data:`MAX_FORCED_FRACTION`⌋
    (``n_frames`` of the shortest replica, ``frame_interval`` τ apart) or holds fewer than
    :data:`MIN_FORCED_LAGS` lag times of the run (:class:`FitWindowError`, naming the longest window the data
    allow); return warnings for a window the data support only in part (one that ends past half the run)."""
    t0, t1 = window
    half = int(n_frames * MAX_FORCED_FRACTION)
    last = n_frames - 1
    first_lag = max(1, int(np.ceil(t0 / frame_interval - 1e-9)))
    last_lag = min(last, int(np.floor(t1 / frame_interval + 1e-9)))
    run = f"{n_frames} frames, {last * frame_interval:g} τ"
    longest = (f"the longest window the data allow is [{frame_interval:g}, {last * frame_interval:g}] τ, and a "
               f"window must start by {half * frame_interval:g} τ (half the run) and hold three lag times of the "
               f"{frame_interval:g} τ frame interval")
    if first_lag > half:
        raise FitWindowError(f"[{t0:g}, {t1:g}] τ starts past half the shortest run ({run}): a lag of k frames has "
                             "n − k time origins, past n/2 fewer than two independent ones, so every MSD in the "
                             f"window, and the error fitted to it, rests on about one sample; {longest}")
    if last_lag - first_lag + 1 < MIN_FORCED_LAGS:
        raise FitWindowError(f"[{t0:g}, {t1:g}] τ holds {max(last_lag - first_lag + 1, 0)} lag times of the "
                             f"shortest run ({run}), fewer than {MIN_FORCED_LAGS}; {longest}")
    warnings = []
    if last_lag > half:
        warnings.append(f"the fit window [{t0:g}, {t1:g}] τ ends past half the shortest run ({run}): its lags "
                        f"beyond {half * frame_interval:g} τ have fewer than two independent time origins each, so "
                        "the number leans on a few samples there and its error assumes Gaussian displacements")
    if t1 > last * frame_interval * (1 + 1e-9):
        warnings.append(f"the fit window [{t0:g}, {t1:g}] τ ends after the run ({last * frame_interval:g} τ): "
                        "fitted up to its last lag")
    return warnings


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
