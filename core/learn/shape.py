"""The measured shares' likelihood for the within-system shape of k: a free level per system, and the far
part's error once per system and valence (derivation: docs/learn.md, "One likelihood for both label kinds").

Model of the shares. Environment i of system s, with ion valence class g(i) (its "group"), has measured share

    a_i = d(x_i) + c_s + b_g + e_i,    e_i ~ N(0, v_i),    b_g ~ N(0, s_g),    c_s free,

where d is the model's shape function, v_i the share's own noise (the label variance), s_g the variance of
the far part's mean that every share of group g carries (``far_mean_err``²: one estimate shared by all of
them), and c_s a level the shares are not asked to fix: the system means Λ_s carry the level, the shares the
shape. With r = a − d, the likelihood of system s, b and c profiled (for a linear-Gaussian model the
profile over b equals its marginal, by the Woodbury identity), is −½ q_s with

    q_s = Σ_g [Q_g − s_g R_g² / (1 + s_g W_g)] − A_s² / B_s,
    W_g = Σ_{i∈g} 1/v_i,  R_g = Σ_{i∈g} r_i/v_i,  Q_g = Σ_{i∈g} r_i²/v_i,
    A_s = Σ_{g∈s} R_g / (1 + s_g W_g),   B_s = Σ_{g∈s} W_g / (1 + s_g W_g),

at the optimum c_s = A_s / B_s, b_g = s_g (R_g − c_s W_g) / (1 + s_g W_g). By the envelope theorem the
gradient of q_s in d is that of Σ_i (r_i − c_s − b_g)²/v_i at those offsets, which is how a network is
trained on it (:func:`profiled_offsets`); a linear model gets its normal equations in closed form
(:func:`profiled_normal_equations`). Limits: s_g = 0 gives one free level per system (all shares of a system
share c_s); s_g → ∞ a free level per group (the cation–anion difference is then left to the system means).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ShapeGroups:
    """Which rows share a common mode.

    row_group: (n_used,) group of each used row, in [0, n_groups); rows: (n_used,) their row indices;
    variance: (n_groups,) s_g; system: (n_groups,) each group's system; n_systems: systems of the data.
    """

    rows: np.ndarray
    row_group: np.ndarray
    variance: np.ndarray
    system: np.ndarray
    n_systems: int


def shape_groups(system_index: np.ndarray, group: np.ndarray, group_variance: np.ndarray, precision: np.ndarray,
                 n_systems: int) -> ShapeGroups:
    """The :class:`ShapeGroups` of the rows with a share (``precision`` > 0); ``group`` (n,) ids into
    ``group_variance`` (one system each), ``system_index`` (n,)."""
    rows = np.flatnonzero(np.asarray(precision) > 0)
    ids, row_group = np.unique(np.asarray(group, dtype=np.int64)[rows], return_inverse=True)
    first = np.zeros(len(ids), dtype=np.int64)
    first[row_group[::-1]] = rows[::-1]
    return ShapeGroups(rows, row_group.astype(np.int64), np.asarray(group_variance, dtype=np.float64)[ids],
                       np.asarray(system_index, dtype=np.int64)[first], n_systems)


def data_shape_groups(data) -> ShapeGroups:
    """The :class:`ShapeGroups` of a :class:`core.datatypes.LearningData`'s rows with a local label: their
    common modes (``local_group``; one per system where it has none)."""
    group = data.system_index if data.local_group is None else data.local_group
    variance = (np.zeros(int(np.max(group, initial=-1)) + 1) if data.local_group_variance is None
                else data.local_group_variance)
    return shape_groups(data.system_index, group, variance, data.local_precision(), data.n_systems)


def _sums(residual: np.ndarray, precision: np.ndarray, groups: ShapeGroups):
    r, p = np.asarray(residual, np.float64)[groups.rows], np.asarray(precision, np.float64)[groups.rows]
    n = len(groups.variance)
    weight = np.bincount(groups.row_group, weights=p, minlength=n)
    linear = np.bincount(groups.row_group, weights=p * r, minlength=n)
    square = np.bincount(groups.row_group, weights=p * r * r, minlength=n)
    shrink = 1.0 / (1.0 + groups.variance * weight)
    level_num = np.bincount(groups.system, weights=linear * shrink, minlength=groups.n_systems)
    level_den = np.bincount(groups.system, weights=weight * shrink, minlength=groups.n_systems)
    return weight, linear, square, shrink, level_num, level_den


def profiled_offsets(residual: np.ndarray, precision: np.ndarray, groups: ShapeGroups
                     ) -> tuple[np.ndarray, np.ndarray]:
    """(offsets c_s + b_g per row (n,), 0 where a row has no share; q_s per system (n_systems,)) for the
    residuals r = a − d (n,) and precisions 1/v (n,) of all rows (see the module docstring)."""
    weight, linear, square, shrink, level_num, level_den = _sums(residual, precision, groups)
    level = np.divide(level_num, level_den, out=np.zeros_like(level_num), where=level_den > 0)
    common = groups.variance * (linear - level[groups.system] * weight) * shrink
    offsets = np.zeros(len(residual))
    offsets[groups.rows] = level[groups.system[groups.row_group]] + common[groups.row_group]
    per_group = square - groups.variance * linear ** 2 * shrink
    q = np.bincount(groups.system, weights=per_group, minlength=groups.n_systems)
    q -= np.divide(level_num ** 2, level_den, out=np.zeros_like(level_num), where=level_den > 0)
    return offsets, q


def profiled_normal_equations(design: np.ndarray, target: np.ndarray, precision: np.ndarray, groups: ShapeGroups,
                              systems: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(XᵀPX (p, p), XᵀPa (p,)) of Σ_s q_s for d = X θ: the quadratic form of the module docstring written
    for a design X (n, p) and shares a (n,), over the systems ``systems`` (all by default).

    q(r) = rᵀD⁻¹r − Σ_g s_g (1 + s_g W_g)⁻¹ (u_gᵀD⁻¹r)² − Σ_s B_s⁻¹ (Σ_{g∈s} (1 + s_g W_g)⁻¹ u_gᵀD⁻¹r)², with
    u_g the indicator of group g and D = diag(v): three sums of group moments m_g = Σ_{i∈g} x_i / v_i."""
    chosen = np.ones(len(groups.variance), dtype=bool) if systems is None else np.isin(groups.system, systems)
    keep = chosen[groups.row_group]
    rows, row_group = groups.rows[keep], groups.row_group[keep]
    x = np.asarray(design, np.float64)[rows]
    a = np.asarray(target, np.float64)[rows]
    p = np.asarray(precision, np.float64)[rows]
    n = len(groups.variance)
    weight = np.bincount(row_group, weights=p, minlength=n)
    shrink = 1.0 / (1.0 + groups.variance * weight)
    moments = np.zeros((n, x.shape[1]))
    np.add.at(moments, row_group, x * p[:, None])
    moment_a = np.bincount(row_group, weights=p * a, minlength=n)
    xtx = x.T @ (x * p[:, None])
    xta = x.T @ (p * a)
    factor = groups.variance * shrink
    xtx -= moments.T @ (moments * factor[:, None])
    xta -= moments.T @ (moment_a * factor)
    level_den = np.bincount(groups.system, weights=weight * shrink, minlength=groups.n_systems)
    level_moments = np.zeros((groups.n_systems, x.shape[1]))
    np.add.at(level_moments, groups.system, moments * shrink[:, None])
    level_a = np.bincount(groups.system, weights=moment_a * shrink, minlength=groups.n_systems)
    inverse = np.divide(1.0, level_den, out=np.zeros_like(level_den), where=level_den > 0)
    xtx -= level_moments.T @ (level_moments * inverse[:, None])
    xta -= level_moments.T @ (level_a * inverse)
    return xtx, xta


