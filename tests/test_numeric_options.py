"""One rule for every numeric option (core/numbers.py): NaN, infinities and booleans are refused in every
numeric field of every built-in plugin's options and of the recipe, with the field named."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from core.numbers import wants_number
from core.plugin_system.registry import get_registry
from tests.conftest import cli, small_recipe, write_recipe

#: Options a plugin needs before any other can be checked.
REQUIRED = {("simulator", "trajectories"): {"pattern": "run{replica}.gsd"}}


def numeric_fields():
    for kind in ("simulator", "descriptor", "model", "analysis"):
        for info in get_registry().plugins(kind):
            if info.plugin_class is None or info.package != "localcond":
                continue
            config = info.plugin_class.Config
            for name, field in config.model_fields.items():
                if wants_number(field.annotation):
                    yield pytest.param(kind, info.name, config, name, id=f"{kind}-{info.name}-{name}")


@pytest.mark.parametrize("kind, name, config, field", list(numeric_fields()))
@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan, True, False])
def test_every_numeric_plugin_option_refuses_non_numbers(kind, name, config, field, value):
    base = REQUIRED.get((kind, name), {})
    config.model_validate(base)                                   # the defaults are fine
    annotation = config.model_fields[field].annotation
    given = [value] if "list" in str(annotation) else value
    given = (value, value) if "tuple" in str(annotation) else given
    with pytest.raises(ValidationError) as raised:
        config.model_validate({**base, field: given})
    assert any(error["loc"][0] == field for error in raised.value.errors()), raised.value


def test_wants_number_reads_annotations():
    assert wants_number(int) and wants_number(float | None) and wants_number(list[float])
    assert wants_number(int | str) and wants_number(tuple[float, float])
    assert not wants_number(bool) and not wants_number(str) and not wants_number(bool | int)


@pytest.mark.parametrize(("change", "fragments"), [
    ({"systems.replicas": True}, ["systems.replicas", "boolean"]),
    ({"systems.seed": -1}, ["systems.seed", "greater than or equal to 0"]),
    ({"split.seed": -1}, ["split.seed", "greater than or equal to 0"]),
    ({"split.n_folds": True}, ["split.n_folds", "boolean"]),
    ({"model": {"plugin": "ridge", "options": {"alphas": [float("inf")]}}}, ["model.options.alphas", "finite"]),
    ({"descriptor": {"plugin": "radial-shells", "options": {"r_cut": True}}}, ["descriptor.options.r_cut",
                                                                               "boolean"]),
])
def test_recipes_refuse_non_numbers_with_exit_2(plugin_site, tmp_path, change, fragments):
    result = cli("validate", str(write_recipe(tmp_path / "bad.yaml", small_recipe(**change))))
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)
