"""Every simulator plugin: killed after a checkpoint, resumed, the trajectory has exactly the scheduled frames."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.checkpoints import RECORD_FILE, load_checkpoint
from core.datatypes import SimulationSettings
from core.electrolyte import frame_schedule
from core.trajectory import read_frames

RUNNER = """
import sys
from pathlib import Path
from core.datatypes import SimulationJob, SimulationSettings, SystemSpec, TaskContext
from core.registry import get_registry
out, scratch, name = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
system = SystemSpec("c0.05_lB5", 0.05, 5.0, 0.0, 500, 0.8, 2, 11)
settings = SimulationSettings(steps=6000, equilibration_steps=200, write_period=100, timestep=0.005, kT=1.0,
                              wca_cutoff=2 ** (1 / 6), thermostat_tau=0.5, bond_k=100.0, bond_r0=1.0, min_ions=1)
job = SimulationJob(system, 0, 1, settings, out)
plugin = get_registry().instantiate("simulator", name, {"checkpoint_frames": 5})
plugin.simulate(job, TaskContext(1, scratch, "resume"))
"""


@pytest.mark.parametrize(("name", "engine"), [("openmm", "openmm"), ("hoomd", "hoomd")])
def test_killed_run_resumes_with_exactly_the_scheduled_frames(tmp_path: Path, name: str, engine: str) -> None:
    if importlib.util.find_spec(engine) is None:
        pytest.skip(f"{engine} is not installed")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    out = tmp_path / "out.gsd"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
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
