"""The simulate stage: one replica of one system through a simulator plugin."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.datatypes import SimulationJob, SimulationSettings, SystemSpec, TaskContext
from core.layout import FINAL_STATE_FILE, TRAJECTORY_FILE
from core.registry import get_registry
from core.trajectory import frame_count
from core.units import Unit



def run(unit: Unit, inputs: dict[str, Path], output_dir: Path, context: TaskContext) -> dict[str, Any]:
    payload = unit.payload
    plugin = get_registry().instantiate("simulator", payload["plugin"], payload["options"])
    job = SimulationJob(system=SystemSpec(**payload["system"]), replica=payload["replica"], seed=payload["seed"],
                        settings=SimulationSettings(**payload["settings"]),
                        trajectory_path=output_dir / TRAJECTORY_FILE, start_step=payload.get("start_step", 0),
                        continue_from=inputs[payload["continues"]] / FINAL_STATE_FILE if "continues" in payload
                        else None)
    meta = plugin.simulate(job, context) or {}
    if not job.trajectory_path.is_file():
        raise RuntimeError(f"simulator {payload['plugin']!r} returned without writing {TRAJECTORY_FILE}")
    return {"simulator": meta, "frames": frame_count(job.trajectory_path)}
