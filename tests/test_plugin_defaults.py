"""Every number a built-in plugin decides by is an option that ``validate --resolved`` shows, or is declared
here as not a setting (issue 40: "no module of plugins/ holds a default that validate --resolved does not show").
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

from core.cli import main
from core.plugin_system.registry import get_registry

ROOT = Path(__file__).resolve().parents[1]

#: Numbers at module level or as function defaults in plugins/, by (file, name), and what they are:
#: ("option", kind, plugin, field): the default of that option, or the meaning of its null/auto value
#: (then its description must state the number); ("not a setting", why): the reason it is no choice.
DECLARED: dict[tuple[str, str], tuple[str, ...]] = {
    ("simulators/lammps_model.py", "ION_PAIR_CUTOFF_FRACTION"): ("option", "simulator", "lammps", "coulomb_cutoff"),
    ("simulators/lammps_model.py", "ION_PAIR_MAX_CUTOFF"): ("option", "simulator", "lammps", "coulomb_cutoff"),
    ("simulators/lammps_model.py", "ALL_PARTICLE_CUTOFF"): ("option", "simulator", "lammps", "coulomb_cutoff"),
    ("simulators/lammps_model.py", "NEIGHBOR_SKIN"): ("option", "simulator", "lammps", "neighbor_skin"),
    ("simulators/openmm_model.py", "ION_PAIR_CUTOFF_FRACTION"): ("option", "simulator", "openmm", "coulomb_cutoff"),
    ("simulators/openmm_model.py", "ALL_PARTICLE_CUTOFF"): ("option", "simulator", "openmm", "coulomb_cutoff"),
    ("simulators/openmm_model.py", "ION_PAIR_TERMS_PER_PARTICLE"): ("option", "simulator", "openmm", "coulomb_method"),
    ("simulators/openmm_model.py", "evaluate.threads"): ("not a setting", "a force evaluation's thread count"),
    ("simulators/lammps_model.py", "load_lammps.threads"): ("not a setting", "the OpenMP threads of one engine"),
    ("simulators/lammps_simulator.py", "_SEED_RANGE"): ("not a setting", "LAMMPS's range of random seeds"),
    ("simulators/openmm_units.py", "COULOMB_CONSTANT"): ("not a setting", "a physical constant"),
    ("simulators/openmm_units.py", "MOLAR_GAS_CONSTANT"): ("not a setting", "a physical constant"),
    ("simulators/openmm_units.py", "LENGTH_NM"): ("not a setting", "the unit map to OpenMM's units"),
    ("simulators/openmm_units.py", "ENERGY_KJ_PER_MOL"): ("not a setting", "the unit map to OpenMM's units"),
    ("simulators/openmm_units.py", "MASS_AMU"): ("not a setting", "the unit map to OpenMM's units"),
    ("simulators/openmm_units.py", "TIME_PS"): ("not a setting", "the unit map to OpenMM's units"),
    ("analyses/mechanisms.py", "MINOR_FRACTION"): ("not a setting", "which classes the figure draws together as "
                                                                    "'other'; the table keeps every class"),
    ("models/nn_ensemble.py", "PRIOR_SEED_OFFSET"): ("not a setting", "how the prior network's seed follows the member's"),
    ("models/nn_ensemble.py", "WHOLE_ARRAY_STATISTICS"): ("not a setting", "a memory chunk size; results do not depend on it"),
    ("models/nn_ensemble.py", "column_mean_std.chunk"): ("not a setting", "a memory chunk size"),
    ("models/nn_ensemble.py", "_outputs.chunk"): ("not a setting", "a memory chunk size"),
    ("models/nn_ensemble.py", "_representation.chunk"): ("not a setting", "a memory chunk size"),
    ("models/ridge.py", "INTERCEPT_SCALE"): ("not a setting", "the intercept column's scale, so that the penalty spares it"),
    ("analyses/local_distribution.py", "UNIFORM_BIMODALITY"): ("not a setting", "the bimodality coefficient of a uniform law, 5/9"),
    ("analyses/spatial_correlation.py", "add_snapshot.block"): ("not a setting", "the jackknife block of a snapshot"),
}


def _is_number(node: ast.AST) -> bool:
    """A literal int or float, or arithmetic of them (not a bool, not None)."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, (int, float)) and not isinstance(node.value, bool)
    if isinstance(node, ast.UnaryOp):
        return _is_number(node.operand)
    if isinstance(node, ast.BinOp):
        return _is_number(node.left) and _is_number(node.right)
    return False


