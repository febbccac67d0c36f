"""The ``slurm:`` executor on a real single-node SLURM cluster started for these tests (tests/slurm_cluster.py).

Jobs are really submitted (``squeue`` sees them under the name ``localcond-worker``), workers join, the
dashboard's address is printed when asked, and the run gives the serial run's tables; a worker job cancelled
mid-run is replaced and the run still finishes with the same numbers; a pre-empted job (requeued
mid-simulation) and a job that runs out of time (TIMEOUT) resume from their checkpoint bit for bit;
``validate --job-script`` prints the script SLURM ran; worker logs land under the work directory; a
partition, core count or memory the cluster does not have exits 2 naming the key.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from core.execution.backends import SCHEDULER_PLACEHOLDER, SLURM_JOB_NAME, WORKER_NAME_PLACEHOLDER
from core.storage.layout import SLURM_LOG_DIR
from tests.conftest import HERE, cli, small_recipe, write_recipe
from tests.slurm_cluster import MAX_TIME, PARTITION, SlurmCluster, start_cluster

SLURM_BLOCK = {"cores": 1, "processes": 1, "memory": "1GB", "walltime": "00:10:00", "jobs": 2}


@pytest.fixture(scope="module")
def slurm(tmp_path_factory) -> SlurmCluster:
    cluster = start_cluster(tmp_path_factory.mktemp("slurm"))
    saved = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = str(cluster.conf)
    yield cluster
    cluster.stop()
    if saved is None:
        os.environ.pop("SLURM_CONF", None)
    else:
        os.environ["SLURM_CONF"] = saved


@pytest.fixture(scope="module")
def serial_tables(small_reference) -> dict[str, str]:
    """transport.csv and predictions.csv of the small recipe run serially."""
    return {name: (small_reference / name).read_text() for name in ("transport.csv", "predictions.csv")}


def start_run(recipe: Path, workdir: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [os.environ.get("PYTHONPATH"), str(HERE.parent)]))}
    return subprocess.Popen([sys.executable, "-m", "core", "run", str(recipe), "--workdir", str(workdir)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def wait_for_jobs(slurm: SlurmCluster, process: subprocess.Popen, count: int, timeout: float = 60) -> set[str]:
    """The ids of the run's worker jobs once ``count`` of them run (or the run ended)."""
    deadline = time.time() + timeout
    seen: set[str] = set()
    while time.time() < deadline and process.poll() is None:
        running = {job for job, state in slurm.jobs(SLURM_JOB_NAME) if state == "RUNNING"}
        seen |= running
        if len(running) >= count:
            break
        time.sleep(0.2)
    return seen


def test_a_recipe_on_slurm_submits_worker_jobs_and_gives_the_serial_numbers(slurm, serial_tables, plugin_site,
                                                                            tmp_path) -> None:
    recipe = write_recipe(tmp_path / "slurm.yaml", small_recipe(executor={"kind": "slurm", "slurm": SLURM_BLOCK,
                                                                         "dashboard": True}))
    workdir = tmp_path / "run"
    process = start_run(recipe, workdir)
    jobs = wait_for_jobs(slurm, process, 2)
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stdout + stderr
    assert len(jobs) == 2, f"squeue saw {jobs}"
    assert "Dask dashboard: http://" in stdout + stderr, stdout + stderr
    for name, text in serial_tables.items():
        assert (workdir / name).read_text() == text, name
    logs = sorted(path.name for path in (workdir / SLURM_LOG_DIR).iterdir())
    assert {f"{SLURM_JOB_NAME}-{job}.err" for job in jobs} <= set(logs), logs
    # the script SLURM ran is the one validate prints, but for what only the run knows
    printed = cli("validate", str(recipe), "--job-script", "--workdir", str(workdir))
    assert printed.returncode == 0, printed.stderr
    ran = slurm.batch_script(sorted(jobs)[0])
    address = ran.split("dask_worker ")[1].split()[0]
    worker = ran.split("--name ")[1].split()[0]
    expected = printed.stdout.replace(SCHEDULER_PLACEHOLDER, address).replace(WORKER_NAME_PLACEHOLDER, worker)
    assert ran.strip() == expected.strip()
    assert f"#SBATCH -J {SLURM_JOB_NAME}" in ran and str(workdir / SLURM_LOG_DIR) in ran


