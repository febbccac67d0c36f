"""The level from both label kinds (core/learn/level.py): its fit against a brute-force joint least squares, and
its data-chosen share weight on a local model with a known answer."""

from __future__ import annotations

import numpy as np

from core.learn.level import fit_joint_level, system_statistics
from core.learn.scores import r2_score
from core.learn.shape import shape_groups


def _systems(rng: np.random.Generator, n_systems: int, per_system: int, p: int, theta: np.ndarray,
             label_error: float, share_error: float):
    """Systems whose environments x (shifted per system) carry k = θ·x + 0.5 exactly; noisy Λ and shares."""
    shift = rng.normal(size=(n_systems, p))
    system = np.repeat(np.arange(n_systems), per_system)
    design = shift[system] + rng.normal(size=(len(system), p))
    weight = np.full(len(system), 1.0 / per_system)
    k = design @ theta + 0.5
    truth = np.bincount(system, weights=weight * k)
    target = truth + rng.normal(size=n_systems) * label_error
    shares = k + rng.normal(size=len(system)) * share_error
    precision = np.full(len(system), 1.0 / share_error ** 2)
    groups = shape_groups(system, system, np.zeros(n_systems), precision, n_systems)
    return system, design, weight, target, truth, shares, precision, groups


def test_the_fit_is_the_joint_least_squares_minimum():
    """At fixed (α, λ): θ and b minimise Σ_s (Λ_s − θ·m_s − bW_s)²/Δ_s + λ Σ_i (a_i − θ·x_i − c_s)²/v_i + α|θ|²
    over θ, b and the free levels c_s, solved here as one augmented least-squares problem."""
    rng = np.random.default_rng(1)
    n_systems, p, alpha, weight_shares = 6, 3, 0.7, 0.4
    system, design, weight, target, _, shares, precision, groups = _systems(
        rng, n_systems, 25, p, np.array([1.0, -0.5, 0.2]), 0.1, 2.0)
    variance = np.full(n_systems, 0.01)
    stats = system_statistics(design, system, weight, n_systems, shares, precision, groups)
    fitted = fit_joint_level(stats, target, variance, [alpha], [weight_shares])
    rows, y = [], []
    for s in range(n_systems):      # unknowns: θ (p), b, c_s (n_systems)
        row = np.zeros(p + 1 + n_systems)
        row[:p], row[p] = stats.means[s], stats.totals[s]
        rows.append(row / np.sqrt(variance[s]))
        y.append(target[s] / np.sqrt(variance[s]))
    for i in range(len(system)):
        row = np.zeros(p + 1 + n_systems)
        row[:p], row[p + 1 + system[i]] = design[i], 1.0
        rows.append(row * np.sqrt(weight_shares * precision[i]))
        y.append(shares[i] * np.sqrt(weight_shares * precision[i]))
    for j in range(p):
        row = np.zeros(p + 1 + n_systems)
        row[j] = np.sqrt(alpha)
        rows.append(row)
        y.append(0.0)
    solution, *_ = np.linalg.lstsq(np.array(rows), np.array(y), rcond=None)
    np.testing.assert_allclose(fitted.coef, solution[:p], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(fitted.intercept, solution[p], rtol=1e-8, atol=1e-10)
    assert fitted.alpha == alpha and fitted.share_weight == weight_shares


def test_shares_of_a_local_k_are_weighted_in_and_predict_held_out_systems_better():
    """k is local (θ·x + b), the system means few and noisy: leave-one-system-out chooses a share weight > 0,
    and the held-out systems' Λ is predicted better than from the system means alone (λ = 0)."""
    rng = np.random.default_rng(2)
    n_systems, p = 14, 8
    theta = rng.normal(size=p) * 0.3
    system, design, weight, target, truth, shares, precision, groups = _systems(
        rng, n_systems, 60, p, theta, 0.3, 3.0)
    variance = np.full(n_systems, 0.3 ** 2)
    alphas = np.logspace(-4, 3, 15)
    predicted = {0: np.zeros(n_systems), 1: np.zeros(n_systems)}
    chosen = []
    for left in range(n_systems):
        keep = system != left
        renumber = np.cumsum(np.arange(n_systems) != left) - 1
        train_groups = shape_groups(renumber[system[keep]], renumber[system[keep]], np.zeros(n_systems - 1),
                                    precision[keep], n_systems - 1)
        stats = system_statistics(design[keep], renumber[system[keep]], weight[keep], n_systems - 1,
                                  shares[keep], precision[keep], train_groups)
        train_target = np.delete(target, left)
        mean = np.mean(design[system == left], axis=0)
        for key, weights in ((0, [0.0]), (1, [0.0, 0.3, 1.0, 3.0])):
            fitted = fit_joint_level(stats, train_target, np.delete(variance, left), alphas, weights)
            predicted[key][left] = mean @ fitted.coef + fitted.intercept
            if key == 1:
                chosen.append(fitted.share_weight)
    assert np.mean(np.array(chosen) > 0) > 0.8, chosen
    means_alone, joint = r2_score(truth, predicted[0]), r2_score(truth, predicted[1])
    assert joint > means_alone + 0.1, (joint, means_alone)
    assert joint > 0.9, joint
