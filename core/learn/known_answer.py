"""A known-answer problem for local attribution: real environments, a hidden local k, noisy system means.

The environments are this project's own: the feature stores of a run (each
row a descriptor of one ion in one simulated frame, with the distance to its
nearest unlike ion stored beside it). Each environment is given a hidden local
conductivity that depends on its structure,

    g(r) = K_FREE · (1 − DEPTH · exp(−(r − CONTACT) / RANGE)),

r the distance (σ) to the nearest ion of opposite charge: an ion in contact
with a counter-ion contributes negatively (it drags its partner), a free ion
K_FREE. Each system's label is the weighted mean of g over all of its stored
environments (the learn stage's weights and bonded-ion convention) plus
Gaussian noise of a known standard deviation, ``relative_noise`` times the
mean |label| of the set (the same for every system). On the 20 systems of
``recipes/precise.yaml`` (c = 0.02–0.05, l_B = 2.5–10, where half the ions sit
within 1.11σ of a counter-ion) the noise-free labels span 0.00–0.06.

A learner sees only the labels (and may see only a subsample of each system's
environments); it is scored on the system labels, and on g itself, environment
by environment, on systems it never saw (:func:`attribution_scores`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.storage.artifacts import META_FILE
from core.datatypes import LearningData
from core.features.store import FeatureStore, read_store
from core.storage.layout import STORE_FILE
from core.learn.dataset import environment_weights
from core.learn.scores import r2_score

#: g for a free ion (reduced Λ units; the simulated systems' Λ are 0.03–0.14).
K_FREE = 0.12
#: g at contact is K_FREE · (1 − DEPTH): negative for DEPTH > 1.
DEPTH = 1.2
#: Contact distance (σ) and decay length (σ) of the counter-ion's effect.
CONTACT = 1.0
RANGE = 0.4


def hidden_local_conductivity(nearest_unlike: np.ndarray) -> np.ndarray:
    """g(r) for distances r (σ) to the nearest unlike ion, (n,) -> (n,); K_FREE where there is none (inf)."""
    distance = np.asarray(nearest_unlike, dtype=np.float64)
    return K_FREE * (1.0 - DEPTH * np.exp(-(distance - CONTACT) / RANGE))


@dataclass(frozen=True)
class KnownAnswerSet:
    """A learning problem with its answer.

    Attributes
    ----------
    data: what a learner sees: features (n_env, dim), system index and weights, noisy labels and their
        variances (noise_std²).
    truth: (n_env,) g of every row of ``data.features``.
    true_means: (n_systems,) the noise-free labels: weighted means of g over all stored environments.
    noise_std: (n_systems,) the standard deviation of the noise added to each label.
    """

    data: LearningData
    truth: np.ndarray
    true_means: np.ndarray
    noise_std: np.ndarray

    def systems(self, chosen: np.ndarray) -> KnownAnswerSet:
        """The same problem restricted to the systems ``chosen`` (indices, in that order)."""
        chosen = np.asarray(chosen, dtype=np.int64)
        rows = np.concatenate([np.flatnonzero(self.data.system_index == s) for s in chosen]) if len(chosen) else \
            np.zeros(0, np.int64)
        return KnownAnswerSet(self.data.rows(rows, chosen), self.truth[rows], self.true_means[chosen],
                              self.noise_std[chosen])


def known_answer_set(stores: dict[str, FeatureStore], *, relative_noise: float = 0.1,
                     environments_per_system: int | None = None, seed: int = 0,
                     bonded_ions: str = "zero") -> KnownAnswerSet:
    """Labels from the hidden g over each store's environments plus noise; ``environments_per_system`` rows kept.

    Labels always average over every stored environment (as Λ averages over the whole trajectory); the
    learner gets a random subsample of the kept rows, with weights rescaled to the same total.
    """
    noise_rng, sample_rng = np.random.default_rng(seed), np.random.default_rng([seed, 1])   # labels do not
    features, index, weights, truth, means = [], [], [], [], []                           # depend on sampling
    for position, (name, store) in enumerate(stores.items()):
        keep, weight = environment_weights(store.environments["bonded"], bonded_ions)
        g = hidden_local_conductivity(store.environments["nearest_unlike"][keep])
        means.append(float(weight @ g))
        rows, chosen_features, chosen_weights = _subsample(store, keep, weight, environments_per_system, sample_rng)
        features.append(chosen_features)
        index.append(np.full(len(rows), position, dtype=np.int64))
        weights.append(chosen_weights)
        truth.append(g[rows])
    true_means = np.array(means)
    noise_std = np.full(len(true_means), relative_noise * float(np.mean(np.abs(true_means))) + 1e-12)
    labels = true_means + noise_rng.normal(size=len(true_means)) * noise_std
    data = LearningData(np.concatenate(features), np.concatenate(index), np.concatenate(weights), labels,
                        noise_std ** 2, list(stores))
    return KnownAnswerSet(data, np.concatenate(truth), true_means, noise_std)


def _subsample(store: FeatureStore, keep: np.ndarray, weight: np.ndarray, environments_per_system: int | None,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(indices into the kept rows given to the learner, their (n, dim) float32 features, their (n,) weights
    rescaled to the kept rows' total): every kept row, or ``environments_per_system`` of them at random."""
    rows = np.arange(int(keep.sum()))
    if environments_per_system is not None and environments_per_system < len(rows):
        rows = np.sort(rng.choice(rows, size=environments_per_system, replace=False))
    total = float(weight.sum())
    return (rows, np.asarray(store.features[keep][rows], dtype=np.float32),
            np.full(len(rows), total / max(len(rows), 1)))


