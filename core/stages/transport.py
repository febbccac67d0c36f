"""The transport stage: Onsager coefficients of every replica of one system, and their statistics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from core.datatypes import TaskContext
from core.stages.simulate import TRAJECTORY_FILE
from core.transport.onsager import aggregate_replicas, replica_row, replica_transport
from core.units import Unit

RESULT_FILE = "transport.json"


def run(unit: Unit, inputs: dict[str, Path], output_dir: Path, context: TaskContext) -> dict[str, Any]:
    payload = unit.payload
    config = payload["config"]
    window = tuple(config["fit_window"]) if config["fit_window"] else None
    replicas = [replica_transport(inputs[key] / TRAJECTORY_FILE, kT=payload["kT"], timestep=payload["timestep"],
                                  fit_window=window, slope_tolerance=config["slope_tolerance"],
                                  min_decades=config["min_decades"]) for key in unit.deps]
    system = payload["system"]
    row = {"system": system["name"], "concentration": system["concentration"],
           "bjerrum_length": system["bjerrum_length"], "paired_fraction": system["paired_fraction"],
           "test_only": system["test_only"], **aggregate_replicas(replicas)}
    result = {"system": row, "replicas": [replica_row(r) for r in replicas]}
    (output_dir / RESULT_FILE).write_text(json.dumps(result, indent=1))
    return {"molar_conductivity": row["molar_conductivity"], "diffusive": row["diffusive"]}


def load(artifact: Path) -> dict[str, Any]:
    """The ``{"system": row, "replicas": [rows]}`` result of a transport artifact."""
    return json.loads((artifact / RESULT_FILE).read_text())
