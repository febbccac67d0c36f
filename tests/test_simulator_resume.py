"""Every simulator plugin: killed after a checkpoint, resumed, the trajectory has exactly the scheduled frames."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from core.storage.checkpoints import RECORD_FILE, CorruptCheckpointError, load_checkpoint, read_notes
from core.datatypes import SimulationSettings
from core.md.electrolyte import frame_schedule
from core.md.production_loop import SCRATCH_TRAJECTORY
from core.md.trajectory import read_frames

def child_environment() -> dict[str, str]:
    """This process's environment with the repository first on PYTHONPATH (keeping what was there: an
    engine built from source may live on it)."""
    paths = [str(Path(__file__).parents[1]), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


RUNNER = """
import sys
from pathlib import Path
from core.datatypes import SimulationJob, SimulationSettings, SystemSpec, TaskContext
from core.plugin_system.registry import get_registry
out, scratch, name = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
system = SystemSpec("c0.05_lB5", 0.05, 5.0, 0.0, 500, 0.8, 2, 11)
settings = SimulationSettings(steps=6000, equilibration_steps=200, write_period=100, timestep=0.005, kT=1.0,
                              wca_cutoff=2 ** (1 / 6), thermostat_tau=0.5, bond_k=100.0, bond_r0=1.0, min_ions=1)
job = SimulationJob(system, 0, 1, settings, out)
plugin = get_registry().instantiate("simulator", name, {"checkpoint_frames": 5})
plugin.simulate(job, TaskContext(1, scratch, "resume"))
"""


@pytest.mark.parametrize(("name", "engine"), [("openmm", "openmm"), ("hoomd", "hoomd"), ("lammps", "lammps")])
def test_killed_run_resumes_with_exactly_the_scheduled_frames(tmp_path: Path, name: str, engine: str) -> None:
    if importlib.util.find_spec(engine) is None:
        pytest.skip(f"{engine} is not installed")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    out = tmp_path / "out.gsd"
    env = child_environment()
    command = [sys.executable, "-c", RUNNER, str(out), str(scratch), name]
    process = subprocess.Popen(command, env=env)
    deadline = time.time() + 300
    while time.time() < deadline and process.poll() is None:
        found = load_checkpoint(scratch) if (scratch / RECORD_FILE).exists() else None
        if found is not None and found[0].frames_written >= 10:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not out.exists(), "the run finished before it could be killed; lengthen it"
    record, _ = load_checkpoint(scratch)
    assert 10 <= record.frames_written < 61
    subprocess.run(command, env=env, check=True)
    steps = [frame.step for frame in read_frames(out)]
    expected = SimulationSettings(steps=6000, equilibration_steps=200, write_period=100, timestep=0.005, kT=1.0,
                                  wca_cutoff=1.0, thermostat_tau=0.5, bond_k=100.0, bond_r0=1.0, min_ions=1)
    assert steps == frame_schedule(expected)


HEALING_RUNNER = RUNNER.replace("steps=6000", "steps=3000")


def _bad_record(scratch: Path) -> None:
    (scratch / RECORD_FILE).write_text('{"frames_written": 12, "ste')


def _truncated_trajectory(scratch: Path) -> None:
    path = scratch / SCRATCH_TRAJECTORY
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _empty_state(scratch: Path) -> None:
    next(scratch.glob("state-*.bin")).write_bytes(b"")


def _flipped_state(scratch: Path) -> None:
    state = next(scratch.glob("state-*.bin"))
    data = bytearray(state.read_bytes())
    data[len(data) // 2] ^= 0x01
    state.write_bytes(bytes(data))


def test_a_damaged_checkpoint_is_set_aside_and_the_run_starts_again(tmp_path: Path) -> None:
    """Four damages to a killed run's scratch state (record, partial trajectory, empty or bit-flipped
    state): each resumed run notices, keeps the pieces, notes it, starts again, and writes the
    uninterrupted run's trajectory bit for bit."""
    if importlib.util.find_spec("openmm") is None:
        pytest.skip("openmm is not installed")
    env = child_environment()
    reference = tmp_path / "reference.gsd"
    reference_scratch = tmp_path / "reference-scratch"
    reference_scratch.mkdir()
    subprocess.run([sys.executable, "-c", HEALING_RUNNER, str(reference), str(reference_scratch), "openmm"],
                   env=env, check=True)
    killed = tmp_path / "killed"
    killed.mkdir()
    process = subprocess.Popen([sys.executable, "-c", HEALING_RUNNER, str(tmp_path / "never.gsd"), str(killed),
                                "openmm"], env=env)
    deadline = time.time() + 300
    while time.time() < deadline and process.poll() is None:
        found = load_checkpoint(killed) if (killed / RECORD_FILE).exists() else None
        if found is not None and found[0].frames_written >= 10:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (tmp_path / "never.gsd").exists(), "the run finished before it could be killed; lengthen it"
    expected = [(frame.step, frame.positions) for frame in read_frames(reference)]
    for damage in (_bad_record, _truncated_trajectory, _empty_state, _flipped_state):
        scratch = tmp_path / damage.__name__
        shutil.copytree(killed, scratch)
        damage(scratch)
        with pytest.raises(Exception) if damage is not _truncated_trajectory else contextlib.nullcontext():
            load_checkpoint(scratch)
        out = tmp_path / f"{damage.__name__}.gsd"
        subprocess.run([sys.executable, "-c", HEALING_RUNNER, str(out), str(scratch), "openmm"], env=env, check=True)
        frames = [(frame.step, frame.positions) for frame in read_frames(out)]
        assert [step for step, _ in frames] == [step for step, _ in expected]
        assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(frames, expected)), damage.__name__
        notes = read_notes(scratch)
        assert len(notes) == 1 and "restarted from the beginning" in notes[0], (damage.__name__, notes)
        assert list(scratch.glob("corrupt-*/*")), damage.__name__


