"""End-to-end runs on real Dask clusters with the third-party test plugins: caching, failures, kills, corruption."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest


from core.storage.artifacts import META_FILE, SCRATCH_SUFFIX, ArtifactStore
from core.storage.manifest import read_manifest
from tests.conftest import HERE, cli, small_recipe, write_recipe


def statuses(workdir: Path) -> dict[str, list[str]]:
    by_step: dict[str, list[str]] = {}
    for entry in read_manifest(workdir)["artifacts"].values():
        by_step.setdefault(entry["step"], []).append(entry["status"])
    return by_step


def final_artifacts(workdir: Path) -> list[Path]:
    """Directories under their final names (not partial, scratch or quarantined ones)."""
    marks = (".partial-", ".scratch", ".corrupt-", ".replaced-")
    return [p for p in workdir.glob("*/*") if p.is_dir() and not any(m in p.name for m in marks)]


def test_local_cluster_run_then_cache_reuse_then_descriptor_change(plugin_site, tmp_path):
    recipe = write_recipe(tmp_path / "small.yaml", small_recipe(executor={"kind": "local"}))
    workdir = tmp_path / "run"
    first = cli("run", str(recipe), "--workdir", str(workdir))
    assert first.returncode == 0, first.stderr + first.stdout
    assert all(s == "done" for step in statuses(workdir).values() for s in step)
    for name in ("report.html", "transport.csv", "transport_replicas.csv", "predictions.csv", "manifest.json"):
        assert (workdir / name).is_file(), name
    manifest = read_manifest(workdir)["artifacts"]
    for entry in manifest.values():
        assert entry["checksum"] and entry["wall_time"] is not None and entry["plugin"] is not None \
            or entry["step"] == "transport"
    for entry in manifest.values():   # every input names an artifact of this run; only simulations have none
        assert set(entry["inputs"]) <= set(manifest), entry
        assert bool(entry["inputs"]) == (entry["step"] != "simulate"), entry
    for entry in manifest.values():   # a system's transport reads exactly its own replicas' simulations
        if entry["step"] == "transport":
            replicas = {key for key, other in manifest.items()
                        if other["step"] == "simulate" and other["system"] == entry["system"]}
            assert set(entry["inputs"]) == replicas and len(replicas) >= 2, entry

    second = cli("run", str(recipe), "--workdir", str(workdir))
    assert second.returncode == 0, second.stderr
    assert all(s == "cached" for step in statuses(workdir).values() for s in step)

    changed = write_recipe(tmp_path / "changed.yaml", small_recipe(
        executor={"kind": "local"}, descriptor={"plugin": "shell-counts", "options": {"r_cut": 2.0}}))
    third = cli("run", str(changed), "--workdir", str(workdir))
    assert third.returncode == 0, third.stderr
    after = statuses(workdir)
    assert set(after["simulate"]) == {"cached"} and set(after["transport"]) == {"cached"}
    assert set(after["featurize"]) == {"done"} and set(after["member"]) == {"done"}


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.targets: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.targets += [v for k, v in attrs if k in ("src", "href")]


def test_report_links_every_file_it_names(plugin_site, tmp_path):
    recipe = write_recipe(tmp_path / "small.yaml", small_recipe())
    workdir = tmp_path / "run"
    assert cli("run", str(recipe), "--workdir", str(workdir)).returncode == 0
    text = (workdir / "report.html").read_text()
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    links = _Links()
    links.feed(text)
    assert any(t.endswith("parity.png") for t in links.targets)
    for target in links.targets:
        assert (workdir / target).is_file(), target
    images = [line for line in text.split("<img ")[1:]]
    sources = [image.split('src="')[1].split('"')[0] for image in images]
    assert len(sources) == len(set(sources)) and not any(s.endswith(".svg") for s in sources)


def test_a_failing_task_lets_the_others_finish_and_a_rerun_retries_only_it(plugin_site, tmp_path):
    workdir = tmp_path / "run"
    recipe = write_recipe(tmp_path / "small.yaml", small_recipe(executor={"kind": "local"}))
    result = cli("run", str(recipe), "--workdir", str(workdir), env={"LOCALCOND_TESTPLUGINS_FAIL_LB": "5"})
    assert result.returncode == 1
    assert "c0.02_lB5_p0" in result.stdout and "configured to fail" in result.stdout
    first = read_manifest(workdir)["artifacts"]
    failed = {e["label"] for e in first.values() if e["status"] == "failed"}
    assert failed == {f"c{c}_lB5_p0_N400_rho0.8.r{r}" for c in ("0.02", "0.05") for r in (0, 1)}
    sims = [e for e in first.values() if e["step"] == "simulate"]
    assert sum(e["status"] == "done" for e in sims) == 8
    transports = {e["system"]: e["status"] for e in first.values() if e["step"] == "transport"}
    assert transports["c0.02_lB2.5_p0_N400_rho0.8"] == "done"
    assert transports["c0.02_lB5_p0_N400_rho0.8"] == "skipped"
    show = cli("show", str(workdir))
    assert show.returncode == 1 and "configured to fail" in show.stdout

    rerun = cli("run", str(recipe), "--workdir", str(workdir))
    assert rerun.returncode == 0, rerun.stderr
    again = read_manifest(workdir)["artifacts"]
    redone_sims = {e["label"] for e in again.values() if e["step"] == "simulate" and e["status"] == "done"}
    assert redone_sims == failed
    redone_transport = {e["system"] for e in again.values() if e["step"] == "transport" and e["status"] == "done"}
    assert redone_transport == {"c0.02_lB5_p0_N400_rho0.8", "c0.05_lB5_p0_N400_rho0.8"}


def test_sigkill_mid_run_then_resume_recomputes_nothing_finished(plugin_site, tmp_path):
    recipe = write_recipe(tmp_path / "slow.yaml", small_recipe(
        executor={"kind": "local"}, **{"simulation.options": {"seconds_per_frame": 0.02}}))
    workdir = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": os.environ["PYTHONPATH"] + os.pathsep + str(HERE.parent)}
    process = subprocess.Popen([sys.executable, "-m", "core", "run", str(recipe), "--workdir", str(workdir)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                               start_new_session=True)
    store = ArtifactStore(workdir)
    deadline = time.time() + 120
    while time.time() < deadline and len(list(workdir.glob("simulate/*/" + META_FILE))) < 3:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    finished = sorted(p.parent.name for p in workdir.glob("simulate/*/" + META_FILE))
    assert 3 <= len(finished) < 12, "the kill should land mid-way through the simulations"
    # every directory under a final name is a complete artifact: verify raises on a missing or mismatched file
    verified = [artifact for artifact in final_artifacts(workdir) if store.verify(artifact)["files"]]
    assert sorted(a.name for a in verified if a.parent.name == "simulate") == finished
    assert not list(workdir.glob("*/*.gsd")), "no trajectory outside an artifact directory"

    resumed = cli("run", str(recipe), "--workdir", str(workdir))
    assert resumed.returncode == 0, resumed.stderr
    entries = read_manifest(workdir)["artifacts"].values()
    cached = sorted(Path(e["path"]).name for e in entries if e["step"] == "simulate" and e["status"] == "cached")
    assert cached == finished
    assert not list(workdir.rglob("*.partial-*"))


def _flip_a_trajectory_byte(artifact: Path) -> None:
    trajectory = artifact / "trajectory.gsd"
    data = bytearray(trajectory.read_bytes())
    data[-100] ^= 0xFF
    trajectory.write_bytes(bytes(data))


def _truncate_the_record(artifact: Path) -> None:
    record = artifact / META_FILE
    record.write_text(record.read_text()[:40])


def _record_a_list(artifact: Path) -> None:
    (artifact / META_FILE).write_text("[1, 2]")


@pytest.mark.parametrize(("corrupt", "note"), [(_flip_a_trajectory_byte, "checksum mismatch"),
                                               (_truncate_the_record, "unreadable"),
                                               (_record_a_list, "not an artifact record")])
def test_a_corrupted_artifact_is_caught_and_recomputed(plugin_site, tmp_path, corrupt, note):
    recipe = write_recipe(tmp_path / "small.yaml", small_recipe())
    workdir = tmp_path / "run"
    assert cli("run", str(recipe), "--workdir", str(workdir)).returncode == 0
    artifact = sorted(workdir.glob("simulate/*/trajectory.gsd"))[0].parent
    corrupt(artifact)
    rerun = cli("run", str(recipe), "--workdir", str(workdir))
    assert rerun.returncode == 0, rerun.stderr
    entries = read_manifest(workdir)["artifacts"].values()
    redone = [e for e in entries if e["status"] == "done"]
    assert [e["path"] for e in redone] == [str(artifact.relative_to(workdir))]
    assert note in " ".join(redone[0]["notes"])
    assert list(workdir.glob("simulate/*.corrupt-*"))
    assert all(e["status"] == "cached" for e in entries if e["step"] != "simulate")


def test_only_and_force_select_stages(plugin_site, tmp_path):
    recipe = write_recipe(tmp_path / "small.yaml", small_recipe())
    workdir = tmp_path / "run"
    only = cli("run", str(recipe), "--workdir", str(workdir), "--only", "simulate")
    assert only.returncode == 0, only.stderr
    recorded = statuses(workdir)
    assert set(recorded["simulate"]) == {"done"}
    assert {status for step, found in recorded.items() if step != "simulate" for status in found} == {"skipped"}
    assert "later task(s) not computed (outside --only simulate)" in only.stdout + only.stderr
    blocked = cli("run", str(recipe), "--workdir", str(workdir), "--only", "featurize")
    assert blocked.returncode == 0, blocked.stderr
    assert set(statuses(workdir)["featurize"]) == {"done"}
    forced = cli("run", str(recipe), "--workdir", str(workdir), "--force", "learn")
    assert forced.returncode == 0, forced.stderr
    after = statuses(workdir)
    assert set(after["member"]) == {"done"} and set(after["analyze"]) == {"done"}
    assert set(after["simulate"]) == {"cached"}
    artifact = sorted(workdir.glob("simulate/*/trajectory.gsd"))[0].parent
    scratch = artifact.with_name(artifact.name + SCRATCH_SUFFIX)
    scratch.mkdir()
    (scratch / "checkpoint.json").write_text("{not json")  # a leftover of an earlier, broken attempt
    forced = cli("run", str(recipe), "--workdir", str(workdir), "--force", "simulate")
    assert forced.returncode == 0, forced.stderr
    assert not scratch.exists()
    entries = read_manifest(workdir)["artifacts"].values()
    assert any("scratch state of an earlier attempt was cleared" in " ".join(e["notes"]) for e in entries)


def test_joining_an_existing_scheduler_by_address(plugin_site, tmp_path):
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None) as cluster:
        recipe = write_recipe(tmp_path / "addr.yaml", small_recipe(executor={"address": cluster.scheduler_address}))
        result = cli("run", str(recipe), "--workdir", str(tmp_path / "run"))
        assert result.returncode == 0, result.stderr
        assert json.loads((tmp_path / "run" / "manifest.json").read_text())["recipe"]["executor"]["kind"] == "address"


def test_ablation_learns_every_descriptor_model_pair_on_one_set_of_simulations(plugin_site, tmp_path):
    import csv

    duplicate = small_recipe(ablation={"models": [{"plugin": "mean-linear"}]})
    refused = cli("validate", str(write_recipe(tmp_path / "duplicate.yaml", duplicate)))
    assert refused.returncode == 2 and "ablation.models.0" in refused.stderr and "already" in refused.stderr
    recipe = small_recipe(ablation={"descriptors": [{"plugin": "shell-counts", "options": {"r_cut": 2.0}}]})
    path = write_recipe(tmp_path / "ablation.yaml", recipe)
    workdir = tmp_path / "run"
    result = cli("run", str(path), "--workdir", str(workdir))
    assert result.returncode == 0, result.stderr + result.stdout
    by_step = statuses(workdir)
    assert len(by_step["simulate"]) == 12 and len(by_step["transport"]) == 6  # once, shared by every pair
    assert len(by_step["featurize"]) == 12                                   # two descriptors × 6 systems
    assert len(by_step["predict"]) == 2                                      # 2 descriptors × 1 model
    with open(workdir / "ablation.csv") as handle:
        rows = list(csv.DictReader(handle))
    pairs = {(r["descriptor_options"], r["main"]) for r in rows if r["split"] == "test"}
    assert pairs == {('{"r_cut": 3.0, "seconds_per_frame": 0.0}', "True"),
                     ('{"r_cut": 2.0, "seconds_per_frame": 0.0}', "False")}
    assert "Ablation" in (workdir / "report.html").read_text()
    plain = cli("run", str(write_recipe(tmp_path / "plain.yaml", small_recipe())), "--workdir", str(workdir))
    assert plain.returncode == 0 and not (workdir / "ablation.csv").exists()
    assert set(statuses(workdir)["simulate"]) == {"cached"}


def test_outputs_of_an_earlier_run_are_not_shown_as_this_ones(plugin_site, tmp_path):
    workdir = tmp_path / "run"
    first = write_recipe(tmp_path / "a.yaml", small_recipe())
    assert cli("run", str(first), "--workdir", str(workdir)).returncode == 0
    assert (workdir / "predictions.csv").is_file() and (workdir / "metrics.json").is_file()
    second = write_recipe(tmp_path / "b.yaml", small_recipe(
        **{"systems.grid": [{"concentration": [0.03], "bjerrum_length": [2.5, 5.0, 10.0]}]}))
    result = cli("run", str(second), "--workdir", str(workdir), env={"LOCALCOND_TESTPLUGINS_FAIL_LB": "5"})
    assert result.returncode == 1
    assert not (workdir / "predictions.csv").exists() and not (workdir / "metrics.json").exists()
    with open(workdir / "transport.csv") as handle:
        systems = [line.split(",")[0] for line in handle.read().splitlines()[1:]]
    assert systems == ["c0.03_lB2.5_p0_N400_rho0.8", "c0.03_lB10_p0_N400_rho0.8"]
    report = (workdir / "report.html").read_text()
    assert "no learn results" in report
    assert "no transport in this run for 1 of 3 systems: c0.03_lB5_p0_N400_rho0.8" in report
    assert "c0.02_lB" not in report and "c0.05_lB" not in report


def test_learning_goes_on_without_failed_systems_when_asked(plugin_site, tmp_path):
    workdir = tmp_path / "run"
    recipe = write_recipe(tmp_path / "skip.yaml", small_recipe(**{"model.on_failed_systems": "skip"}))
    result = cli("run", str(recipe), "--workdir", str(workdir), env={"LOCALCOND_TESTPLUGINS_FAIL_LB": "5"})
    assert result.returncode == 1, result.stderr  # the failed simulations are still failures
    assert "learning without 2 system(s)" in result.stderr + result.stdout
    metrics = json.loads((workdir / "metrics.json").read_text())
    assert metrics["left_out_systems"] == ["c0.02_lB5_p0_N400_rho0.8", "c0.05_lB5_p0_N400_rho0.8"]
    with open(workdir / "predictions.csv") as handle:
        predicted = {line.split(",")[0] for line in handle.read().splitlines()[1:]}
    assert predicted == {f"c{c}_lB{lb}_p0_N400_rho0.8" for c in ("0.02", "0.05") for lb in ("2.5", "10")}
    report = (workdir / "report.html").read_text()
    assert "learned without 2 system(s)" in report and "c0.05_lB5_p0_N400_rho0.8" in report
    entries = read_manifest(workdir)["artifacts"].values()
    assert any(e["step"] == "predict" and e["status"] == "done" for e in entries)
    assert any(e["step"] == "analyze" and e["status"] == "done" for e in entries)
    show = cli("show", str(workdir))
    assert "Traceback" not in show.stderr


def test_by_default_a_failed_system_stops_learning(plugin_site, tmp_path):
    workdir = tmp_path / "run"
    recipe = write_recipe(tmp_path / "stop.yaml", small_recipe())
    result = cli("run", str(recipe), "--workdir", str(workdir), env={"LOCALCOND_TESTPLUGINS_FAIL_LB": "5"})
    assert result.returncode == 1
    assert not (workdir / "metrics.json").exists()
    entries = read_manifest(workdir)["artifacts"].values()
    assert all(e["status"] == "skipped" for e in entries if e["step"] in ("member", "predict", "analyze"))


def _start(arguments: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", *arguments], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def test_a_cluster_of_separate_processes_survives_losing_a_worker(plugin_site, small_reference, tmp_path):
    """A scheduler and two workers as separate processes on loopback (as on a cluster): one worker is
    killed mid-run; the run finishes on the other with the numbers of a serial run."""
    env = {**os.environ, "PYTHONPATH": os.environ["PYTHONPATH"] + os.pathsep + str(HERE.parent)}
    scheduler_file = tmp_path / "scheduler.json"
    processes = [_start(["distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                         "--scheduler-file", str(scheduler_file)], env)]
    try:
        deadline = time.time() + 60
        while time.time() < deadline and not scheduler_file.is_file():
            time.sleep(0.1)
        address = json.loads(scheduler_file.read_text())["address"]
        workers = [_start(["distributed.cli.dask_worker", "--scheduler-file", str(scheduler_file), "--nthreads", "1",
                           "--no-dashboard", "--name", f"worker{index}"], env) for index in range(2)]
        processes += workers
        slow = {"simulation.options": {"seconds_per_frame": 0.01}}
        recipe = write_recipe(tmp_path / "cluster.yaml", small_recipe(executor={"address": address}, **slow))
        workdir = tmp_path / "cluster"
        run = subprocess.Popen([sys.executable, "-m", "core", "run", str(recipe), "--workdir", str(workdir)],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        while time.time() < deadline + 120 and len(list(workdir.glob("simulate/*/" + META_FILE))) < 2:
            time.sleep(0.05)
        os.killpg(workers[0].pid, signal.SIGKILL)
        _, errors = run.communicate(timeout=300)
        assert run.returncode == 0, errors
        for table in ("transport.csv", "predictions.csv"):     # the serial run's (the slowness only sleeps)
            assert (workdir / table).read_text() == (small_reference / table).read_text(), table
    finally:
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_only_one_stage_of_a_finished_run_keeps_the_other_stages_tables_and_report(plugin_site, tmp_path):
    """``--only transport`` on a finished run removed the run's predictions.csv and metrics.json and wrote a
    report of transport alone: the stages after it were not in the plan. They are now reused where their
    results hold for the current plan (here all of them: nothing changed)."""
    recipe = write_recipe(tmp_path / "small.yaml", small_recipe())
    workdir = tmp_path / "run"
    assert cli("run", str(recipe), "--workdir", str(workdir)).returncode == 0
    tables = {name: (workdir / name).read_text() for name in ("transport.csv", "predictions.csv", "metrics.json")}
    again = cli("run", str(recipe), "--workdir", str(workdir), "--only", "transport")
    assert again.returncode == 0, again.stderr
    assert {name: (workdir / name).read_text() for name in tables} == tables
    assert "Predictions" in (workdir / "report.html").read_text()
    recorded = statuses(workdir)
    assert set(recorded["transport"]) == {"cached"} and set(recorded["member"]) == {"cached"}
