"""JSON without NaN: the standard has no NaN or infinity, so non-finite numbers are written as null."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def finite(value: Any) -> Any:
    """``value`` (dicts, lists and tuples of numbers, strings, ...) with every non-finite float as None.

    >>> finite({"a": float("nan"), "b": [1.0, np.float64("inf")], "c": np.int64(2)})
    {'a': None, 'b': [1.0, None], 'c': 2}
    """
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(item) for item in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value
