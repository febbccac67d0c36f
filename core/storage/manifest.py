"""``manifest.json``: what the run planned and what became of every artifact."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from core.storage.artifacts import atomic_write_text
from core.errors import UserError
from core.storage.layout import MANIFEST_FILE
from core.execution.tasks import TaskOutcome, Task



class Manifest:
    """Every planned task with its key, inputs, plugin, checksum, wall time and status.

    Written atomically after each change, so an interrupted run leaves a
    readable manifest behind.
    """

    def __init__(self, workdir: Path, recipe: dict[str, Any]) -> None:
        self.path = Path(workdir) / MANIFEST_FILE
        self.data: dict[str, Any] = {"recipe": recipe, "started": time.time(), "updated": time.time(),
                                     "artifacts": {}}

    def plan(self, tasks: list[Task]) -> None:
        for task in tasks:
            self.data["artifacts"][task.key] = {
                "key": task.key, "stage": task.stage, "step": task.operation, "label": task.label,
                "system": task.system, "inputs": list(task.deps), "plugin": task.plugin_reference,
                "status": "pending", "path": None, "checksum": None, "wall_time": None, "error": None}
        self.write()

    def record(self, outcome: TaskOutcome, workdir: Path) -> None:
        entry = self.data["artifacts"].setdefault(outcome.key, {"key": outcome.key})
        entry.update({"status": outcome.status, "wall_time": outcome.wall_time, "error": outcome.error,
                      "checksum": outcome.checksum, "notes": outcome.notes,
                      "path": str(Path(outcome.path).relative_to(workdir)) if outcome.path else None})
        self.data["updated"] = time.time()
        self.write()

    def write(self) -> None:
        atomic_write_text(self.path, json.dumps(self.data, indent=1, sort_keys=True))


def read_manifest(workdir: Path) -> dict[str, Any]:
    """The work directory's manifest; a :class:`UserError` if it is unreadable or not a manifest."""
    path = Path(workdir) / MANIFEST_FILE
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{path}: unreadable ({exc}); expected the manifest localcond writes") from exc
    if not isinstance(manifest, dict) or not isinstance(manifest.get("artifacts"), dict) \
            or not all(isinstance(entry, dict) for entry in manifest["artifacts"].values()):
        raise UserError(f"{path}: not a localcond manifest (expected an object with an 'artifacts' object)")
    return manifest
