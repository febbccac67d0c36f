"""How well ``validate --cost`` predicts a run: the estimate, then the run itself, per stage.

    python benchmarks/cost_prediction.py recipes/quickstart.yaml --workdir /tmp/qs-cost

Calibrates (or reads the cached calibration), prints the predicted core-seconds per stage, runs the recipe
from nothing in ``--workdir`` on its own executor, and prints one table: predicted and measured core-seconds
per stage (measured: the manifest's task wall times × threads per task) and their ratio, then the same for
the wall time. Run it on a quiet machine: the calibration and the run are timed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("recipe", type=Path)
    parser.add_argument("--workdir", type=Path, required=True, help="emptied, then the run's work directory")
    args = parser.parse_args()

    from core.execution.backends import layout
    from core.execution.cost import calibrate, estimate, executor_cores
    from core.execution.pipeline import run_recipe
    from core.recipe.loader import load_recipe
    from core.storage.layout import MANIFEST_FILE

    console = Console()
    resolved = load_recipe(args.recipe)
    plan = layout(resolved.recipe.executor)
    cores, _ = executor_cores(resolved.recipe.executor)
    rates, facts = calibrate(resolved, progress=console.print)
    predicted = estimate(resolved, rates, cores, calibrated_with=facts.get("simulator"))
    shutil.rmtree(args.workdir, ignore_errors=True)
    started = time.perf_counter()
    run_recipe(resolved, args.workdir)
    wall = time.perf_counter() - started
    measured: dict[str, float] = {}
    for entry in json.loads((args.workdir / MANIFEST_FILE).read_text())["artifacts"].values():
        measured[entry["stage"]] = measured.get(entry["stage"], 0.0) + entry.get("wall_time", 0.0) * plan.threads_per_task
    table = Table(title=f"{resolved.name}: predicted against measured core-seconds ({cores} cores)")
    for column in ("stage", "predicted", "measured", "ratio"):
        table.add_column(column, justify="left" if column == "stage" else "right")
    for stage in predicted.stages:
        actual = measured.get(stage.stage, 0.0)
        table.add_row(stage.stage, f"{stage.core_seconds:.0f}", f"{actual:.0f}",
                      f"{stage.core_seconds / actual:.2f}" if actual else "")
    total = sum(measured.values())
    table.add_row("total", f"{predicted.core_seconds:.0f}", f"{total:.0f}", f"{predicted.core_seconds / total:.2f}")
    table.add_row("wall (s)", f"{predicted.wall_seconds:.0f}", f"{wall:.0f}", f"{predicted.wall_seconds / wall:.2f}")
    console.print(table)
    console.print(f"calibration: {'cached' if facts.get('cached') else 'measured now'} ({facts.get('directory')})")


if __name__ == "__main__":
    main()
