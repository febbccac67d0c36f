"""``validate --cost``: rates fitted from calibration tasks recover known ones, the calibration is the recipe made
small, and a real recipe's prediction costs every task its run then runs (how close the seconds come is measured
by ``benchmarks/cost_prediction.py`` on a quiet machine, not asserted here)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from core.execution.cost import (CALIBRATION_FRAMES, CALIBRATION_STEPS, Rate, StageCost, calibration_recipe, fit_rates,
                                 walltime_notes)
from tests.conftest import cli, write_recipe


def test_rates_are_recovered_from_tasks_of_known_cost():
    """A simulator's step rate from its production timing; other keys a line where their units differ by
    more than a third, a proportion where they do not."""
    rng = np.random.default_rng(0)
    records = []
    for steps in (2500, 2500, 2500):
        production = steps - 500
        records.append(("simulate:openmm:N1000", steps, 3.0 + 0.002 * steps,
                        {"production_seconds": 0.002 * production, "production_steps": production}))
    for units in (400, 1200, 2000):
        records.append(("transport", units, 0.5 + 1e-4 * units + rng.normal(0, 1e-5), {}))
    for units in (1000, 1100):
        records.append(("member:ridge", units, 2e-3 * units, {}))
    rates = fit_rates(records)
    assert rates["simulate:openmm:N1000"].per_unit == pytest.approx(0.002)
    assert rates["simulate:openmm:N1000"].overhead == pytest.approx(3.0)
    assert rates["transport"].overhead == pytest.approx(0.5, abs=1e-3)
    assert rates["transport"].per_unit == pytest.approx(1e-4, rel=0.02)
    assert rates["member:ridge"] == Rate(0.0, pytest.approx(2e-3), 2)


def test_tasks_longer_than_a_jobs_walltime_are_named():
    """On 8 threads a task of 80 core-hours takes 10 h: within 24:00:00 nothing is said; past 04:00:00 a
    checkpointing simulation spans 3 jobs, and a training member, which cannot resume, is named as unable to
    finish."""
    stages = [StageCost("simulate", 4, 4 * 80 * 3600.0, ("simulate:openmm:N40000",), 80 * 3600.0, "c0.05.r0"),
              StageCost("learn", 2, 2 * 40 * 3600.0, ("member:nn-ensemble",), 40 * 3600.0, "member 3"),
              StageCost("transport", 4, 40.0, ("transport",), 10.0, "c0.05")]
    assert walltime_notes(stages, 8, "24:00:00", checkpoints=True) == []
    notes = walltime_notes(stages, 8, "04:00:00", checkpoints=True)
    assert len(notes) == 2
    assert "simulate task (c0.05.r0) takes about 10 h on 8 thread(s)" in notes[0] and "about 3 jobs" in notes[0]
    assert "learn task (member 3) takes about 5 h" in notes[1] and "cannot finish in one job" in notes[1]
    assert "cannot finish" in walltime_notes(stages, 8, "04:00:00", checkpoints=False)[0]


def test_the_calibration_is_the_recipe_made_small():
    recipe = {"name": "big", "systems": {"replicas": 6, "n_particles": 40000, "grid": [
                  {"concentration": [0.05, 0.0005, 0.01, 0.03], "bjerrum_length": [2.5, 5.0, 10.0]}]},
              "simulation": {"plugin": "hoomd", "options": {"device": "GPU"}, "steps": 10_000_000,
                             "equilibration_steps": 100_000, "write_period": 10_000, "precision": None},
              "descriptor": {"plugin": "soap-dscribe", "snapshots": {"max_environments": 25_000, "stride": "auto"}},
              "split": {"test_fraction": 0.1, "n_folds": 5, "seeds_per_fold": 5, "outer_folds": None},
              "executor": {"kind": "slurm"}, "workdir": "/scratch/big"}
    small = calibration_recipe(recipe, simulator_available=False)
    assert small["systems"]["replicas"] == 1
    assert small["systems"]["grid"] == [{"concentration": [0.0005, 0.03, 0.05], "bjerrum_length": [5.0]}]
    simulation = small["simulation"]
    assert simulation["steps"] <= CALIBRATION_STEPS and simulation["steps"] // simulation["write_period"] >= \
        CALIBRATION_FRAMES
    assert simulation["plugin"] == "openmm" and simulation["options"] == {}          # hoomd is not here
    assert small["descriptor"]["snapshots"]["max_environments"] == 1000
    assert small["split"]["n_folds"] == 2 and small["split"]["outer_folds"] == 0
    assert small["executor"] == {"kind": "serial", "threads_per_task": 1} and "workdir" not in small
    assert recipe["systems"]["replicas"] == 6                                          # the recipe is left alone


def test_the_predicted_cost_covers_every_task_the_run_runs(tmp_path, monkeypatch):
    """A recipe of twice the calibration's steps and replicas: validate --cost prices every task the run then
    runs (how close its seconds come is measured on a quiet machine by benchmarks/cost_prediction.py)."""
    pytest.importorskip("openmm")
    pytest.importorskip("sklearn")
    recipe = {"name": "costed",
              "systems": {"replicas": 2, "n_particles": 300, "density": 0.8, "seed": 3,
                          "grid": [{"concentration": [0.02, 0.035, 0.05], "bjerrum_length": [5.0]}]},
              "simulation": {"plugin": "openmm", "steps": 4000, "equilibration_steps": 500, "write_period": 100,
                             "min_ions": 4},
              "transport": {"attribution": False},
              "descriptor": {"plugin": "radial-shells", "snapshots": {"max_environments": 400, "stride": 5}},
              "model": {"plugin": "ridge", "labels": "system-means"},
              "split": {"test_fraction": 0.0, "n_folds": 2, "seeds_per_fold": 1, "outer_folds": 0},
              "analyses": [{"plugin": "parity"}],
              "executor": {"kind": "serial", "threads_per_task": 1}}
    path = write_recipe(tmp_path / "costed.yaml", recipe)
    environment = {"LOCALCOND_CACHE": str(tmp_path / "cache")}
    predicted = cli("validate", str(path), "--cost", env=environment)
    assert predicted.returncode == 0, predicted.stderr
    assert "measured now" in predicted.stdout + predicted.stderr
    monkeypatch.setenv("LOCALCOND_CACHE", environment["LOCALCOND_CACHE"])
    from core.execution.cost import calibrate
    from core.recipe.loader import load_recipe

    assert calibrate(load_recipe(path))[1]["cached"]                              # measured once
    output = predicted.stdout + predicted.stderr
    found = re.search(r"total\s*│\s*(\d+)\s*│\s*([0-9.e+-]+)", output)
    tasks, total = int(found.group(1)), float(found.group(2)) * 3600
    run = cli("run", str(path), "--workdir", str(tmp_path / "run"))
    assert run.returncode == 0, run.stderr
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())["artifacts"]
    actual = sum(entry.get("wall_time", 0.0) for entry in manifest.values())
    # the prediction costs every task the run runs; how close its seconds come is measured on a quiet machine
    # by benchmarks/cost_prediction.py (docs/benchmarks.md), not asserted here (a busy machine would fail it)
    assert tasks == len(manifest) and total > 0, (tasks, len(manifest), total)
    print(f"predicted {total:.1f} core-s, ran {actual:.1f} core-s")