def decomposed_k(level: np.ndarray, shape: np.ndarray | None, weight: np.ndarray | None = None) -> np.ndarray:
    """k_i = ḡ + d_i − d̄ for the rows of one system: ``level`` g (n,) carries the system mean (ḡ, weighted by
    ``weight`` (n,), uniform by default), ``shape`` d (n,) the within-system shape; ``shape`` None: g itself.
    Σ_i w_i k_i = Σ_i w_i g_i exactly, so the system mean is the level model's."""
    level = np.asarray(level, dtype=np.float64)
    if shape is None or not len(level):
        return level
    weight = np.ones(len(level)) if weight is None else np.asarray(weight, dtype=np.float64)
    total = float(np.sum(weight))
    if total <= 0:
        return level
    return float(weight @ level) / total + np.asarray(shape, np.float64) - float(weight @ shape) / total


def share_level_data(data):
    """``data`` (a :class:`core.datatypes.LearningData` with local labels) with the shares' own system means
    as its system labels, for ``model.labels: attribution``: Λ_s ← Σ_i w_i a_i over the labelled rows
    (rescaled to all of the system's weight), with variance Σ_i w_i² v_i plus each group's common mode
    (Σ_{i∈g} w_i)² s_g, the same rescaling squared. No local labels."""
    from core.datatypes import LearningData

    precision = data.local_precision()
    used = precision > 0
    n = data.n_systems
    weight = np.asarray(data.weight, np.float64)
    labelled = np.bincount(data.system_index[used], weights=weight[used], minlength=n)
    total = np.bincount(data.system_index, weights=weight, minlength=n)
    scale = np.divide(total, labelled, out=np.zeros(n), where=labelled > 0)
    target = np.bincount(data.system_index[used], weights=(weight * np.nan_to_num(data.local_target))[used],
                         minlength=n) * scale
    variance = np.bincount(data.system_index[used], weights=(weight ** 2 / np.where(used, precision, 1.0))[used],
                           minlength=n)
    groups = data_shape_groups(data)
    group_weight = np.bincount(groups.row_group, weights=weight[groups.rows], minlength=len(groups.variance))
    variance += np.bincount(groups.system, weights=group_weight ** 2 * groups.variance, minlength=n)
    variance = variance * scale ** 2
    variance = np.where(variance > 0, variance, np.inf)
    return LearningData(data.features, data.system_index, data.weight, target, variance, data.system_names)


