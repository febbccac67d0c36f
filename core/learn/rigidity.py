"""How well the labels pin down each local k: local prediction rigidity of a model linear in a representation.

A model whose local output is linear in a representation r_i (the standardised
features for ``ridge``; the last hidden layer, plus a constant, for a network),
k_i = θ·r_i, is trained on system means only: Λ̂_s = Σ_i w_i k_i = θ·R_s with
R_s = Σ_{i∈s} w_i r_i. With label errors Δ_s and a Gaussian prior of precision
λ on θ, the posterior covariance of θ is A⁻¹, A = Σ_s R_s R_sᵀ / Δ_s + λ I, and
the posterior variance of one environment's k is

    var(k_i) = r_iᵀ A⁻¹ r_i,      LPR_i = 1 / var(k_i)

(the local prediction rigidity of Chong et al., J. Chem. Theory Comput. 2023;
scikit-matter's ``local_prediction_rigidity`` is the same quantity with
unweighted systems, mean pooling and its own feature scaling; tests compare the
two). Directions of r that no training system's mean explores are held only by
the prior, so their k are loose however well the system means are fitted.
"""

from __future__ import annotations

import numpy as np

from core.datatypes import LearningData


def system_means(representation: np.ndarray, data: LearningData) -> np.ndarray:
    """R_s = Σ_{i∈s} w_i r_i, (n_systems, d), from the (n_env, d) representation of ``data``'s rows."""
    means = np.zeros((data.n_systems, representation.shape[1]))
    np.add.at(means, data.system_index, data.weight[:, None] * np.asarray(representation, dtype=np.float64))
    return means


def label_rows(representation: np.ndarray, data: LearningData, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """(rows, variances) of every label ``data`` fits, for :func:`posterior_covariance`: the system means R_s
    with Δ_s (where system means are fitted) and each environment's r_i with its local label's σ_i² (where it
    has one), in units of k / ``scale``. (m, d) and (m,).

    With local labels, A = Σ_s R_s R_sᵀ/Δ_s + Σ_i r_i r_iᵀ/σ_i² + λI: each measured attribution pins its own
    environment's direction (taken as independent labels, though environments of one frame share ΔM).
    """
    representation = np.asarray(representation, dtype=np.float64)
    rows, variances = [], []
    if data.fit_system_means:
        rows.append(system_means(representation, data))
        variances.append(np.asarray(data.variance, dtype=np.float64) / scale ** 2)
    precision = data.local_precision()
    used = precision > 0
    if np.any(used):
        rows.append(representation[used])
        variances.append(1.0 / (precision[used] * scale ** 2))
    if not rows:
        return np.zeros((0, representation.shape[1])), np.zeros(0)
    return np.vstack(rows), np.concatenate(variances)


def posterior_precision(means: np.ndarray, variance: np.ndarray, prior_precision: float) -> np.ndarray:
    """A = Σ_s R_s R_sᵀ / Δ_s + λ I, (d, d), from system means R (n_systems, d) and label variances Δ (n_systems,)."""
    weighted = means / np.asarray(variance, dtype=np.float64)[:, None]
    return means.T @ weighted + prior_precision * np.eye(means.shape[1])


def posterior_covariance(means: np.ndarray, variance: np.ndarray, prior_precision: float) -> np.ndarray:
    """A⁻¹, (d, d) (pseudo-inverse where A is singular, i.e. without a prior)."""
    precision = posterior_precision(means, variance, prior_precision)
    return np.linalg.pinv(precision, hermitian=True)


def local_variance(representation: np.ndarray, covariance: np.ndarray) -> np.ndarray:
    """var(k_i) = r_iᵀ A⁻¹ r_i for each row of the (n, d) representation, (n,), in the units of k²."""
    representation = np.asarray(representation, dtype=np.float64)
    return np.einsum("ij,jk,ik->i", representation, covariance, representation)
