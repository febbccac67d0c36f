"""``python -m core show DIR``: what a run has done, what failed, what is missing, and headline numbers."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.table import Table

from core.errors import UserError
from core.storage.layout import MANIFEST_FILE, TRANSPORT_FILE
from core.storage.manifest import read_manifest
from core.storage.outputs import read_metrics
from core.execution.tasks import STAGES


def show_run(workdir: Path, console: Console) -> int:
    """Print the run's status; return 0 when everything planned is done, 1 otherwise."""
    if not (workdir / MANIFEST_FILE).is_file():
        raise UserError(f"no {MANIFEST_FILE}: not a localcond work directory (or nothing has run yet)",
                        source=str(workdir))
    artifacts = read_manifest(workdir)["artifacts"].values()
    table = Table(title=f"run {workdir}")
    for column in ("stage", "done", "failed", "missing", "task seconds"):
        table.add_column(column, justify="right" if column != "stage" else "left")
    complete = True
    for stage in STAGES:
        entries = [a for a in artifacts if a.get("stage") == stage]
        if not entries:
            continue
        status = Counter(a["status"] for a in entries)
        done = status["done"] + status["cached"]
        missing = len(entries) - done - status["failed"]
        complete &= done == len(entries)
        seconds = sum(a.get("wall_time") or 0.0 for a in entries)
        table.add_row(stage, str(done), str(status["failed"]), str(missing), f"{seconds:.1f}")
    console.print(table)
    for entry in artifacts:
        if entry["status"] == "failed":
            where = f" (system {entry['system']})" if entry.get("system") else ""
            console.print(f"failed: {entry.get('operation', entry.get('step'))} {entry['label']}{where}: {entry.get('error')}")
    transport = workdir / TRANSPORT_FILE
    if transport.is_file():
        console.print(f"transport: {len(transport.read_text().splitlines()) - 1} systems in {transport}")
    for split, values in read_metrics(workdir).items():
        console.print(f"{split}: R² = {values['r2']:.3f}, RMSE = {values['rmse']:.4g} "
                      f"over {values['n_systems']} systems")
    return 0 if complete else 1
