"""The long-time slope of a charge MSD that relaxes towards it from above: GLS with a relaxing excess.

Why. The charge current's autocorrelation has a fast positive part and a slow negative tail (ions pulled
back by their partners while pairs last). With a tail A e^{−t/τ_r} (A < 0), the running slope of the
charge MSD is b(t) = b_∞ + β e^{−t/τ_r}, β = −2Aτ_r > 0 per component, so once the fast part is over

    m(t) = a + b_∞ t + c (1 − e^{−t/τ_r}),      c = β τ_r ≥ 0,                          (1)

and a straight line through a window that ends before the tail has decayed returns a slope between b_∞
and the early slope b_∞ + β: biased high, as docs/transport.md measures. Model (1) is the MSD of a
Brownian walker (slope b_∞) plus an Ornstein–Uhlenbeck coordinate (variance c/2 summed over the
components, time τ_r) plus white rattling (a): the time-domain form of the Lorentzian (Padé [0, 2; 2]) spectrum
that STACIE fits at low frequency.

How.
- For each τ_r of a logarithmic grid, (1) is linear in (a, b_∞, c): generalised least squares with the
  covariance that overlapping time origins give the origin-averaged MSD of such a process
  (:func:`variogram_covariance`: Isserlis' theorem for a Gaussian process with stationary increments,
  exact for a collective coordinate), the same covariance for every τ_r so that their fits compare.
- The τ_r are averaged with their profile likelihood, w ∝ exp(−χ²/2), on a grid uniform in log τ_r: the
  slope is Σ w b_k, its variance Σ w (var_k + (b_k − b̄)²), so the uncertainty of τ_r enters the error.
  (The marginal likelihood under flat priors on (a, b_∞, c) adds |XᵀΣ⁻¹X|^{−1/2}, which favours the
  large τ_r where c and b_∞ are degenerate: on synthetic data with τ_r = 8τ it pulled the slope 14 % low,
  against −5 ± 3 % without it; ``benchmarks/transport_references.py``.)
- τ_r runs from the frame interval to a third of the window's end: a relaxation must be seen to be
  modelled. A slower one is not identifiable from the run and leaves a bias that only longer runs
  remove; ``relaxation_time`` and ``relaxed`` say where the fit stands.
- The covariance is computed from a first fit (ordinary least squares at every τ_r, the best one), then
  once more from the averaged GLS parameters.

Units: times in τ, MSD in σ² (or any unit: the slope comes back in MSD units per τ).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: Relaxation times per decade of the grid.
GRID_PER_DECADE = 8
#: The window must cover this many relaxation times: the grid ends at t_end / this.
MIN_WINDOWS_PER_RELAXATION = 3.0
#: Lags entering a fit: at most this many, half spread evenly and half geometrically over the window.
MAX_RELAXATION_LAGS = 96


@dataclass(frozen=True)
class RelaxationFit:
    """The GLS fit of model (1) averaged over relaxation times.

    slope, slope_err: b_∞ and its standard error (MSD units per τ).
    excess, excess_err: c, the MSD the relaxation adds (MSD units); ≥ 0 when the slope falls.
    relaxation_time: the weighted geometric mean of τ_r (τ); relaxation_time_spread its weighted std of
        log τ_r (dimensionless).
    early_slope: b_∞ + c/τ_r at that τ_r: the slope a window at the start of the fit sees.
    window: (t_start, t_end), τ. n_lags: lags fitted. chi2, dof: of the best τ_r.
    grid, weights: (K,) the relaxation times tried (τ) and their normalised weights.
    """

    slope: float
    slope_err: float
    excess: float
    excess_err: float
    relaxation_time: float
    relaxation_time_spread: float
    early_slope: float
    window: tuple[float, float]
    n_lags: int
    chi2: float
    dof: int
    grid: np.ndarray
    weights: np.ndarray

    @property
    def relaxed(self) -> bool:
        """Whether the weight sits on relaxation times the window resolves (below half the grid's top)."""
        return bool(np.sum(self.weights[self.grid > 0.5 * self.grid[-1]]) < 0.5)


def variogram_covariance(n_frames: int, lags: np.ndarray, variogram: np.ndarray, components: int = 3) -> np.ndarray:
    """Cov(m̂(τ₁), m̂(τ₂)) (L, L) of an origin-averaged MSD m̂(τ) = ⟨|X(t+τ) − X(t)|²⟩_t over ``n_frames``
    frames, for a Gaussian process with stationary increments whose ``components`` independent Cartesian
    components each have the variogram ``variogram`` (n_frames,): V(u) = ⟨(x(t+u) − x(t))²⟩, V(0) = 0.

    With d = s − t the offset of two origins, the increments over [t, t+τ₁] and [s, s+τ₂] have covariance
    C(d) = ½[V(d + τ₂) + V(d − τ₁) − V(d) − V(d + τ₂ − τ₁)] (V even), and Isserlis' theorem gives
    Cov = 2 · components · Σ_d count(d) C(d)² / ((T − τ₁)(T − τ₂)). ``lags`` (L,) in frames, 1 … T − 1.
    """
    lags = np.asarray(lags, dtype=np.int64)
    variogram = np.asarray(variogram, dtype=np.float64)
    last = n_frames - 1

    def v(u: np.ndarray) -> np.ndarray:
        return variogram[np.abs(u)]

    size = len(lags)
    out = np.zeros((size, size))
    for i, tau1 in enumerate(lags):
        for j in range(i, size):
            tau2 = lags[j]
            d = np.arange(-(last - tau1), last - tau2 + 1)
            count = (np.minimum(last - tau1, last - tau2 - d) - np.maximum(0, -d) + 1).astype(np.float64)
            c = 0.5 * (v(d + tau2) + v(d - tau1) - v(d) - v(d + tau2 - tau1))
            out[i, j] = out[j, i] = 2.0 * components * np.sum(count * c * c) / (
                float(n_frames - tau1) * float(n_frames - tau2))
    return out


def fit_lags_geometric(first: int, last: int, count: int = MAX_RELAXATION_LAGS) -> np.ndarray:
    """At most ``count`` integer lags in [first, last] (frames): half evenly, half geometrically spaced."""
    first, last = max(int(first), 1), int(last)
    if last - first + 1 <= count:
        return np.arange(first, last + 1)
    even = np.round(np.linspace(first, last, count // 2))
    geometric = np.round(np.geomspace(first, last, count - count // 2))
    return np.unique(np.concatenate([even, geometric]).astype(np.int64))


def _model_variogram(n_frames: int, frame_interval: float, a: float, b: float, c: float, tau: float,
                     components: int) -> np.ndarray:
    """(n_frames,) the per-component variogram of model (1) with non-negative parts (a valid process)."""
    u = np.arange(n_frames) * frame_interval
    total = max(a, 0.0) + max(b, 1e-12) * u + max(c, 0.0) * (1.0 - np.exp(-u / tau))
    total[0] = 0.0
    return total / components


def _design(times: np.ndarray, tau: float) -> np.ndarray:
    return np.column_stack([np.ones_like(times), times, 1.0 - np.exp(-times / tau)])


def _gls(times: np.ndarray, values: np.ndarray, factor: np.ndarray, tau: float
         ) -> tuple[np.ndarray, np.ndarray, float, float]:
    """(parameters (3,), their covariance (3, 3), χ², log|XᵀΣ⁻¹X|) with Σ = factor factorᵀ."""
    whitened = np.linalg.solve(factor, _design(times, tau))
    target = np.linalg.solve(factor, values)
    normal = whitened.T @ whitened
    covariance = np.linalg.inv(normal)
    parameters = covariance @ (whitened.T @ target)
    residual = target - whitened @ parameters
    return parameters, covariance, float(residual @ residual), float(np.linalg.slogdet(normal)[1])


def relaxation_grid(frame_interval: float, t_end: float) -> np.ndarray:
    """(K,) relaxation times τ_r (τ) tried: from the frame interval to t_end / 3, 8 per decade."""
    top = t_end / MIN_WINDOWS_PER_RELAXATION
    if top <= frame_interval:
        return np.array([frame_interval])
    count = max(2, int(math.ceil(GRID_PER_DECADE * math.log10(top / frame_interval))) + 1)
    return np.geomspace(frame_interval, top, count)


def relaxed_slope(msds: list[np.ndarray], frame_interval: float, window: tuple[float, float], *,
                  components: int = 3) -> RelaxationFit:
    """Fit model (1) to the origin-averaged MSDs ``msds`` of independent replicas (each (T_r,), lag 0 … T_r − 1
    in frames of ``frame_interval`` τ) over ``window`` (τ), pooled as their mean.

    The window's end must lie inside the shortest replica; its start should be past the fast (ballistic,
    caging) part of the MSD. Raises ``ValueError`` when the window holds fewer than 6 lags.
    """
    n_frames = [len(m) for m in msds]
    first = int(math.ceil(window[0] / frame_interval - 1e-9))
    last = int(math.floor(window[1] / frame_interval + 1e-9))
    if last > min(n_frames) - 1:
        raise ValueError(f"window ends at {window[1]:g} τ, after the shortest replica ({(min(n_frames) - 1) * frame_interval:g} τ)")
    lags = fit_lags_geometric(first, last)
    if len(lags) < 6:
        raise ValueError(f"window [{window[0]:g}, {window[1]:g}] τ holds {len(lags)} lags; the fit needs 6")
    times = lags * frame_interval
    values = np.mean([np.asarray(m, dtype=np.float64)[lags] for m in msds], axis=0)
    grid = relaxation_grid(frame_interval, window[1])

    # first pass: ordinary least squares at every τ_r, the best one sets the covariance
    best = min((np.linalg.lstsq(_design(times, tau), values, rcond=None) + (tau,) for tau in grid),
               key=lambda fit: float(fit[1][0]) if len(fit[1]) else 0.0)
    parameters, tau = best[0], best[-1]
    for _ in range(2):
        covariance = sum(n_frames.count(n) * variogram_covariance(
            n, lags, _model_variogram(n, frame_interval, parameters[0], parameters[1], parameters[2], tau,
                                      components), components)
            for n in sorted(set(n_frames))) / len(n_frames) ** 2     # replicas of one length share theirs
        jitter = 1e-10 * float(np.mean(np.diag(covariance)))
        factor = np.linalg.cholesky(covariance + jitter * np.eye(len(lags)))
        fits = [_gls(times, values, factor, tau) for tau in grid]
        log_weight = np.array([-0.5 * chi2 for _, _, chi2, _ in fits])
        weights = np.exp(log_weight - log_weight.max())
        weights /= weights.sum()
        parameters = np.sum([w * fit[0] for w, fit in zip(weights, fits)], axis=0)
        tau = float(np.exp(np.sum(weights * np.log(grid))))
    slopes = np.array([fit[0][1] for fit in fits])
    slope_vars = np.array([fit[1][1, 1] for fit in fits])
    excesses = np.array([fit[0][2] for fit in fits])
    excess_vars = np.array([fit[1][2, 2] for fit in fits])
    slope = float(np.sum(weights * slopes))
    excess = float(np.sum(weights * excesses))
    log_tau = np.log(grid)
    mean_log_tau = float(np.sum(weights * log_tau))
    chi2_best = min(fit[2] for fit in fits)
    return RelaxationFit(
        slope=slope, slope_err=math.sqrt(float(np.sum(weights * (slope_vars + (slopes - slope) ** 2)))),
        excess=excess, excess_err=math.sqrt(float(np.sum(weights * (excess_vars + (excesses - excess) ** 2)))),
        relaxation_time=math.exp(mean_log_tau),
        relaxation_time_spread=math.sqrt(float(np.sum(weights * (log_tau - mean_log_tau) ** 2))),
        early_slope=slope + excess / math.exp(mean_log_tau), window=(float(times[0]), float(times[-1])),
        n_lags=len(lags), chi2=chi2_best, dof=len(lags) - 3, grid=grid, weights=weights)
