"""Restart checkpoints of a simulation, kept in its unit's scratch directory.

A checkpoint is an engine's opaque state (bytes) plus a record of how many
trajectory frames had been written, durably, when it was taken. The state is
written first under a new name, then ``checkpoint.json`` (through a rename)
points at it, so a kill at any moment leaves either the old or the new
checkpoint complete.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.artifacts import atomic_write_text

RECORD_FILE = "checkpoint.json"


@dataclass(frozen=True)
class CheckpointRecord:
    """What a checkpoint says about the run it restarts.

    Attributes
    ----------
    frames_written: trajectory frames complete on disk when it was taken.
    step: production step of the saved state (that of the last written frame).
    state_file: name of the engine-state file beside the record.
    engine: free-form engine facts (name, version, platform) to check on load.
    """

    frames_written: int
    step: int
    state_file: str
    engine: dict[str, Any] = field(default_factory=dict)


def save_checkpoint(directory: Path, frames_written: int, step: int, state: bytes,
                    engine: dict[str, Any]) -> CheckpointRecord:
    """Write ``state`` and its record atomically; older state files are removed."""
    name = f"state-{frames_written:09d}.bin"
    temporary = directory / (name + ".partial")
    temporary.write_bytes(state)
    temporary.replace(directory / name)
    record = CheckpointRecord(frames_written, step, name, dict(engine))
    atomic_write_text(directory / RECORD_FILE, json.dumps(asdict(record), indent=1))
    for old in directory.glob("state-*.bin"):
        if old.name != name:
            old.unlink(missing_ok=True)
    return record


def load_checkpoint(directory: Path) -> tuple[CheckpointRecord, bytes] | None:
    """The latest complete checkpoint in ``directory``, or ``None``."""
    path = directory / RECORD_FILE
    if not path.is_file():
        return None
    record = CheckpointRecord(**json.loads(path.read_text()))
    state_path = directory / record.state_file
    if not state_path.is_file():
        return None
    return record, state_path.read_bytes()


def discard_checkpoint(directory: Path) -> None:
    """Remove every checkpoint file (a run that must start again)."""
    (directory / RECORD_FILE).unlink(missing_ok=True)
    for old in directory.glob("state-*.bin"):
        old.unlink(missing_ok=True)