def test_a_cancelled_worker_job_is_replaced_and_the_run_gives_the_same_numbers(slurm, serial_tables, plugin_site,
                                                                              tmp_path) -> None:
    """scancel of one of two worker jobs mid-simulation: its tasks go to the other worker, a new job takes its
    place, and the tables are the serial run's (the slowness option changes no number)."""
    slow = small_recipe(**{"simulation.options": {"seconds_per_frame": 0.02}},
                        executor={"kind": "slurm", "slurm": SLURM_BLOCK})
    recipe = write_recipe(tmp_path / "slow.yaml", slow)
    workdir = tmp_path / "run"
    process = start_run(recipe, workdir)
    jobs = wait_for_jobs(slurm, process, 2)
    deadline = time.time() + 60
    while time.time() < deadline and process.poll() is None and not list(workdir.glob("simulate/*/artifact.json")):
        time.sleep(0.1)
    victim = sorted(jobs)[0]
    slurm.run("scancel", victim)
    replaced = set()
    while time.time() < deadline + 60 and process.poll() is None and not replaced:
        replaced = {job for job, _ in slurm.jobs(SLURM_JOB_NAME)} - jobs
        time.sleep(0.2)
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stdout + stderr
    assert replaced, "no job replaced the cancelled one before the run ended"
    for name, text in serial_tables.items():
        assert (workdir / name).read_text() == text, name


@pytest.mark.parametrize(("block", "key", "message"), [
    ({"queue": "nosuch"}, "executor.slurm.queue", f"partition 'nosuch' does not exist on this cluster (partitions: "
                                                  f"{PARTITION})"),
    ({"cores": 4096}, "executor.slurm.cores", "4096 cores per job, but the nodes of partition"),
    ({"memory": "100TB"}, "executor.slurm.memory", "100TB per job"),
    ({"walltime": "3:00:00"}, "executor.slurm.walltime", f"3:00:00 per job, but partition '{PARTITION}' allows at "
                                                         f"most {MAX_TIME}"),
])
def test_what_the_cluster_does_not_have_exits_2_naming_the_key(slurm, plugin_site, tmp_path, block, key,
                                                                message) -> None:
    recipe = write_recipe(tmp_path / "bad.yaml", small_recipe(executor={"kind": "slurm",
                                                                        "slurm": {**SLURM_BLOCK, **block}}))
    for command in (("validate", str(recipe)), ("run", str(recipe), "--workdir", str(tmp_path / "run"))):
        result = cli(*command)
        assert result.returncode == 2 and key in result.stderr and message in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    assert not slurm.jobs(SLURM_JOB_NAME)


#: An OpenMM recipe whose simulation checkpoints every 5 of its 81 frames (deterministic forces, one thread).
OPENMM_RECIPE = {"name": "checkpointed",
                 "systems": {"replicas": 1, "n_particles": 300, "density": 0.8, "seed": 3,
                             "grid": [{"concentration": [0.05], "bjerrum_length": [5.0]}]},
                 "simulation": {"plugin": "openmm", "steps": 4000, "equilibration_steps": 200, "write_period": 50,
                                "options": {"checkpoint_frames": 5}},
                 "transport": {"fit_window": [0.5, 4.0]}}


@pytest.fixture(scope="module")
def openmm_serial(tmp_path_factory) -> Path:
    """The work directory of :data:`OPENMM_RECIPE` run serially, uninterrupted."""
    pytest.importorskip("openmm")
    root = tmp_path_factory.mktemp("openmm-serial")
    serial = write_recipe(root / "serial.yaml", {**OPENMM_RECIPE, "executor": {"kind": "serial",
                                                                              "threads_per_task": 1}})
    assert cli("run", str(serial), "--workdir", str(root / "run")).returncode == 0
    return root / "run"