def _kill_after_checkpoint(command: list[str], env: dict[str, str], scratch: Path, frames: int) -> int:
    """Start ``command``, SIGKILL it once a checkpoint of at least ``frames`` frames exists; its frame count."""
    process = subprocess.Popen(command, env=env)
    deadline = time.time() + 300
    while time.time() < deadline and process.poll() is None:
        try:
            found = load_checkpoint(scratch) if (scratch / RECORD_FILE).exists() else None
        except CorruptCheckpointError:   # the live run replaced the state between our reading its record and
            continue                     # its state (it removes the old one): read again; after the kill, strict
        if found is not None and found[0].frames_written >= frames:
            break
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    return load_checkpoint(scratch)[0].frames_written


@pytest.mark.parametrize("engine", ["openmm", "hoomd", "lammps"])
def test_a_twice_killed_run_is_bit_identical_to_an_uninterrupted_one(tmp_path: Path, engine: str) -> None:
    """Killed after its 2nd and again after its 4th checkpoint, resumed each time in a new process: every
    frame equals the uninterrupted run's bit for bit (checkpoints are reloaded in place; OpenMM with
    DeterministicForces, HOOMD with its thermostat variables in the checkpoint)."""
    if importlib.util.find_spec(engine) is None:
        pytest.skip(f"{engine} is not installed")
    env = child_environment()
    reference, scratch = tmp_path / "reference.gsd", tmp_path / "reference-scratch"
    scratch.mkdir()
    subprocess.run([sys.executable, "-c", HEALING_RUNNER, str(reference), str(scratch), engine], env=env,
                   check=True)
    out, scratch = tmp_path / "resumed.gsd", tmp_path / "resumed-scratch"
    scratch.mkdir()
    command = [sys.executable, "-c", HEALING_RUNNER, str(out), str(scratch), engine]
    first = _kill_after_checkpoint(command, env, scratch, 10)
    second = _kill_after_checkpoint(command, env, scratch, first + 10)
    assert not out.exists() and 10 <= first < second < 31, (first, second)
    subprocess.run(command, env=env, check=True)
    expected, resumed = list(read_frames(reference)), list(read_frames(out))
    assert [f.step for f in resumed] == [f.step for f in expected]
    assert all(np.array_equal(a.positions, b.positions) for a, b in zip(resumed, expected))
