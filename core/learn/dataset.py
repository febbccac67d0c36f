"""Assembling :class:`core.datatypes.LearningData` from feature stores and transport results."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from core.datatypes import LearningData
from core.features.store import read_store


def target_variance(row: dict[str, Any], min_relative_std: float) -> float:
    """Δ_s: the variance of the label Λ_s, floored at (min_relative_std · |Λ_s|)².

    The variance is the square of ``molar_conductivity_err``, the uncertainty of the pooled estimate
    from the trajectories themselves (:mod:`core.transport.onsager`); rows from before it existed
    fall back to the replica scatter. The floor stops one very precise system from dominating the loss.
    """
    floor = (min_relative_std * abs(row["molar_conductivity"])) ** 2
    std = row.get("molar_conductivity_err", row.get("molar_conductivity_std", float("nan")))
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


def load_learning_data(systems: list[str], stores: dict[str, Path], transport: dict[str, dict[str, Any]],
                       *, bonded_ions: str, min_relative_std: float) -> LearningData:
    """Concatenate the stores of ``systems`` (in that order) with their targets."""
    features, index, weights = [], [], []
    for position, name in enumerate(systems):
        store = read_store(stores[name])
        keep, weight = environment_weights(store.environments["bonded"], bonded_ions)
        features.append(store.features[keep])
        index.append(np.full(int(keep.sum()), position, dtype=np.int64))
        weights.append(weight)
    dim = features[0].shape[1] if features else 0
    return LearningData(
        features=np.concatenate(features) if features else np.zeros((0, dim), np.float32),
        system_index=np.concatenate(index) if index else np.zeros(0, np.int64),
        weight=np.concatenate(weights) if weights else np.zeros(0),
        target=np.array([transport[name]["molar_conductivity"] for name in systems], dtype=np.float64),
        variance=np.array([target_variance(transport[name], min_relative_std) for name in systems]),
        system_names=list(systems),
    )
