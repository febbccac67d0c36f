"""Mean-squared-displacement correlations by FFT, O(T log T), in float64.

For time series a(t), b(t) of vectors (T, d), the displacement correlation
averaged over all time origins is

    C_ab(τ) = < [a(t+τ) − a(t)] · [b(t+τ) − b(t)] >_t ,   t = 0 … T−1−τ.
"""

from __future__ import annotations

import numpy as np


def _lagged_sums(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """S(τ) = Σ_t a(t)·b(t+τ), summed over the trailing axes; (T, ...) -> (T,)."""
    n = a.shape[0]
    size = 2 * n
    fa = np.fft.rfft(a.reshape(n, -1), n=size, axis=0)
    fb = np.fft.rfft(b.reshape(n, -1), n=size, axis=0)
    return np.fft.irfft(np.sum(np.conj(fa) * fb, axis=1), n=size)[:n]


def displacement_correlation(a: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """C_ab(τ) for τ = 0 … T−1 (in frames); ``b = a`` when omitted.

    ``a`` and ``b`` are (T, ...) float arrays with the time axis first; the
    dot product runs over all trailing axes (so (T, N, 3) gives the sum over
    N particles of their individual MSDs). Positions are shifted by their
    first frame before the transform to keep precision.
    """
    a = np.asarray(a, dtype=np.float64)
    a = a - a[:1]
    b = a if b is None else np.asarray(b, dtype=np.float64) - np.asarray(b, dtype=np.float64)[:1]
    n = a.shape[0]
    q = np.sum((a * b).reshape(n, -1), axis=1)
    prefix = np.concatenate([[0.0], np.cumsum(q)])
    total = prefix[-1]
    lags = np.arange(n)
    head = prefix[n - lags]            # Σ_{t=0}^{T-1-τ} q(t)
    tail = total - prefix[lags]        # Σ_{t=τ}^{T-1} q(t)
    cross = _lagged_sums(a, b) + (_lagged_sums(b, a) if b is not a else _lagged_sums(a, b))
    return (head + tail - cross) / (n - lags)


def time_correlation(a: np.ndarray) -> np.ndarray:
    """C(τ) = < a(t) · a(t+τ) >_t for τ = 0 … T−1 (frames), averaged over all origins; ``a`` (T, ...) float.

    The Green–Kubo integrand of a current: the dot product runs over the trailing axes.
    """
    a = np.asarray(a, dtype=np.float64)
    n = a.shape[0]
    return _lagged_sums(a, a) / (n - np.arange(n))


def displacement_correlation_naive(a: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """The O(T²) reference of :func:`displacement_correlation` (for tests)."""
    a = np.asarray(a, dtype=np.float64)
    b = a if b is None else np.asarray(b, dtype=np.float64)
    n = a.shape[0]
    out = np.zeros(n)
    for lag in range(n):
        da = (a[lag:] - a[: n - lag]).reshape(n - lag, -1)
        db = (b[lag:] - b[: n - lag]).reshape(n - lag, -1)
        out[lag] = np.mean(np.sum(da * db, axis=1))
    return out
