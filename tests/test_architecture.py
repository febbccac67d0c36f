"""ARCHITECTURE.md's map is true: every path and public name it cites exists (issue 27)."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TEXT = (ROOT / "ARCHITECTURE.md").read_text()
CITED = sorted(set(re.findall(r"`([^`\n]+)`", TEXT)))
TOP_FOLDERS = ("core/", "plugins/", "docs/", "benchmarks/", "examples/", "tests/", "recipes/")


def cited_paths() -> list[str]:
    """Cited repository paths: those under a top-level folder of the repository."""
    return [token for token in CITED if token.startswith(TOP_FOLDERS) and " " not in token and "<" not in token]


def cited_dotted_names() -> list[str]:
    """Cited Python names under ``core`` (``core.api.AnalysisPlugin``, ``core.errors.UserError``)."""
    return [token for token in CITED if re.fullmatch(r"core(\.\w+)+", token)]


def resolve(dotted: str) -> object:
    """The module or attribute a dotted name denotes; raises if there is none."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[cut:]:
            target = getattr(target, attribute)
        return target
    raise ModuleNotFoundError(dotted)


def test_the_map_cites_paths_and_names() -> None:
    """The two lists below are not empty, so the tests that follow check something."""
    assert len(cited_paths()) > 30 and len(cited_dotted_names()) > 5


@pytest.mark.parametrize("path", cited_paths())
def test_every_cited_path_exists(path: str) -> None:
    assert (ROOT / path).exists(), f"ARCHITECTURE.md cites {path}, which is not in the repository"


@pytest.mark.parametrize("name", cited_dotted_names())
def test_every_cited_core_name_resolves(name: str) -> None:
    resolve(name)


def test_the_hooks_it_names_are_the_hookspecs() -> None:
    from core.plugin_system import hookspecs

    named = {token for token in CITED if token.startswith("localcond_register_")}
    specs = {name for name in dir(hookspecs) if name.startswith("localcond_register_")}
    assert named and named <= specs, named - specs


def test_the_public_names_it_cites_are_in_core_api() -> None:
    """The plugin-facing names the map cites bare (types, the API version, the template) are exported by
    ``core.api``."""
    import core.api

    plugin_facing = {"AnalysisInputs", "AnalysisResult", "SimulatorPlugin", "EngineConfig", "SystemSpec",
                     "SimulationSettings", "API_VERSION", "require_api", "hookimpl", "compare_groups",
                     "SystemAnalysis", "SystemView", "AnalysisPlugin", "DescriptorPlugin", "ModelPlugin"}
    cited = plugin_facing & set(CITED)
    assert len(cited) >= 8, cited
    assert cited <= set(core.api.__all__), cited - set(core.api.__all__)


#: The bottom layer: modules that import no other part of core/ beyond each other (issue 41: datatypes once
#: imported md/, storage/ and transport/ through AnalysisInputs' loaders, and a circle of 9 files followed).
BOTTOM_LAYER = {"core/datatypes.py": {"core.results", "core.periodic"}, "core/results.py": set(),
                "core/periodic.py": set()}


def _core_imports(path: Path) -> set[str]:
    """Every ``core.*`` module ``path`` imports, at the top or inside a function (lazy imports count)."""
    import ast

    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "core":
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.split(".")[0] == "core")
    return found


@pytest.mark.parametrize("module", sorted(BOTTOM_LAYER))
def test_the_bottom_layer_imports_nothing_above_it(module: str) -> None:
    imported = _core_imports(ROOT / module)
    assert imported <= BOTTOM_LAYER[module], f"{module} imports {sorted(imported - BOTTOM_LAYER[module])}"


#: Mappings an analysis may index by a string: the result's numbers (and a check's numbers before they go
#: there), per-environment columns, histograms by kind, and tables of rows by file name; and ``Literal[...]``,
#: a type. Rows are not among them.
STRING_KEYED = {"result.numbers", "numbers", "agreement", "environments", "view.environments()", "histograms",
                "rows", "self.check_z_", "Literal"}


def _string_subscripts(path: Path) -> list[str]:
    """``receiver[“key”]`` expressions in a module whose key is a string literal or an f-string."""
    import ast

    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Subscript) and (
                isinstance(node.slice, ast.JoinedStr)
                or isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str)):
            receiver = ast.unparse(node.value)
            found.append("result.numbers" if receiver.startswith("result.numbers") else receiver)
    return found


@pytest.mark.parametrize("path", sorted((ROOT / "plugins" / "analyses").glob("[a-z]*.py")), ids=lambda p: p.name)
def test_no_analysis_reads_a_row_by_string_key(path: Path) -> None:
    """The built-in analyses' rows are dataclasses (issue 40): a string key is used only on the mappings of
    STRING_KEYED, and every table's columns are a row dataclass's fields."""
    import dataclasses

    strange = sorted(set(_string_subscripts(path)) - STRING_KEYED)
    assert not strange, f"{path.name} indexes {strange} by a string key"
    module = importlib.import_module(f"plugins.analyses.{path.stem}")
    from core.api import SystemAnalysis, row_columns

    row_types = [v for v in vars(module).values() if dataclasses.is_dataclass(v) and isinstance(v, type)]
    for analysis in [v for v in vars(module).values() if isinstance(v, type) and issubclass(v, SystemAnalysis)
                     and v is not SystemAnalysis]:
        for columns in (analysis.tables or {analysis.table: analysis.columns}).values():
            assert any(row_columns(t) == tuple(columns) for t in row_types), (analysis.name, columns)


def test_the_row_scan_sees_a_dict_row() -> None:
    """The scan above would catch ``r["true"]`` (so it can fail)."""
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as handle:
        handle.write("def f(rows):\n    return [r['true'] for r in rows]\n")
    assert _string_subscripts(Path(handle.name)) == ["r"]
