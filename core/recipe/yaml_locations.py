"""Reading YAML with enough position information to point at the offending line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from core.errors import RecipeError, UserError


def read_yaml(path: Path) -> tuple[Any, yaml.Node | None]:
    """Parse ``path``; return (data, node tree). Bad YAML and duplicate keys are UserErrors."""
    source = str(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise UserError("no such recipe file", source=source) from None
    except OSError as exc:
        raise UserError(f"cannot read recipe: {exc.strerror}", source=source) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise UserError(f"not valid YAML: {problem}", source=source,
                        line=mark.line + 1 if mark is not None else None) from None
    if node is not None:
        duplicates = list(_duplicate_keys(node, ()))
        if duplicates:
            raise RecipeError([UserError("key given twice", source=source, path=".".join(p), line=line)
                               for p, line in duplicates])
    return data, node


def _duplicate_keys(node: yaml.Node, path: tuple[str, ...]):
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                yield path + (key,), key_node.start_mark.line + 1
            seen.add(key)
            yield from _duplicate_keys(value_node, path + (key,))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _duplicate_keys(item, path + (str(index),))


def line_of(node: yaml.Node | None, location: tuple[str | int, ...]) -> int | None:
    """1-based line of the deepest node along ``location`` that exists in the tree."""
    line = None
    for part in location:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if str(key_node.value) == str(part):
                    line = key_node.start_mark.line + 1
                    node = value_node
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line
