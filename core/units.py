"""Units of work and their outcomes: what the planner makes and the executor runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Pipeline stages in order; ``learn`` covers ensemble members and the ensemble prediction.
STAGES = ("simulate", "transport", "featurize", "learn", "analyze")


@dataclass(frozen=True)
class Unit:
    """One task: a replica's simulation, a system's transport or features, a member, an analysis.

    Attributes
    ----------
    stage: one of :data:`STAGES`.
    step: finer name inside the stage (``member``, ``predict``), else the stage.
    label: readable name, unique within the step; used in paths (no slashes).
    key: cache key: the hash of ``identity`` and the upstream keys.
    system: the system this unit is about, if one.
    deps: keys of the units whose outputs this one reads.
    payload: JSON-able parameters the stage function needs.
    """

    stage: str
    step: str
    label: str
    key: str
    system: str | None
    deps: tuple[str, ...]
    payload: dict[str, Any] = field(hash=False, compare=False)


@dataclass
class TaskOutcome:
    """What became of a unit. ``status`` is done, cached, failed or skipped."""

    key: str
    stage: str
    step: str
    label: str
    system: str | None
    status: str
    path: str | None = None
    checksum: str | None = None
    wall_time: float = 0.0
    error: str | None = None
    traceback: str | None = None
    notes: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status in ("done", "cached")