@dataclass(frozen=True)
class ShapeFit:
    """A linear shape d = θ·r on a representation r (p columns): θ (p,), the penalty chosen, the posterior
    covariance (XᵀPX + αI)⁻¹ (p, p) of θ, and the held-out profiled χ² per share of each penalty tried."""

    coef: np.ndarray
    alpha: float
    covariance: np.ndarray
    held_out_chi2: np.ndarray


#: Folds of the training systems over which a shape's penalty is chosen (whole systems held out).
SHAPE_FOLDS = 4


def fit_shape(design: np.ndarray, target: np.ndarray, precision: np.ndarray, groups: ShapeGroups,
              alphas: np.ndarray, folds: int = SHAPE_FOLDS,
              blocks: tuple[np.ndarray, np.ndarray] | None = None) -> ShapeFit:
    """θ = (XᵀPX + αI)⁻¹ XᵀPa on ``design`` X (n, p) for the shares ``target`` a (n,) with ``precision`` 1/v,
    P the profiled precision of ``groups``; α among ``alphas`` by the profiled χ² of held-out systems over
    ``folds`` folds of the systems that have shares (one system-block pass, then every fold and α from it;
    ``blocks``: that pass's (n_systems, p, p) and (n_systems, p), where the caller has them already)."""
    systems = np.unique(groups.system)
    alphas = np.asarray(alphas, dtype=np.float64)
    p = np.shape(design)[1]
    if blocks is None:
        blocks, rhs = np.zeros((groups.n_systems, p, p)), np.zeros((groups.n_systems, p))
        for system in systems:
            blocks[system], rhs[system] = profiled_normal_equations(design, target, precision, groups,
                                                                     np.array([system]))
    else:
        blocks, rhs = blocks
    _, flat = profiled_offsets(np.nan_to_num(target), precision, groups)
    shares = np.bincount(groups.system[groups.row_group], minlength=groups.n_systems)
    held_out = np.full(len(alphas), np.nan)
    if len(alphas) > 1 and len(systems) >= 2:
        held_out[:] = 0.0
        chosen = np.array_split(np.random.default_rng(0).permutation(systems), min(folds, len(systems)))
        for fold in chosen:
            rest = np.setdiff1d(systems, fold)
            values, vectors = np.linalg.eigh(blocks[rest].sum(axis=0))
            projected = vectors.T @ rhs[rest].sum(axis=0)
            test_a, test_b = blocks[fold].sum(axis=0), rhs[fold].sum(axis=0)
            for index, alpha in enumerate(alphas):
                theta = vectors @ (projected / (np.maximum(values, 0.0) + alpha))
                held_out[index] += theta @ test_a @ theta - 2.0 * theta @ test_b
        held_out = (held_out + flat[systems].sum()) / max(int(shares.sum()), 1)
        alpha = float(alphas[int(np.nanargmin(held_out))])
    else:
        alpha = float(alphas[0])
    regularised = blocks.sum(axis=0) + alpha * np.eye(p)
    coef = np.linalg.solve(regularised, rhs.sum(axis=0))
    return ShapeFit(coef, alpha, np.linalg.pinv(regularised, hermitian=True), held_out)


def shape_design_scale(features: np.ndarray) -> tuple[np.ndarray, float]:
    """(column means (dim,), one scale) for a shape's design: the features centred and divided by their RMS
    column standard deviation, a single number, so that the ridge prior is isotropic in the descriptor's own
    geometry (the linear SOAP kernel). Standardising each column instead gives every near-constant component
    the weight of the informative ones; on ``precise.yaml``'s shares that halved the learned contact − free
    contrast at the penalty held-out systems chose (docs/learn.md)."""
    features = np.asarray(features, dtype=np.float64)
    mean = features.mean(axis=0) if len(features) else np.zeros(features.shape[1])
    scale = float(np.sqrt(np.mean(features.var(axis=0)))) if len(features) else 1.0
    return mean, scale if scale > 0 else 1.0


def shape_design(features: np.ndarray, mean: np.ndarray, scale: float) -> np.ndarray:
    """(n, dim) the shape's design X = (features − mean) / scale (:func:`shape_design_scale`)."""
    return (np.asarray(features, dtype=np.float64) - mean) / scale