def stores_in_workdir(workdir: Path, descriptor: str) -> dict[str, Path]:
    """System name -> feature store of the main ``descriptor`` featurize units of a run's work directory."""
    found: dict[str, Path] = {}
    for record in sorted((Path(workdir) / "featurize").glob(f"*/{META_FILE}")):
        artifact = json.loads(record.read_text())
        store = record.parent / STORE_FILE
        if artifact.get("plugin", {}).get("name") == descriptor and store.is_file():
            found.setdefault(artifact["system"], store)
    return found


def read_stores(paths: dict[str, Path]) -> dict[str, FeatureStore]:
    return {name: read_store(path) for name, path in paths.items()}


def attribution_scores(problem: KnownAnswerSet, k: np.ndarray,
                       confidence: dict[str, np.ndarray] | None = None) -> dict[str, float]:
    """How well predicted local k (one per row of ``problem.data.features``) recover the answer.

    ``system_r2``: predicted system means against the noisy labels; ``system_r2_true``: against the
    noise-free means; ``local_r2``: k against g, environment by environment; ``local_rmse``. For each
    named confidence (a predicted standard deviation of k per row): the fraction of rows with
    |k − g| within 1 and 2 of it (``<name>_coverage1``/``2``; 0.68 and 0.95 when it is calibrated), and the
    rank correlation of it with |k − g| (``<name>_rank_correlation``).
    """
    from scipy.stats import spearmanr

    k = np.asarray(k, dtype=np.float64)
    means = problem.data.system_means(k)
    error = np.abs(k - problem.truth)
    scores = {"system_r2": r2_score(problem.data.target, means),
              "system_r2_true": r2_score(problem.true_means, means),
              "local_r2": r2_score(problem.truth, k),
              "local_rmse": float(np.sqrt(np.mean(error ** 2)))}
    for name, std in (confidence or {}).items():
        std = np.asarray(std, dtype=np.float64)
        scores[f"{name}_coverage1"] = float(np.mean(error <= std))
        scores[f"{name}_coverage2"] = float(np.mean(error <= 2 * std))
        varies = np.ptp(std) > 0 and np.ptp(error) > 0
        scores[f"{name}_rank_correlation"] = float(spearmanr(std, error).statistic) if varies else float("nan")
    return scores


def transport_in_workdir(workdir: Path) -> dict[str, Path]:
    """System name -> the transport artifact of a run's work directory (the newest, if several)."""
    found: dict[str, Path] = {}
    for record in sorted((Path(workdir) / "transport").glob(f"*/{META_FILE}"), key=lambda p: p.stat().st_mtime):
        found[json.loads(record.read_text())["system"]] = record.parent
    return found


def measured_answer_set(stores: dict[str, FeatureStore], transport: dict[str, Path], truth, *,
                        labels: str = "both", environments_per_system: int | None = None, seed: int = 0,
                        bonded_ions: str = "zero", min_relative_std: float = 0.01) -> KnownAnswerSet:
    """A learning problem from a run on trajectories whose local answer is known (:mod:`core.learn.trajectory_answer`):
    the labels are the run's own (Λ from transport, each environment's measured attribution where ``labels``
    asks for it), and ``truth`` maps nearest-unlike distances (σ) to the expected attribution g.

    ``true_means`` are the mean of g over each store's environments; ``noise_std`` the labels' own errors.
    """
    from core.storage.layout import read_attribution, read_transport
    from core.learn.dataset import local_labels, target_variance

    sample_rng = np.random.default_rng([seed, 1])
    features, index, weights, local, noise, g_rows, means, targets, variances = ([] for _ in range(9))
    for position, (name, store) in enumerate(stores.items()):
        label = read_transport(transport[name])
        keep, weight = environment_weights(store.environments["bonded"], bonded_ions)
        g = truth(store.environments["nearest_unlike"][keep])
        means.append(float(weight @ g))
        a, variance = (local_labels(read_attribution(transport[name]), store.environments, keep, weight)
                       if labels != "system-means" else (np.full(int(keep.sum()), np.nan),) * 2)
        rows, chosen_features, chosen_weights = _subsample(store, keep, weight, environments_per_system, sample_rng)
        features.append(chosen_features)
        index.append(np.full(len(rows), position, dtype=np.int64))
        weights.append(chosen_weights)
        local.append(a[rows])
        noise.append(variance[rows])
        g_rows.append(g[rows])
        targets.append(label.molar_conductivity.value)
        variances.append(target_variance(label, min_relative_std))
    data = LearningData(np.concatenate(features), np.concatenate(index), np.concatenate(weights), np.array(targets),
                        np.array(variances), list(stores),
                        np.concatenate(local) if labels != "system-means" else None,
                        np.concatenate(noise) if labels != "system-means" else None,
                        fit_system_means=labels != "attribution")
    return KnownAnswerSet(data, np.concatenate(g_rows), np.array(means), np.sqrt(np.array(variances)))
