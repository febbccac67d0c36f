"""Reading YAML with enough position information to point at the offending line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from core.errors import RecipeError, UserError


#: A recipe whose YAML, with every alias expanded, has more nodes than this is refused before anything
#: walks it (nested aliases can expand a few hundred bytes into billions of nodes).
MAX_EXPANDED_NODES = 100_000
#: Recipes larger than this are refused unread (a real one is a few kilobytes).
MAX_RECIPE_BYTES = 1 << 20


def read_yaml(path: Path) -> tuple[Any, yaml.Node | None]:
    """Parse ``path``; return (data, node tree). Bad YAML and duplicate keys are UserErrors.

    Bounded in time and memory: files over :data:`MAX_RECIPE_BYTES`, nesting deeper than Python's
    recursion allows, and alias trees that expand beyond :data:`MAX_EXPANDED_NODES` nodes are refused.
    """
    source = str(path)
    try:
        if path.is_file() and path.stat().st_size > MAX_RECIPE_BYTES:
            raise UserError(f"the recipe is {path.stat().st_size} bytes; expected a YAML file of at most "
                            f"{MAX_RECIPE_BYTES} bytes", source=source)
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise UserError("no such recipe file", source=source) from None
    except IsADirectoryError:
        raise UserError("is a directory; expected a recipe file", source=source) from None
    except UnicodeDecodeError as exc:
        raise UserError(f"not UTF-8 text (byte {exc.start}); expected a YAML recipe", source=source) from None
    except OSError as exc:
        raise UserError(f"cannot read recipe: {exc.strerror}", source=source) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is not None:
            size = _expanded_size(node, {})
            if size > MAX_EXPANDED_NODES:
                raise UserError(f"the YAML expands to {size:.3g} nodes through its aliases (&anchor / *alias); "
                                f"expected at most {MAX_EXPANDED_NODES}", source=source)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise UserError(f"not valid YAML: {problem}", source=source,
                        line=mark.line + 1 if mark is not None else None) from None
    except RecursionError:
        raise UserError("the YAML is nested too deeply to be a recipe", source=source) from None
    if node is not None:
        duplicates = list(_duplicate_keys(node, ()))
        if duplicates:
            raise RecipeError([UserError("key given twice", source=source, path=".".join(p), line=line)
                               for p, line in duplicates])
    return data, node


def _expanded_size(node: yaml.Node, memo: dict[int, float]) -> float:
    """Nodes of the tree with every alias expanded, computed on the shared graph (each node once)."""
    known = memo.get(id(node))
    if known is not None:
        return known
    memo[id(node)] = 1.0                     # a cycle (not possible in YAML 1.1 safe loading) counts once
    if isinstance(node, yaml.MappingNode):
        size = 1.0 + sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
    elif isinstance(node, yaml.SequenceNode):
        size = 1.0 + sum(_expanded_size(item, memo) for item in node.value)
    else:
        size = 1.0
    memo[id(node)] = size
    return size


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
