"""Simulate until precise: the extension rule, and extended OpenMM runs through the real runner."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from core.storage.manifest import read_manifest
from core.execution.precision import next_extensions
from core.recipe.schema import PrecisionConfig
from core.md.trajectory import read_frames
from core.results import SystemTransport
from core.testing import transport_of
from tests.conftest import cli, write_recipe


def rows(statuses: dict[str, str] | None = None, **relative_errors: float) -> dict[str, SystemTransport]:
    """Transports of Λ = 1 with these relative errors (and label statuses, where given)."""
    return {name: transport_of(name, molar_conductivity=1.0, molar_conductivity_err=e, simulated_time=10.0,
                               **({"label_status": statuses[name]} if name in (statuses or {}) else {}))
            for name, e in relative_errors.items()}


def test_extension_follows_the_inverse_square_root_law_in_whole_frames():
    config = PrecisionConfig(target_relative_error=0.1, max_steps_per_replica=100_000, safety=1.0)
    result, found = next_extensions(rows(a=0.2, b=0.05, c=math.nan), {"a": 2, "b": 2, "c": 2}, {}, config,
                                    base_steps=10_000, write_period=100, round_index=0)
    assert result == {"a": [30_000]}                 # (0.2 / 0.1)² × 10 000 = 40 000 in all
    assert found.systems["b"]["meets_target"] and not found.systems["a"]["meets_target"]
    again, _ = next_extensions(rows(a=0.11), {"a": 2}, result, config, 10_000, 100, 1)
    assert again == {"a": [30_000, 8_400]}           # 40 000 × 1.21 = 48 400


def test_budgets_cap_the_extensions_and_serve_the_worst_system_first():
    config = PrecisionConfig(target_relative_error=0.1, max_steps_per_replica=30_000, max_total_steps=100_000,
                             safety=1.0)
    result, found = next_extensions(rows(a=0.5, b=0.3), {"a": 2, "b": 2}, {}, config, 10_000, 100, 0)
    # per replica at most 20 000 more; in total 100 000 − 40 000 used = 60 000: a (worst) takes 40 000
    assert result == {"a": [20_000], "b": [10_000]}
    done, found = next_extensions(rows(a=0.3, b=0.3), {"a": 2, "b": 2}, result, config, 10_000, 100, 1)
    assert done == result and set(found.budget_exhausted) == {"a", "b"}


def test_a_label_that_may_still_be_biased_is_continued_until_accurate_and_says_what_stopped_each():
    """Precise but possibly biased (label_status 'bias may exceed error'): doubled, unless converged: false."""
    config = PrecisionConfig(target_relative_error=0.1, max_steps_per_replica=100_000, safety=1.0)
    table = rows({"a": "bias may exceed error", "b": "converged", "c": "bias within error",
                  "d": "relaxation not resolved"}, a=0.05, b=0.05, c=0.2, d=0.05)
    result, found = next_extensions(table, {"a": 2, "b": 2, "c": 2, "d": 2}, {}, config, 10_000, 100, 0)
    assert result == {"a": [10_000], "c": [30_000], "d": [10_000]}      # a, d doubled; c by the 1/√t law
    assert found.systems["b"]["stopped_by"] == "precise and accurate"
    assert found.systems["a"]["stopped_by"] is None and not found.systems["a"]["accurate"]
    plain, found = next_extensions(table, {"a": 2, "b": 2, "c": 2, "d": 2}, {},
                                   config.model_copy(update={"converged": False}), 10_000, 100, 0)
    assert plain == {"c": [30_000]} and found.systems["a"]["stopped_by"] == "precise"
    capped = config.model_copy(update={"max_steps_per_replica": 10_000})
    _, found = next_extensions(table, {"a": 2, "b": 2, "c": 2, "d": 2}, {}, capped, 10_000, 100, 0)
    assert found.systems["a"]["stopped_by"] == "budget"


def test_extended_openmm_replicas_continue_their_trajectories_and_are_cached(tmp_path):
    pytest.importorskip("openmm", reason="OpenMM is not installed (pip install 'localcond[openmm]')")
    recipe = {
        "name": "precise",
        "systems": {"replicas": 2, "n_particles": 300, "density": 0.8, "seed": 3,
                    "grid": [{"concentration": [0.05], "bjerrum_length": [2.5]}]},
        "simulation": {"plugin": "openmm", "steps": 1500, "equilibration_steps": 200, "write_period": 50,
                       "precision": {"target_relative_error": 0.01, "max_steps_per_replica": 2500,
                                     "max_rounds": 3}},
        "transport": {"fit_window": [0.5, 2.0]},
        "executor": {"kind": "serial"},
    }
    path = write_recipe(tmp_path / "precise.yaml", recipe)
    workdir = tmp_path / "run"
    first = cli("run", str(path), "--workdir", str(workdir))
    assert first.returncode == 0, first.stderr + first.stdout
    precision = json.loads((workdir / "precision.json").read_text())
    name = next(iter(precision["extensions"]))
    assert precision["extensions"][name] == [1000]          # 1% is far away: the budget (2500 steps) decides
    assert precision["rounds"][-1]["budget_exhausted"] == [name]

    artifacts = read_manifest(workdir)["artifacts"].values()
    extension = [a for a in artifacts if a["step"] == "simulate" and ".ext1" in a["label"]]
    assert len(extension) == 2 and all(a["status"] in ("done", "cached") and a["path"] for a in extension)
    base = next(a for a in artifacts if a["label"] == extension[0]["label"].replace(".ext1", ""))
    first_frames = list(read_frames(workdir / base["path"] / "trajectory.gsd"))
    more = list(read_frames(workdir / extension[0]["path"] / "trajectory.gsd"))
    assert len(first_frames) == 31 and len(more) == 20   # steps 0…1500, then 1550…2500
    times = np.array([f.time for f in first_frames + more])
    assert np.allclose(np.diff(times), 0.25)
    jump = np.linalg.norm(more[0].unwrapped_positions() - first_frames[-1].unwrapped_positions(), axis=1)
    assert np.sqrt(np.mean(jump ** 2)) < 0.5              # one frame's motion, not a fresh start

    row = next(r for r in _csv(workdir / "transport.csv"))
    assert float(row["simulated_time"]) == pytest.approx(2 * 2500 * 0.005)

    again = cli("run", str(path), "--workdir", str(workdir))
    assert again.returncode == 0, again.stderr
    assert {a["status"] for a in read_manifest(workdir)["artifacts"].values()} == {"cached"}


def test_precision_needs_a_simulator_that_can_continue(plugin_site, tmp_path):
    from tests.conftest import small_recipe

    recipe = small_recipe(**{"simulation.precision": {"target_relative_error": 0.1, "max_steps_per_replica": 4000}})
    result = cli("validate", str(write_recipe(tmp_path / "r.yaml", recipe)))
    assert result.returncode == 2 and "simulation.precision" in result.stderr and "cannot continue" in result.stderr


def _csv(path):
    import csv

    with open(path) as handle:
        return list(csv.DictReader(handle))
