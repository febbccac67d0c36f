"""Restart checkpoints of a simulation, kept in its unit's scratch directory.

A checkpoint is an engine's opaque state (bytes) plus a record of how many
trajectory frames had been written, durably, when it was taken. The state is
written first under a new name, then ``checkpoint.json`` (through a rename)
points at it, so a kill at any moment leaves either the old or the new
checkpoint complete.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.storage.artifacts import atomic_write_text

RECORD_FILE = "checkpoint.json"
#: Notes for the unit's outcome, one per line, left in the scratch directory by code that runs inside a
#: stage (the runner adds them to the unit's notes).
NOTES_FILE = "notes.txt"


class CorruptCheckpointError(Exception):
    """A checkpoint record or state that cannot be read, or whose state fails its checksum."""


@dataclass(frozen=True)
class CheckpointRecord:
    """What a checkpoint says about the run it restarts.

    Attributes
    ----------
    frames_written: trajectory frames complete on disk when it was taken.
    step: production step of the saved state (that of the last written frame).
    state_file: name of the engine-state file beside the record.
    engine: free-form engine facts (name, version, platform) to check on load.
    state_sha256: SHA-256 of the state file ("" in records written before it was kept).
    """

    frames_written: int
    step: int
    state_file: str
    engine: dict[str, Any] = field(default_factory=dict)
    state_sha256: str = ""


def save_checkpoint(directory: Path, frames_written: int, step: int, state: bytes,
                    engine: dict[str, Any]) -> CheckpointRecord:
    """Write ``state`` and its record atomically; older state files are removed."""
    name = f"state-{frames_written:09d}.bin"
    temporary = directory / (name + ".partial")
    temporary.write_bytes(state)
    temporary.replace(directory / name)
    record = CheckpointRecord(frames_written, step, name, dict(engine), hashlib.sha256(state).hexdigest())
    atomic_write_text(directory / RECORD_FILE, json.dumps(asdict(record), indent=1))
    for old in directory.glob("state-*.bin"):
        if old.name != name:
            old.unlink(missing_ok=True)
    return record


def load_checkpoint(directory: Path) -> tuple[CheckpointRecord, bytes] | None:
    """The latest complete checkpoint in ``directory``, or ``None`` if there is none.

    Raises :class:`CorruptCheckpointError` if the record is unreadable or malformed, or the state file
    is missing, empty or fails its checksum.
    """
    path = directory / RECORD_FILE
    if not path.is_file():
        return None
    try:
        fields = json.loads(path.read_text(encoding="utf-8"))
        record = CheckpointRecord(**fields)
        if not (isinstance(record.frames_written, int) and isinstance(record.step, int)
                and isinstance(record.state_file, str) and "/" not in record.state_file
                and record.frames_written >= 0 and record.step >= 0):
            raise ValueError("fields of the wrong type or sign")
    except (OSError, UnicodeDecodeError, ValueError, TypeError) as exc:
        raise CorruptCheckpointError(f"{path}: unreadable checkpoint record ({exc})") from exc
    state_path = directory / record.state_file
    if not state_path.is_file():
        raise CorruptCheckpointError(f"{path}: its state file {record.state_file} is missing")
    state = state_path.read_bytes()
    if not state:
        raise CorruptCheckpointError(f"{state_path}: empty checkpoint state")
    if record.state_sha256 and hashlib.sha256(state).hexdigest() != record.state_sha256:
        raise CorruptCheckpointError(f"{state_path}: checkpoint state fails its checksum")
    return record, state


def quarantine_checkpoint(directory: Path, also: tuple[Path, ...] = ()) -> Path:
    """Move the checkpoint files (and ``also``) into ``directory/corrupt-<time>/``; return that folder."""
    target = directory / f"corrupt-{time.time_ns()}"
    target.mkdir()
    for path in (directory / RECORD_FILE, *directory.glob("state-*.bin"), *also):
        if path.exists():
            path.rename(target / path.name)
    return target


def add_note(directory: Path, note: str) -> None:
    """Append ``note`` to the scratch directory's notes for the unit's outcome."""
    with open(directory / NOTES_FILE, "a", encoding="utf-8") as handle:
        handle.write(note.replace("\n", " ") + "\n")


def read_notes(directory: Path) -> list[str]:
    """The notes left in a scratch directory (none if it has no notes file)."""
    path = directory / NOTES_FILE
    if not path.is_file():
        return []
    return [line for line in path.read_text(encoding="utf-8", errors="replace").splitlines() if line]


def discard_checkpoint(directory: Path) -> None:
    """Remove every checkpoint file (a run that must start again)."""
    (directory / RECORD_FILE).unlink(missing_ok=True)
    for old in directory.glob("state-*.bin"):
        old.unlink(missing_ok=True)
