"""Generalised least squares on mean-squared displacements, with the covariance of overlapping time origins.

A displacement correlation averaged over every time origin of one trajectory of T frames,

    m_AB(τ) = 1/(T − τ) Σ_{t=0}^{T−1−τ} ΔA_τ(t) · ΔB_τ(t),   ΔA_τ(t) = A(t + τ) − A(t)   (τ in frames),

is strongly correlated between lags, because the same displacements enter many of them. Its covariance
is computed here in closed form for the model that the diffusive regime implies: every walker A (a
collective coordinate such as Σ_i z_i r_i, or one ion) is a Brownian motion W plus a white "rattling"
term ξ that is independent from frame to frame,

    A(t) = W_A(t) + ξ_A(t),   Cov(ΔW_A, ΔW_B) per component = (b_AB / 3) · (overlap of the two intervals),
                              Cov(ξ_A(t), ξ_B(s)) per component = (a_AB / 6) · δ_ts,

so that m_AB(τ) = a_AB + b_AB τ: b is the slope (σ² per frame) and a the intercept (σ²) of the MSD line
over the fit window. With Gaussian displacements (exact for collective coordinates, which sum many ions),
Isserlis' theorem gives

    Cov(m_AB(τ₁), m_CD(τ₂)) = 3 Σ_{t,s} [C_AC C_BD + C_AD C_BC] / ((T − τ₁)(T − τ₂)),
    C_XY(t, τ₁; s, τ₂) = (b_XY / 3) O + (a_XY / 6) E,

with O the overlap (frames) of [t, t + τ₁] and [s, s + τ₂], and E = δ(t+τ₁, s+τ₂) − δ(t+τ₁, s) − δ(t, s+τ₂)
+ δ(t, s). The sums over origin pairs depend only on s − t and are the three kernels of :class:`LagKernels`.
This is the idea of kinisi (McCluskey et al., J. Chem. Theory Comput. 2024): a model covariance of the
MSD, then generalised least squares, whose slope variance accounts for the overlapping origins that make
the ordinary least-squares error meaningless. kinisi estimates the variance at each lag from the scatter
of the squared displacements and scales it by the ratio of independent samples; here the whole matrix
follows from the two fitted parameters, so it is as precise as the slope and intercept that set it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

#: At most this many lags enter a fit (evenly spread over the window); neighbouring lags of an MSD are
#: so correlated that more add almost nothing but cost.
MAX_FIT_LAGS = 96


@dataclass(frozen=True)
class LagKernels:
    """Origin-pair sums for ``lags`` (L,) in frames of a trajectory of ``n_frames`` frames.

    oo, oe, ee: (L, L), Σ_{t,s} O², O·E and E² divided by (T − τ₁)(T − τ₂) (see the module docstring).
    """

    n_frames: int
    lags: tuple[int, ...]
    oo: np.ndarray
    oe: np.ndarray
    ee: np.ndarray


@lru_cache(maxsize=32)
def lag_kernels(n_frames: int, lags: tuple[int, ...]) -> LagKernels:
    """The kernels for ``lags`` (frames, each in 1 … n_frames − 1) of an ``n_frames``-frame trajectory."""
    last = n_frames - 1
    size = len(lags)
    oo, oe, ee = (np.zeros((size, size)) for _ in range(3))
    for i, tau1 in enumerate(lags):
        for j in range(i, size):
            tau2 = lags[j]
            d = np.arange(-tau2, tau1 + 1)                       # s − t where O or E can be nonzero
            count = np.minimum(last - tau1, last - tau2 - d) - np.maximum(0, -d) + 1
            count = np.maximum(count, 0).astype(np.float64)
            overlap = np.maximum(0, np.minimum(tau1, d + tau2) - np.maximum(0, d)).astype(np.float64)
            edge = ((d == tau1 - tau2).astype(np.float64) - (d == tau1) - (d == -tau2) + (d == 0))
            norm = float(n_frames - tau1) * float(n_frames - tau2)
            oo[i, j] = oo[j, i] = np.sum(count * overlap * overlap) / norm
            oe[i, j] = oe[j, i] = np.sum(count * overlap * edge) / norm
            ee[i, j] = ee[j, i] = np.sum(count * edge * edge) / norm
    for kernel in (oo, oe, ee):
        kernel.setflags(write=False)
    return LagKernels(n_frames, tuple(lags), oo, oe, ee)


@dataclass(frozen=True)
class LineParameters:
    """Slope ``b`` (σ² per frame) and intercept ``a`` (σ²) of the MSD line of every walker pair.

    ``b[(X, Y)]`` and ``a[(X, Y)]`` for walker names X, Y; the pairs are looked up in either order.
    """

    b: dict[tuple[str, str], float]
    a: dict[tuple[str, str], float]

    def slope(self, x: str, y: str) -> float:
        return self.b[(x, y)] if (x, y) in self.b else self.b[(y, x)]

    def intercept(self, x: str, y: str) -> float:
        return self.a[(x, y)] if (x, y) in self.a else self.a[(y, x)]


def msd_covariance(kernels: LagKernels, line: LineParameters, pair: tuple[str, str],
                   independent: int = 1) -> np.ndarray:
    """Cov(m_AB(τ₁), m_AB(τ₂)) (L, L) for ``pair`` = (A, B), in σ⁴.

    ``independent`` > 1 is for a sum of that many independent, identical walkers whose summed
    line is ``line`` (the self term Σ_i |Δr_i|²): the covariance of the sum is the single-walker
    one times the count, i.e. the formula for the summed line divided by the count.
    """
    a_name, b_name = pair
    b_ac, b_bd, b_ad = line.slope(a_name, a_name), line.slope(b_name, b_name), line.slope(a_name, b_name)
    a_ac, a_bd, a_ad = line.intercept(a_name, a_name), line.intercept(b_name, b_name), line.intercept(a_name, b_name)
    b_bc, a_bc = b_ad, a_ad
    covariance = 3.0 * ((b_ac * b_bd + b_ad * b_bc) / 9.0 * kernels.oo
                        + (b_ac * a_bd + a_ac * b_bd + b_ad * a_bc + a_ad * b_bc) / 18.0 * kernels.oe
                        + (a_ac * a_bd + a_ad * a_bc) / 36.0 * kernels.ee)
    return covariance / independent


def gls_weights(lags: np.ndarray, covariance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(w_slope, w_intercept), each (L,): the GLS estimates of a straight line are w · y.

    ``lags`` (L,) the abscissae (any unit), ``covariance`` (L, L) of the ordinates. A relative
    jitter of 10⁻¹⁰ on the diagonal keeps the Cholesky factorisation stable.
    """
    lags = np.asarray(lags, dtype=np.float64)
    jitter = 1e-10 * float(np.mean(np.diag(covariance))) or 1e-300
    factor = np.linalg.cholesky(covariance + jitter * np.eye(len(lags)))
    design = np.column_stack([lags, np.ones_like(lags)])
    whitened = np.linalg.solve(factor, design)                       # L⁻¹ X
    normal = whitened.T @ whitened                                   # Xᵀ Σ⁻¹ X
    projector = np.linalg.solve(normal, np.linalg.solve(factor.T, whitened).T)  # (Xᵀ Σ⁻¹ X)⁻¹ Xᵀ Σ⁻¹
    return projector[0], projector[1]


def ols_line(lags: np.ndarray, values: np.ndarray) -> tuple[float, float]:
    """(slope, intercept) of the ordinary least-squares line through ``values`` (L,) at ``lags`` (L,)."""
    slope, intercept = np.polyfit(np.asarray(lags, dtype=np.float64), np.asarray(values, dtype=np.float64), 1)
    return float(slope), float(intercept)


def fit_lags(frame_lags: np.ndarray) -> np.ndarray:
    """At most :data:`MAX_FIT_LAGS` of ``frame_lags`` (sorted ints), evenly spread, ends kept."""
    frame_lags = np.asarray(frame_lags, dtype=np.int64)
    if len(frame_lags) <= MAX_FIT_LAGS:
        return frame_lags
    picks = np.unique(np.round(np.linspace(0, len(frame_lags) - 1, MAX_FIT_LAGS)).astype(np.int64))
    return frame_lags[picks]
