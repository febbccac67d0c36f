"""Local prediction rigidity (core.learn.rigidity): against scikit-matter, and calibrated on a known answer."""

from __future__ import annotations

import numpy as np
import pytest

from core.datatypes import LearningData
from core.learn.rigidity import local_variance, posterior_covariance, system_means
from tests.test_models import model_plugin, synthetic


def grouped(n_systems: int, per_system: int, dim: int, seed: int) -> LearningData:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_systems, dim))
    features = np.concatenate([c + 0.5 * rng.normal(size=(per_system, dim)) for c in centres])
    index = np.repeat(np.arange(n_systems), per_system)
    return LearningData(features, index, np.full(len(index), 1.0 / per_system), np.zeros(n_systems),
                        np.ones(n_systems), [f"s{i}" for i in range(n_systems)])


def test_local_variance_is_the_inverse_of_scikit_matters_local_prediction_rigidity() -> None:
    skmatter = pytest.importorskip("skmatter.metrics")
    data = grouped(12, 30, 5, seed=0)
    test = grouped(3, 20, 5, seed=1)
    alpha = 1e-2
    lpr, _ = skmatter.local_prediction_rigidity([data.features[data.system_index == s] for s in range(12)],
                                                [test.features[test.system_index == s] for s in range(3)], alpha)
    scale = np.sqrt(np.mean(data.features ** 2, axis=0).sum())  # scikit-matter's global feature scaling
    covariance = posterior_covariance(system_means(data.features / scale, data), data.variance, alpha)
    np.testing.assert_allclose(1.0 / local_variance(test.features / scale, covariance), np.concatenate(lpr),
                               rtol=1e-8)


def test_posterior_variance_matches_the_scatter_over_realisations() -> None:
    """θ ~ N(0, I/λ), labels R θ + N(0, Δ): the error of the posterior-mean k_i over 3000 realisations has
    the variance r_iᵀ A⁻¹ r_i, for environments the labels pin down and for those they do not."""
    rng = np.random.default_rng(2)
    data = grouped(6, 25, 10, seed=3)          # 6 systems, 10 dimensions: 4 directions left to the prior
    variance, prior = rng.uniform(0.01, 0.05, 6), 4.0
    means = system_means(data.features, data)
    covariance = posterior_covariance(means, variance, prior)
    probe = np.vstack([data.features[:40], rng.normal(size=(40, 10))])
    errors = []
    for _ in range(3000):
        theta = rng.normal(scale=1 / np.sqrt(prior), size=10)
        labels = means @ theta + rng.normal(scale=np.sqrt(variance))
        estimate = covariance @ (means.T @ (labels / variance))
        errors.append(probe @ (estimate - theta))
    predicted = local_variance(probe, covariance)
    ratio = np.var(np.array(errors), axis=0) / predicted
    assert np.all(np.abs(ratio - 1) < 0.15), ratio          # 3000 draws: the variance is known to ±5 %
    assert np.median(predicted[40:]) > 2 * np.median(predicted[:40])


@pytest.mark.parametrize("name", ["ridge", "nn-ensemble"])
def test_models_report_a_posterior_variance_that_grows_away_from_the_training_data(name: str, tmp_path) -> None:
    if name == "nn-ensemble":
        pytest.importorskip("torch")
    data = synthetic(lambda x: np.tanh(x[:, 0]) + 0.3 * x[:, 1], n_systems=20, per_system=60)
    options = {"hidden": [16], "max_epochs": 100, "learning_rate": 5e-3} if name == "nn-ensemble" else {}
    plugin = model_plugin(name, **options)
    member = plugin.create(seed=0, threads=1).fit(data)
    inside = member.local_variance(data.features)
    outside = member.local_variance(data.features * 6.0)
    assert inside.shape == (len(data.features),) and np.all(inside > 0)
    assert np.median(outside) > 4 * np.median(inside)
    member.save(tmp_path)
    np.testing.assert_allclose(plugin.load(tmp_path).local_variance(data.features), inside, rtol=1e-5)
