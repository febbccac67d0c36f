"""One rule for every numeric option, in recipes and in plugins' ``Config`` models alike.

A number must be finite (``allow_inf_nan=False`` on the models) and a number: YAML's ``true``/``false`` are
booleans, which Python would otherwise take for 1 and 0 (``replicas: true`` read as 1). The rule is a
``before`` validator on every field, so that errors point at the field, and it is inherited: every plugin's
``Config`` (a :class:`core.plugin_system.plugin_api.PluginConfig`) gets it without writing it.
"""

from __future__ import annotations

import types
import typing
from typing import Any

NUMBER_TYPES = (int, float)


def wants_number(annotation: Any) -> bool:
    """Whether a field of this type takes numbers and not booleans: int, float, their optionals and unions
    (with other types), and lists or tuples of them. A union that admits ``bool`` itself is left alone."""
    if annotation in NUMBER_TYPES:
        return True
    origin = typing.get_origin(annotation)
    arguments = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return bool not in arguments and any(wants_number(a) for a in arguments)
    if origin in (list, tuple):
        return any(wants_number(a) for a in arguments if a is not Ellipsis)
    if origin is typing.Annotated:
        return wants_number(arguments[0])
    return False


def has_boolean(value: Any) -> bool:
    """Whether ``value`` is a boolean, or a list or tuple holding one."""
    if isinstance(value, bool):
        return True
    return isinstance(value, (list, tuple)) and any(isinstance(item, bool) for item in value)


def refuse_booleans(model_class: Any, value: Any, field_name: str | None) -> Any:
    """``value`` unchanged, or ``ValueError`` where a numeric field of ``model_class`` was given a boolean."""
    field = model_class.model_fields.get(field_name) if field_name else None
    if field is not None and has_boolean(value) and wants_number(field.annotation):
        raise ValueError(f"{value!r} is a boolean; expected a number")
    return value