def plugin_numbers() -> dict[tuple[str, str], float]:
    """Module-level numbers and functions' numeric defaults in plugins/: (file under plugins/, name) → value.
    A function's default is named ``function.argument``."""
    found = {}
    for path in sorted((ROOT / "plugins").rglob("*.py")):
        where = str(path.relative_to(ROOT / "plugins"))
        tree = ast.parse(path.read_text())
        for node in tree.body:
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None and _is_number(node.value):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Name):
                        found[(where, target.id)] = eval(ast.unparse(node.value))   # literals only
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                positional = node.args.posonlyargs + node.args.args
                pairs = list(zip(positional[len(positional) - len(node.args.defaults):], node.args.defaults))
                pairs += [(a, d) for a, d in zip(node.args.kwonlyargs, node.args.kw_defaults) if d is not None]
                for argument, default in pairs:
                    if _is_number(default):
                        found[(where, f"{node.name}.{argument.arg}")] = eval(ast.unparse(default))
    return found


def test_the_scan_finds_the_plugins_numbers() -> None:
    """The scan sees module constants and function defaults (so the next test checks something)."""
    found = plugin_numbers()
    assert found[("simulators/openmm_units.py", "COULOMB_CONSTANT")] == pytest.approx(138.935, rel=1e-5)
    assert ("models/nn_ensemble.py", "_outputs.chunk") in found and len(found) >= 20


def test_every_number_in_a_plugin_is_an_option_or_declared_not_a_setting() -> None:
    """An undeclared number fails; an "option" entry's number is that option's default, or its description
    states it (the meaning of the option's null or auto), so the resolved recipe tells the user."""
    registry = get_registry()
    undeclared = sorted(set(plugin_numbers()) - set(DECLARED))
    assert not undeclared, f"numbers in plugins/ that are neither an option nor declared here: {undeclared}"
    stale = sorted(set(DECLARED) - set(plugin_numbers()))
    assert not stale, f"declared here but no longer in plugins/: {stale}"
    for (where, name), value in plugin_numbers().items():
        entry = DECLARED[(where, name)]
        if entry[0] != "option":
            continue
        _, kind, plugin, field = entry
        option = registry.info(kind, plugin).plugin_class.Config.model_fields[field]
        text = f"{value:g}"
        assert option.default == value or text in (option.description or ""), (
            f"plugins/{where}: {name} = {value} is neither the default of {plugin}'s {field!r} nor stated in its "
            f"description {option.description!r}")


def _resolved(recipe: Path, capsys) -> dict:
    assert main(["validate", str(recipe), "--resolved"]) == 0
    return yaml.safe_load(capsys.readouterr().out)


def _stages(document: dict) -> list[tuple[str, dict]]:
    """(kind, section) of every plugin choice in a resolved document."""
    out = [("simulator", document["simulation"])]
    out += [("descriptor", document["descriptor"])] if document.get("descriptor") else []
    out += [("model", document["model"])] if document.get("model") else []
    out += [("analysis", a) for a in document.get("analyses") or []]
    ablation = document.get("ablation") or {}
    out += [("descriptor", d) for d in ablation.get("descriptors", [])]
    out += [("model", m) for m in ablation.get("models", [])]
    return out


@pytest.mark.parametrize("changes", [{}, {"simulation": {"plugin": "openmm"},
                                          "descriptor": {"plugin": "soap-featomic"}}],
                         ids=["precise-ablations", "openmm-featomic"])
def test_validate_resolved_shows_every_option_of_every_plugin_with_its_default(changes, tmp_path, capsys) -> None:
    """``validate --resolved`` prints each plugin's options whole: every Config field, at the recipe's value
    where it sets one and at the Config's default elsewhere (before, ``options: {}`` for a plugin left at
    its defaults)."""
    recipe = yaml.safe_load((ROOT / "recipes" / "precise-ablations.yaml").read_text())
    for section, values in changes.items():
        recipe[section] = {**recipe[section], **values, "options": {}}
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    registry = get_registry()
    stages = _stages(_resolved(path, capsys))
    assert len(stages) >= 10
    for kind, section in stages:
        config = registry.info(kind, section["plugin"]).plugin_class.Config
        given = next((s.get("options") or {} for k, s in _stages(recipe) if k == kind
                      and s["plugin"] == section["plugin"]), {})
        assert set(section["options"]) == set(config.model_fields), (kind, section["plugin"])
        defaults = config().model_dump(mode="json")
        for field, value in section["options"].items():
            assert value == given.get(field, defaults[field]), (kind, section["plugin"], field)
