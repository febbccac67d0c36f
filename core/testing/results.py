"""Hand-made typed results for tests of analyses and stages: a :class:`core.results.SystemTransport` or
:class:`core.results.Prediction` from the few columns a test cares about, the rest NaN (or the neutral
default), as :func:`core.storage.layout.transport_from_row` reads them."""

from __future__ import annotations

from typing import Any

from core.storage.layout import PREDICTION_COLUMNS, prediction_from_row, transport_from_row
from core.results import Prediction, SystemTransport


def transport_of(system: str = "s0", **columns: Any) -> SystemTransport:
    """A :class:`SystemTransport` with ``transport.csv`` columns given by name (``molar_conductivity=0.1,
    molar_conductivity_err=0.01, fit_t0=2.0``, ...); one replica and NaN where not given."""
    return transport_from_row({"system": system, "n_replicas": 1, **columns})


def prediction_of(system: str = "s0", split: str = "train", **columns: Any) -> Prediction:
    """A :class:`Prediction` with ``predictions.csv`` columns given by name (``true=0.1, true_err=0.01,
    predicted=0.12``, ...); NaN where not given, no environments unless ``n_environments``."""
    unknown = set(columns) - set(PREDICTION_COLUMNS)
    if unknown:
        raise TypeError(f"not columns of predictions.csv: {', '.join(sorted(unknown))}")
    row = {**dict.fromkeys(PREDICTION_COLUMNS[2:], float("nan")), "n_environments": 0, **columns}
    return prediction_from_row({"system": system, "split": split, **row})
