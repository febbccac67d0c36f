"""Assembling :class:`core.datatypes.LearningData` from feature stores and transport results."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.datatypes import LearningData
from core.results import SystemTransport
from core.features.store import read_store
from core.transport.attribution import SystemAttribution


def target_variance(transport: SystemTransport, min_relative_std: float) -> float:
    """Δ_s: the variance of the label Λ_s, floored at (min_relative_std · |Λ_s|)².

    The variance is the square of the label's standard error (``molar_conductivity.err``, the uncertainty
    of the pooled estimate from the trajectories themselves, :mod:`core.transport.onsager`), 0 where it has
    none. The floor stops one very precise system from dominating the loss.
    """
    label = transport.molar_conductivity
    floor = (min_relative_std * abs(label.value)) ** 2
    std = label.err
    variance = std ** 2 if std == std else 0.0
    variance = max(variance, floor)
    return variance if variance > 0 else 1e-12


def environment_weights(bonded: np.ndarray, convention: str) -> tuple[np.ndarray, np.ndarray]:
    """(mask of environments given to the model, their weight in the system mean).

    ``zero``: bonded ions get no k and count as zero, so the others weigh
    1 / (all environments); ``exclude``: bonded ions are left out of the mean.
    """
    keep = ~bonded
    denominator = len(bonded) if convention == "zero" else int(keep.sum())
    return keep, np.full(int(keep.sum()), 1.0 / max(denominator, 1))


#: The values of the recipe's ``model.labels``.
LABELS = ("system-means", "attribution", "both")


def local_labels(attribution: SystemAttribution, environments: dict[str, np.ndarray], keep: np.ndarray,
                 weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(labels a_i, their noise variances σ_i²), each (n_kept,), for the kept environments of a feature store.

    The attribution k_i(s) is on the scale where the mean over all ions of a frame is Λ; a model's system
    mean is Σ_i w_i k_i over the kept rows, so the label is k_i / (w_i n), n the store's environments
    (unchanged when bonded ions count as zero; × kept/all when they are excluded, whose expected
    attribution is then carried by the free ions). NaN where the attribution's window leaves the run.
    """
    total, _, variance = attribution.at(environments["replica"][keep], environments["frame"][keep],
                                        environments["ion_index"][keep])
    factor = 1.0 / (weight * len(keep)) if len(keep) else weight
    return total * factor, variance * factor ** 2


def local_common_modes(attribution: SystemAttribution, environments: dict[str, np.ndarray], keep: np.ndarray,
                       weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(valence class of each kept environment (n_kept,) in [0, n_classes), the variance of each class's
    common mode (n_classes,)): the far part's mean, one estimate shared by every share of that valence
    (``far_mean_err``², 0 without a cutoff), on the labels' scale (:func:`local_labels`)."""
    data = attribution.replicas[0]
    order = np.argsort(data.ion_index)
    ions = np.asarray(environments["ion_index"])[keep]
    column = order[np.minimum(np.searchsorted(data.ion_index, ions, sorter=order), len(order) - 1)]
    valences, classes = np.unique(data.valence, return_inverse=True)
    error = np.zeros(len(data.valence)) if attribution.far_mean_err is None else attribution.far_mean_err
    factor = 1.0 / (weight[0] * len(keep)) if len(weight) else 1.0
    variance = np.array([float(np.max(error[classes == c])) ** 2 for c in range(len(valences))]) * factor ** 2
    return classes[column].astype(np.int64), variance


def load_learning_data(systems: list[str], stores: dict[str, Path], transport: dict[str, SystemTransport],
                       *, bonded_ions: str, min_relative_std: float, labels: str = "system-means",
                       attributions: dict[str, SystemAttribution | None] | None = None) -> LearningData:
    """Concatenate the stores of ``systems`` (in that order) with their targets.

    With ``labels`` ``attribution`` or ``both``, each kept environment also gets its measured attribution
    (``attributions``: system -> the transport stage's :class:`SystemAttribution`) as a local label.
    """
    if labels not in LABELS:
        raise ValueError(f"labels must be one of {', '.join(LABELS)}, got {labels!r}")
    local = labels != "system-means"
    features, index, weights, targets, noises, groups, group_variances = [], [], [], [], [], [], []
    n_groups = 0
    for position, name in enumerate(systems):
        store = read_store(stores[name])
        keep, weight = environment_weights(store.environments["bonded"], bonded_ions)
        features.append(store.features[keep])
        index.append(np.full(int(keep.sum()), position, dtype=np.int64))
        weights.append(weight)
        if local:
            attribution = (attributions or {}).get(name)
            if attribution is None:
                raise ValueError(f"system {name!r} has no attribution (transport.attribution is off), which "
                                 f"model.labels: {labels} needs")
            target, noise = local_labels(attribution, store.environments, keep, weight)
            targets.append(target)
            noises.append(noise)
            classes, class_variance = local_common_modes(attribution, store.environments, keep, weight)
            groups.append(classes + n_groups)
            group_variances.append(class_variance)
            n_groups += len(class_variance)
    dim = features[0].shape[1] if features else 0
    return LearningData(
        features=np.concatenate(features) if features else np.zeros((0, dim), np.float32),
        system_index=np.concatenate(index) if index else np.zeros(0, np.int64),
        weight=np.concatenate(weights) if weights else np.zeros(0),
        target=np.array([transport[name].molar_conductivity.value for name in systems], dtype=np.float64),
        variance=np.array([target_variance(transport[name], min_relative_std) for name in systems]),
        system_names=list(systems),
        local_target=(np.concatenate(targets) if targets else np.zeros(0)) if local else None,
        local_variance=(np.concatenate(noises) if noises else np.zeros(0)) if local else None,
        fit_system_means=labels != "attribution",
        local_group=(np.concatenate(groups) if groups else np.zeros(0, np.int64)) if local else None,
        local_group_variance=(np.concatenate(group_variances) if group_variances else np.zeros(0)) if local else None,
    )
