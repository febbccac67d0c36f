"""The shares' profiled likelihood (core/learn/shape.py) against a brute-force joint least-squares fit."""

from __future__ import annotations

import numpy as np

from core.learn.shape import profiled_normal_equations, profiled_offsets, shape_groups


def _problem(rng: np.random.Generator, n: int = 120):
    system = rng.integers(0, 3, n)
    valence = rng.integers(0, 2, n)
    group = system * 2 + valence
    group_variance = rng.uniform(0.0, 0.5, 6)
    group_variance[1] = 0.0                            # a group without far-part error
    precision = rng.uniform(0.5, 3.0, n)
    precision[:5] = 0.0                                # rows without a share
    return system, group, group_variance, precision


def _brute_force(columns: np.ndarray, target: np.ndarray, system, group, group_variance, precision):
    """Minimise Σ_i (a_i − X_i θ − c_s − b_g)²/v_i + Σ_g b_g²/s_g over θ, c, b jointly (augmented least squares)."""
    used = precision > 0
    n_groups, n_systems = len(group_variance), 3
    rows = []
    for i in np.flatnonzero(used):
        level = np.eye(n_systems)[system[i]]
        common = np.eye(n_groups)[group[i]]
        rows.append(np.concatenate([columns[i], level, common]) * np.sqrt(precision[i]))
    y = list(target[used] * np.sqrt(precision[used]))
    for g in range(n_groups):                     # the prior of b_g; s_g = 0 pins b_g at 0
        penalty = np.zeros(columns.shape[1] + n_systems + n_groups)
        penalty[columns.shape[1] + n_systems + g] = 1e6 if group_variance[g] == 0 else 1 / np.sqrt(group_variance[g])
        rows.append(penalty)
        y.append(0.0)
    solution, *_ = np.linalg.lstsq(np.array(rows), np.array(y), rcond=None)
    chi2 = float(np.sum((np.array(rows) @ solution - np.array(y)) ** 2))
    return solution, chi2


def test_profiled_offsets_and_chi2_equal_the_joint_fit():
    rng = np.random.default_rng(3)
    system, group, group_variance, precision = _problem(rng)
    residual = rng.normal(size=len(system)) + np.array([0.3, -0.2, 1.0])[system]
    groups = shape_groups(system, group, group_variance, precision, 3)
    offsets, q = profiled_offsets(residual, precision, groups)
    solution, chi2 = _brute_force(np.zeros((len(system), 0)), residual, system, group, group_variance, precision)
    level, common = solution[:3], solution[3:]
    used = precision > 0
    np.testing.assert_allclose(offsets[used], (level[system] + common[group])[used], atol=1e-6)
    np.testing.assert_allclose(q.sum(), chi2, rtol=1e-6)
    assert np.all(offsets[~used] == 0)


def test_profiled_normal_equations_give_the_joint_fits_coefficients():
    rng = np.random.default_rng(4)
    system, group, group_variance, precision = _problem(rng, 200)
    design = rng.normal(size=(len(system), 4))
    target = design @ np.array([1.0, -2.0, 0.5, 0.0]) + np.array([0.3, -0.2, 1.0])[system] + rng.normal(size=len(system))
    groups = shape_groups(system, group, group_variance, precision, 3)
    xtx, xta = profiled_normal_equations(design, target, precision, groups)
    theta = np.linalg.solve(xtx, xta)
    solution, _ = _brute_force(design, target, system, group, group_variance, precision)
    np.testing.assert_allclose(theta, solution[:4], rtol=1e-5, atol=1e-6)
    # the same θ makes the profiled χ² stationary: its residuals' q equals the joint fit's minimum
    _, q = profiled_offsets(target - design @ theta, precision, groups)
    _, chi2 = _brute_force(design, target, system, group, group_variance, precision)
    np.testing.assert_allclose(q.sum(), chi2, rtol=1e-6)
    # restricted to two systems, the equations are those of the data of those systems alone
    part = np.isin(system, [0, 2])
    sub = shape_groups(system[part], group[part], group_variance, precision[part], 3)
    expected = profiled_normal_equations(design[part], target[part], precision[part], sub)
    chosen = profiled_normal_equations(design, target, precision, groups, systems=np.array([0, 2]))
    np.testing.assert_allclose(chosen[0], expected[0], rtol=1e-10)
    np.testing.assert_allclose(chosen[1], expected[1], rtol=1e-10)


def test_fit_shape_chooses_the_penalty_that_predicts_held_out_systems_best():
    """fit_shape's held-out χ² per penalty equals refitting on the other systems and scoring each held-out one
    with the profiled χ² (brute force), and the chosen penalty is its minimum."""
    from core.learn.shape import SHAPE_FOLDS, fit_shape

    rng = np.random.default_rng(5)
    n, n_systems = 400, 8
    system = rng.integers(0, n_systems, n)
    group = system * 2 + rng.integers(0, 2, n)
    group_variance = rng.uniform(0.0, 0.2, 2 * n_systems)
    precision = np.full(n, 0.5)
    design = rng.normal(size=(n, 6))
    target = design @ np.array([0.4, 0.0, -0.3, 0.0, 0.0, 0.2]) + rng.normal(size=n) * 1.4 + system * 0.1
    groups = shape_groups(system, group, group_variance, precision, n_systems)
    alphas = np.array([1e-3, 1.0, 30.0, 1e3])
    fitted = fit_shape(design, target, precision, groups, alphas)
    folds = np.array_split(np.random.default_rng(0).permutation(np.arange(n_systems)), SHAPE_FOLDS)
    expected = np.zeros(len(alphas))
    for fold in folds:
        train = ~np.isin(system, fold)
        sub = shape_groups(system[train], group[train], group_variance, precision[train], n_systems)
        xtx, xta = profiled_normal_equations(design[train], target[train], precision[train], sub)
        for index, alpha in enumerate(alphas):
            theta = np.linalg.solve(xtx + alpha * np.eye(6), xta)
            test = ~train
            held = shape_groups(system[test], group[test], group_variance, precision[test], n_systems)
            expected[index] += profiled_offsets((target - design @ theta)[test], precision[test], held)[1].sum()
    np.testing.assert_allclose(fitted.held_out_chi2, expected / n, rtol=1e-8)
    assert fitted.alpha == alphas[np.argmin(expected)]
    xtx, xta = profiled_normal_equations(design, target, precision, groups)
    np.testing.assert_allclose(fitted.coef, np.linalg.solve(xtx + fitted.alpha * np.eye(6), xta), rtol=1e-10)