def start_checkpointed_run(slurm: SlurmCluster, tmp_path: Path, **block) -> tuple[subprocess.Popen, Path, str]:
    """:data:`OPENMM_RECIPE` on one worker job (``block`` overrides the ``slurm:`` block), once its simulation
    has checkpointed 10 frames: the run, its work directory and the job's id."""
    from core.storage.checkpoints import load_checkpoint

    recipe = write_recipe(tmp_path / "slurm.yaml", {**OPENMM_RECIPE, "executor": {
        "kind": "slurm", "threads_per_task": 1, "slurm": {**SLURM_BLOCK, "jobs": 1, **block}}})
    workdir = tmp_path / "run"
    process = start_run(recipe, workdir)
    jobs = wait_for_jobs(slurm, process, 1)
    deadline = time.time() + 120
    scratch = []
    while time.time() < deadline and process.poll() is None:
        scratch = [d for d in workdir.glob("simulate/*.scratch") if (d / "checkpoint.json").is_file()]
        if scratch and load_checkpoint(scratch[0])[0].frames_written >= 10:
            break
        time.sleep(0.1)
    assert jobs and scratch and process.poll() is None, "the simulation ended before it could be interrupted"
    return process, workdir, sorted(jobs)[0]


def assert_resumed_bit_for_bit(process: subprocess.Popen, workdir: Path, serial: Path) -> None:
    """The run finished, its simulation resumed from a checkpoint, and its trajectory and transport table are
    the uninterrupted serial run's, bit for bit."""
    from core.md.trajectory import read_frames

    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stdout + stderr
    artifact = next(workdir.glob("simulate/*/artifact.json")).parent
    assert json.loads((artifact / "artifact.json").read_text())["result"]["simulator"]["resumed_at_frame"] >= 10
    reference = next(serial.glob("simulate/*/artifact.json")).parent
    ours, theirs = list(read_frames(artifact / "trajectory.gsd")), list(read_frames(reference / "trajectory.gsd"))
    assert [f.step for f in ours] == [f.step for f in theirs]
    assert all(np.array_equal(a.positions, b.positions) and np.array_equal(a.image, b.image)
               for a, b in zip(ours, theirs))
    assert (workdir / "transport.csv").read_text() == (serial / "transport.csv").read_text()


def test_a_preempted_job_resumes_from_its_checkpoint_bit_for_bit(slurm, openmm_serial, tmp_path) -> None:
    """``scontrol requeue`` of the only worker job mid-simulation (what pre-emption does: the job is killed
    and queued again): the simulation resumes from its checkpoint on the next worker, and its trajectory and
    transport table are the serial run's bit for bit (OpenMM with deterministic forces, one thread each)."""
    process, workdir, job = start_checkpointed_run(slurm, tmp_path)
    slurm.run("scontrol", "requeue", job)
    assert_resumed_bit_for_bit(process, workdir, openmm_serial)


def test_a_job_that_hits_its_time_limit_is_replaced_and_resumes_bit_for_bit(slurm, openmm_serial, tmp_path) -> None:
    """The only worker job has a one-minute time limit and is mid-simulation when SLURM ends it (state
    TIMEOUT): a new job takes its place, the simulation resumes from its checkpoint, and the tables are the
    serial run's bit for bit.

    SLURM enforces limits in whole minutes, checked every 30 s, so the job ends 60–90 s after it started. So
    that it is still mid-simulation then, its processes are stopped (SIGSTOP) once 10 frames are checkpointed;
    SLURM's own time-limit kill (SIGCONT, SIGTERM, SIGKILL after KillWait) ends them."""
    import signal

    earlier = set(slurm.jobs(SLURM_JOB_NAME, every_state=True))
    process, workdir, job = start_checkpointed_run(slurm, tmp_path, walltime="00:01:00")
    pids = [int(line.split()[0]) for line in slurm.run("scontrol", "listpids", job).splitlines()[1:] if line.strip()]
    for pid in pids:
        try:
            os.kill(pid, signal.SIGSTOP)
        except ProcessLookupError:
            pass
    deadline = time.time() + 150
    while time.time() < deadline and "JobState=TIMEOUT" not in slurm.run("scontrol", "show", "job", job):
        time.sleep(0.5)
    assert "JobState=TIMEOUT" in slurm.run("scontrol", "show", "job", job), slurm.run("scontrol", "show", "job", job)
    assert_resumed_bit_for_bit(process, workdir, openmm_serial)
    replacements = {j for j, _ in slurm.jobs(SLURM_JOB_NAME, every_state=True)} - {j for j, _ in earlier} - {job}
    assert replacements, "no job took the place of the one that ran out of time"
