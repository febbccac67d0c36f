"""Faults injected into real runs of tiny recipes (issue 16), for the items not covered elsewhere.

Where each other fault is injected (all with the real runner or engine):

- killed mid-run, resumed, nothing finished recomputed: test_pipeline (SIGKILL), test_simulator_resume
  (both engines, bit-identical after two kills; four damages to a checkpoint);
- corrupted artifacts and records, healed on re-run: test_pipeline (three corruptions);
- a failing unit, a failed system with ``on_failed_systems``, stale outputs: test_pipeline;
- a lost Dask worker of separately started processes: test_pipeline; SLURM job script: test_executor_and_split;
- a full disk: test_disk_full; unusable work directories and damaged manifests: test_recipe_errors;
- bad recipes and bad transport inputs, exit 2: test_recipe_errors, test_transport_bad_inputs.
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from core.storage.artifacts import META_FILE
from tests.conftest import HERE, cli, small_recipe, write_recipe


def as_a_terminal_job() -> None:
    """In the child before it runs: SIGINT at its default, as in a job a terminal starts. pytest started as a
    background job of a shell without job control (as CI may start it) has SIGINT ignored, serial or with
    pytest-xdist (checked), an ignored SIGINT stays ignored in children, and Python then never raises
    KeyboardInterrupt in the run under test."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_run(recipe: Path, workdir: Path, *, own_group: bool = False) -> subprocess.Popen:
    """``python -m core run RECIPE --workdir WORKDIR`` in the background (its own process group if asked, as
    a terminal's foreground job is)."""
    env = {**os.environ, "PYTHONPATH": os.environ["PYTHONPATH"] + os.pathsep + str(HERE.parent)}
    return subprocess.Popen([sys.executable, "-m", "core", "run", str(recipe), "--workdir", str(workdir)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=own_group, preexec_fn=as_a_terminal_job)


def interrupt_when(process: subprocess.Popen, ready, sent: int = signal.SIGTERM) -> str:
    """Send ``sent`` once ``ready()`` holds (or 120 s passed); the run must end with 130, the resume hint and
    no traceback. Returns its stderr."""
    deadline = time.time() + 120
    while time.time() < deadline and process.poll() is None and not ready():
        time.sleep(0.02)
    process.send_signal(sent)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "interrupted: finished work is kept" in stderr and "Traceback" not in stderr
    return stderr


def assert_resumes_to_the_uninterrupted_table(recipe: Path, workdir: Path, reference: Path) -> None:
    """The same command finishes the run, with the transport table of a run never interrupted."""
    resumed = cli("run", str(recipe), "--workdir", str(workdir))
    assert resumed.returncode == 0, resumed.stderr
    assert cli("run", str(recipe), "--workdir", str(reference)).returncode == 0
    assert (workdir / "transport.csv").read_text() == (reference / "transport.csv").read_text()


def test_sigterm_ends_a_run_like_ctrl_c_and_the_same_command_finishes_it(plugin_site, small_reference, tmp_path):
    """A batch system's time limit (SIGTERM) mid-simulation: exit 130 with the resume hint, no traceback,
    and the rerun finishes with the numbers of an uninterrupted run."""
    recipe = write_recipe(tmp_path / "slow.yaml", small_recipe(**{"simulation.options": {"seconds_per_frame": 0.02}}))
    workdir = tmp_path / "run"
    interrupt_when(start_run(recipe, workdir), lambda: len(list(workdir.glob("simulate/*/" + META_FILE))) >= 2)
    assert not (workdir / "transport.csv").exists(), "the run should have been stopped mid-way"
    assert not list(workdir.rglob("*.partial-*")), "an interrupted task leaves no half output"
    resumed = cli("run", str(recipe), "--workdir", str(workdir))
    assert resumed.returncode == 0, resumed.stderr
    # seconds_per_frame only sleeps: the table is the plain recipe's
    assert (workdir / "transport.csv").read_text() == (small_reference / "transport.csv").read_text()


def test_sigterm_mid_transport_keeps_the_finished_systems_and_resumes_to_the_same_table(plugin_site, tmp_path):
    """SIGTERM while the transport stage runs (501 frames a replica: about 1 s a system): exit 130, no
    traceback, no transport.csv yet, systems already done kept; the rerun finishes with the table of an
    uninterrupted run."""
    recipe = write_recipe(tmp_path / "long.yaml", small_recipe(**{"simulation.steps": 10000}))
    workdir = tmp_path / "run"
    assert cli("run", str(recipe), "--workdir", str(workdir), "--only", "simulate").returncode == 0
    interrupt_when(start_run(recipe, workdir), lambda: bool(list(workdir.glob("transport/*/" + META_FILE))))
    kept = list(workdir.glob("transport/*/" + META_FILE))
    assert kept and len(kept) < 6 and not (workdir / "transport.csv").exists()
    assert not list(workdir.rglob("*.partial-*"))
    assert_resumes_to_the_uninterrupted_table(recipe, workdir, tmp_path / "reference")


def test_transport_table_follows_the_recipes_grid_not_completion_order(plugin_site, tmp_path):
    """With two workers finishing in whatever order, transport.csv lists systems as the grid does."""
    recipe = write_recipe(tmp_path / "grid.yaml", small_recipe(executor={"kind": "local"}))
    workdir = tmp_path / "run"
    result = cli("run", str(recipe), "--workdir", str(workdir))
    assert result.returncode == 0, result.stderr
    with open(workdir / "transport.csv") as handle:
        rows = [(float(r["concentration"]), float(r["bjerrum_length"])) for r in csv.DictReader(handle)]
    assert rows == [(c, lb) for c in (0.02, 0.05) for lb in (2.5, 5.0, 10.0)]


def test_ctrl_c_on_the_local_dask_executor_ends_without_worker_tracebacks(plugin_site, tmp_path):
    """Ctrl-C reaches the whole foreground process group, Dask's worker processes too: the run exits 130
    with the resume hint and no traceback from any process (4 worker tracebacks before)."""
    recipe = write_recipe(tmp_path / "slow.yaml", small_recipe(**{"simulation.options": {"seconds_per_frame": 0.02},
                                                                  "executor": {"kind": "local", "workers": 2}}))
    workdir = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": os.environ["PYTHONPATH"] + os.pathsep + str(HERE.parent)}
    process = subprocess.Popen([sys.executable, "-m", "core", "run", str(recipe), "--workdir", str(workdir)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                               start_new_session=True, preexec_fn=as_a_terminal_job)
    deadline = time.time() + 120
    while time.time() < deadline and len(list(workdir.glob("simulate/*/" + META_FILE))) < 2:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)      # what a terminal's Ctrl-C does
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stdout + stderr
    assert "interrupted: finished work is kept" in stderr
    assert "Traceback" not in stdout + stderr and "KeyboardInterrupt" not in stdout + stderr, stdout + stderr


def test_sigterm_or_ctrl_c_in_featurize_learn_and_analyze_keeps_finished_work_and_resumes_to_the_same_numbers(
        plugin_site, small_reference, tmp_path):
    """On the local Dask executor, a signal to the whole process group mid-featurize (SIGTERM, what a batch
    system's time limit sends to every process of a job), then mid-learn (SIGINT, a terminal's Ctrl-C), then
    mid-analyze (SIGTERM): each time exit 130, no traceback and no half file; the third resume finishes with
    the tables of an uninterrupted run (the slowness options change no number)."""
    slow = {"descriptor.options": {"seconds_per_frame": 0.05}, "model.options": {"seconds_per_fit": 0.5},
            "analyses": [{"plugin": "summary", "options": {"seconds": 3.0}}],
            "executor": {"kind": "local", "workers": 2}}
    recipe = write_recipe(tmp_path / "slow.yaml", small_recipe(**slow))
    workdir = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": os.environ["PYTHONPATH"] + os.pathsep + str(HERE.parent)}
    for stage, started, sent in (("featurize", "featurize/*/" + META_FILE, signal.SIGTERM),
                                 ("learn", "member/*/" + META_FILE, signal.SIGINT), ("analyze", "analyze/*", signal.SIGTERM)):
        process = subprocess.Popen([sys.executable, "-m", "core", "run", str(recipe), "--workdir", str(workdir)],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                                   start_new_session=True, preexec_fn=as_a_terminal_job)
        deadline = time.time() + 180
        while time.time() < deadline and process.poll() is None and not list(workdir.glob(started)):
            time.sleep(0.05)
        time.sleep(0.3)
        os.killpg(process.pid, sent)
        stdout, stderr = process.communicate(timeout=120)
        assert process.returncode == 130, f"{stage}: {stdout + stderr}"
        assert "Traceback" not in stdout + stderr and "KeyboardInterrupt" not in stdout + stderr, stdout + stderr
        assert not (workdir / "report.html").exists(), f"{stage}: the run should have been stopped mid-way"
    resumed = cli("run", str(recipe), "--workdir", str(workdir))
    assert resumed.returncode == 0, resumed.stderr
    assert not list(workdir.rglob("*.partial-*"))
    for table in ("transport.csv", "predictions.csv"):
        assert (workdir / table).read_text() == (small_reference / table).read_text(), table
