"""The analyze stage: one analysis plugin over everything the run produced."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from core.analysis.inputs import AnalysisInputs
from core.datatypes import AnalysisResult, TaskContext
from core.plugin_system.plugin_api import AnalysisPlugin
from core.storage.layout import (ANALYSIS_RESULT_FILE, ATTRIBUTION_FILE, STORE_FILE, TRAJECTORY_FILE, local_conductivity_files,
                          read_metrics_file, read_predictions, read_transport)
from core.execution.tasks import AnalyzeTask



def gather_inputs(task: AnalyzeTask, inputs: dict[str, Path]) -> AnalysisInputs:
    """Build :class:`AnalysisInputs` from the upstream artifacts ``task`` names (``inputs``: key -> artifact)."""
    analysis_inputs = AnalysisInputs(systems=list(task.systems))
    analysis_inputs.transport = [read_transport(inputs[k]) for k in task.transport.values()]
    analysis_inputs.feature_stores = {n: inputs[k] / STORE_FILE for n, k in task.stores.items()}
    analysis_inputs.attributions = {n: inputs[k] / ATTRIBUTION_FILE for n, k in task.transport.items()
                                    if (inputs[k] / ATTRIBUTION_FILE).is_file()}
    analysis_inputs.trajectories = {n: [inputs[k] / TRAJECTORY_FILE for k in keys]
                                    for n, keys in task.trajectories.items()}
    if task.predict:
        artifact = inputs[task.predict]
        analysis_inputs.predictions = read_predictions(artifact)
        analysis_inputs.local_conductivities = local_conductivity_files(artifact)
        analysis_inputs.metrics = read_metrics_file(artifact)
    return analysis_inputs


def run(task: AnalyzeTask, inputs: dict[str, Path], output_dir: Path, context: TaskContext) -> dict[str, Any]:
    """Run the analysis on everything the run produced; a run lacking what it needs skips it with a note."""
    plugin = task.plugin.instantiate()
    assert isinstance(plugin, AnalysisPlugin)
    analysis_inputs = gather_inputs(task, inputs)
    missing = sorted(need for need in plugin.needs if not getattr(analysis_inputs, need))
    if missing:
        result = AnalysisResult(title=task.plugin.name, notes=[f"skipped: the run has no {', '.join(missing)}"])
    else:
        result = plugin.run(analysis_inputs, output_dir)
    for relative in [*result.figures, *result.tables]:
        if not (output_dir / relative).is_file():
            raise FileNotFoundError(f"analysis {task.plugin.name!r} reported {relative} but did not write it")
    (output_dir / ANALYSIS_RESULT_FILE).write_text(json.dumps(asdict(result), indent=1))
    return {"title": result.title, "skipped": bool(missing)}
