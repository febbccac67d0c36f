"""Calling a fitted member on one system's environments, whatever its ``predict_local`` accepts.

A member that fits the level and the shape of k separately (the built-in models with local labels,
:mod:`core.learn.shape`) needs to know which rows form one system: its k is ḡ + d − d̄ over them.
Its ``predict_local(features, weight)`` takes those rows and their weights in the system mean. A member
whose ``predict_local`` takes the features alone is a plain local function and is called so.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from core.datatypes import LearningData


def _takes_weight(method: Any) -> bool:
    try:
        return "weight" in inspect.signature(method).parameters
    except (TypeError, ValueError):
        return False


def member_local(member: Any, features: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """k (n,) of one system's environments ``features`` (n, dim) with weights ``weight`` (n,)."""
    if _takes_weight(member.predict_local):
        return np.asarray(member.predict_local(features, weight=weight), dtype=np.float64)
    return np.asarray(member.predict_local(features), dtype=np.float64)


def member_local_variance(member: Any, features: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """The member's posterior variance of k (n,) for one system's environments (as :func:`member_local`)."""
    if _takes_weight(member.local_variance):
        return np.asarray(member.local_variance(features, weight=weight), dtype=np.float64)
    return np.asarray(member.local_variance(features), dtype=np.float64)


def data_local(member: Any, data: LearningData) -> np.ndarray:
    """k (n_env,) of every row of ``data``, system by system (rows in ``data``'s order)."""
    out = np.empty(len(data.system_index))
    for system in range(data.n_systems):
        rows = np.flatnonzero(data.system_index == system)
        if len(rows):
            out[rows] = member_local(member, data.features[rows], data.weight[rows])
    return out
