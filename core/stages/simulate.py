"""The simulate stage: one replica of one system through a simulator plugin."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.datatypes import SimulationJob, TaskContext
from core.storage.layout import FINAL_STATE_FILE, TRAJECTORY_FILE
from core.execution.tasks import SimulateTask
from core.md.trajectory import frame_count


def run(task: SimulateTask, inputs: dict[str, Path], output_dir: Path, context: TaskContext) -> dict[str, Any]:
    """Simulate one replica (or extend one) into ``output_dir``'s trajectory."""
    plugin = task.plugin.instantiate()
    job = SimulationJob(system=task.spec, replica=task.replica, seed=task.seed, settings=task.settings,
                        trajectory_path=output_dir / TRAJECTORY_FILE, start_step=task.start_step,
                        continue_from=inputs[task.continues] / FINAL_STATE_FILE if task.continues else None)
    meta = plugin.simulate(job, context) or {}
    if not job.trajectory_path.is_file():
        raise RuntimeError(f"simulator {task.plugin.name!r} returned without writing {TRAJECTORY_FILE}")
    return {"simulator": meta, "frames": frame_count(job.trajectory_path)}
