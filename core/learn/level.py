"""The level of k from both label kinds in one likelihood: a linear k = θ·x̃ + b whose system means fit the Λ
labels and whose within-system shape fits the measured shares (derivation: docs/learn.md, "The level from
both label kinds").

For the training systems s, with m̃_s = Σ_{i∈s} w_i x̃_i and W_s = Σ_{i∈s} w_i (Λ̂_s = θ·m̃_s + b W_s),

    −2 log L(θ, b) = Σ_s (Λ_s − θ·m̃_s − b W_s)² / Δ_s  +  λ Σ_s q_s(a − X θ)  +  α |θ|²,

q_s the shares' profiled χ² of system s (:mod:`core.learn.shape`: a free level per system, the far part once
per valence), which no constant moves, so b enters the first term only and is profiled out there:
b(θ) = Σ_s W_s (Λ_s − θ·m̃_s)/Δ_s / Σ_s W_s²/Δ_s. λ = 1 is the plain likelihood with the shares' stated
noise; λ scales that noise (λ = 0: the system means alone, the ridge of the paper). α and λ are chosen
together by the leave-one-system-out χ² of the training systems' Λ, so the shares can only enter where they
predict held-out systems' conductivity better (λ = 0 is always a candidate).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.learn.shape import ShapeGroups, profiled_normal_equations

#: The shares' weights λ tried (multiples of their stated precision).
SHARE_WEIGHTS = (0.0, 0.1, 0.3, 1.0, 3.0)


@dataclass(frozen=True)
class SystemStatistics:
    """What a linear level needs of each system: ``means`` m̃_s (n_s, p), ``totals`` W_s (n_s,), the shares'
    profiled normal equations ``blocks`` (n_s, p, p) and ``rhs`` (n_s, p) (zeros without shares)."""

    means: np.ndarray
    totals: np.ndarray
    blocks: np.ndarray
    rhs: np.ndarray


def system_statistics(design: np.ndarray, system_index: np.ndarray, weight: np.ndarray, n_systems: int,
                      shares: np.ndarray | None = None, precision: np.ndarray | None = None,
                      groups: ShapeGroups | None = None) -> SystemStatistics:
    """The :class:`SystemStatistics` of ``design`` x̃ (n, p) whose rows belong to ``system_index`` (n,) with
    weights ``weight`` (n,); with ``shares`` a (n,), their ``precision`` 1/v (n,) and ``groups``, the shares'
    blocks per system."""
    design = np.asarray(design, dtype=np.float64)
    p = design.shape[1]
    means = np.zeros((n_systems, p))
    np.add.at(means, system_index, np.asarray(weight)[:, None] * design)
    totals = np.bincount(system_index, weights=weight, minlength=n_systems)
    blocks, rhs = np.zeros((n_systems, p, p)), np.zeros((n_systems, p))
    if shares is not None and groups is not None:
        for system in np.unique(groups.system):
            blocks[system], rhs[system] = profiled_normal_equations(design, shares, precision, groups,
                                                                     np.array([system]))
    return SystemStatistics(means, totals, blocks, rhs)


@dataclass(frozen=True)
class JointLevel:
    """k = θ·x̃ + b: ``coef`` θ (p,), ``intercept`` b, the chosen ``alpha`` and ``share_weight`` λ, the
    posterior ``covariance`` (p + 1, p + 1) of (θ, b), and ``held_out_chi2`` (len(share_weights), len(alphas)):
    the leave-one-system-out χ² of Λ per system for each pair tried."""

    coef: np.ndarray
    intercept: float
    alpha: float
    share_weight: float
    covariance: np.ndarray
    held_out_chi2: np.ndarray


def _profiled_level(stats: SystemStatistics, target: np.ndarray, variance: np.ndarray, systems: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """(H (p, p), g (p,)) of the level term over ``systems`` with b profiled out: MᵀΩM and MᵀΩΛ,
    Ω = Δ⁻¹ − Δ⁻¹WWᵀΔ⁻¹ / WᵀΔ⁻¹W."""
    m, w, y = stats.means[systems], stats.totals[systems], target[systems]
    inverse = 1.0 / variance[systems]
    mw = m.T @ (inverse * w)
    ww = float(np.sum(inverse * w * w))
    yw = float(np.sum(inverse * w * y))
    hessian = m.T @ (m * inverse[:, None])
    gradient = m.T @ (inverse * y)
    if ww > 0:
        hessian -= np.outer(mw, mw) / ww
        gradient -= mw * yw / ww
    return hessian, gradient


def _intercept(stats: SystemStatistics, target: np.ndarray, variance: np.ndarray, systems: np.ndarray,
               theta: np.ndarray) -> float:
    w, inverse = stats.totals[systems], 1.0 / variance[systems]
    denominator = float(np.sum(inverse * w * w))
    residual = target[systems] - stats.means[systems] @ theta
    return float(np.sum(inverse * w * residual)) / denominator if denominator > 0 else 0.0


def _solve(stats, target, variance, systems, share_weight):
    """(eigenvalues, eigenvectors, projected gradient) of H + λ A over ``systems``, for every α at once."""
    hessian, gradient = _profiled_level(stats, target, variance, systems)
    if share_weight > 0:
        hessian = hessian + share_weight * stats.blocks[systems].sum(axis=0)
        gradient = gradient + share_weight * stats.rhs[systems].sum(axis=0)
    values, vectors = np.linalg.eigh(hessian)
    return np.maximum(values, 0.0), vectors, vectors.T @ gradient


def fit_joint_level(stats: SystemStatistics, target: np.ndarray, variance: np.ndarray, alphas, share_weights
                    ) -> JointLevel:
    """θ and b by the module's likelihood on all systems of ``stats`` (``target`` Λ_s and ``variance`` Δ_s,
    (n_s,) each), (α, λ) among ``alphas`` × ``share_weights`` by leave-one-system-out χ² of Λ."""
    target, variance = np.asarray(target, np.float64), np.asarray(variance, np.float64)
    systems = np.arange(len(target))
    alphas = np.asarray(alphas, dtype=np.float64)
    weights = np.asarray(share_weights, dtype=np.float64)
    has_shares = bool(np.any(stats.blocks))
    held_out = np.full((len(weights), len(alphas)), np.nan)
    if len(systems) >= 3 and (len(alphas) > 1 or len(weights) > 1):
        for row, share_weight in enumerate(weights):
            if share_weight > 0 and not has_shares:
                continue
            held_out[row] = 0.0
            for left in systems:
                rest = systems[systems != left]
                values, vectors, projected = _solve(stats, target, variance, rest, share_weight)
                for column, alpha in enumerate(alphas):
                    theta = vectors @ (projected / (values + alpha))
                    b = _intercept(stats, target, variance, rest, theta)
                    predicted = stats.means[left] @ theta + b * stats.totals[left]
                    held_out[row, column] += (target[left] - predicted) ** 2 / variance[left]
        held_out /= len(systems)
        row, column = np.unravel_index(int(np.nanargmin(held_out)), held_out.shape)
        alpha, share_weight = float(alphas[column]), float(weights[row])
    else:
        alpha, share_weight = float(alphas[0]), float(weights[0]) if has_shares else 0.0
    values, vectors, projected = _solve(stats, target, variance, systems, share_weight)
    theta = vectors @ (projected / (values + alpha))
    b = _intercept(stats, target, variance, systems, theta)
    return JointLevel(theta, b, alpha, share_weight,
                      _covariance(stats, variance, share_weight, alpha), held_out)


def _covariance(stats: SystemStatistics, variance: np.ndarray, share_weight: float, alpha: float) -> np.ndarray:
    """(p + 1, p + 1) the posterior covariance of (θ, b): the inverse of the likelihood's Hessian with the
    prior α on θ only (b flat)."""
    rows = np.hstack([stats.means, stats.totals[:, None]])
    precision = rows.T @ (rows / variance[:, None])
    p = stats.means.shape[1]
    precision[:p, :p] += share_weight * stats.blocks.sum(axis=0) + alpha * np.eye(p)
    return np.linalg.pinv(precision, hermitian=True)
