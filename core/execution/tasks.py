"""Tasks, the units of work the planner makes and the backends run, and their outcomes.

One frozen, typed class per pipeline operation. A task's fields are everything its stage function needs;
its cache :attr:`Task.key` is derived from those fields (:meth:`Task.identity`, the fields that decide its
output) and from the keys of the tasks it reads (``deps``), so what a task is told and what it is cached
under cannot disagree. Backends ship tasks to workers as they are (they pickle), never as dicts.

A recipe key can be followed through typed fields only, e.g. ``bjerrum_length``: ``SystemGroup`` (the
YAML) → :class:`core.datatypes.SystemSpec` (``expand_systems``) → :attr:`SimulateTask.spec` →
:attr:`core.datatypes.SimulationJob.system` → the simulator plugin.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from core.storage.artifacts import cache_key
from core.datatypes import SimulationSettings, SystemSpec
from core.learn.splits import Member
from core.recipe.loader import StagePlugin
from core.recipe.schema import SnapshotConfig, TransportConfig

#: Pipeline stages in order; ``learn`` covers ensemble members and the ensemble prediction.
STAGES = ("simulate", "transport", "featurize", "learn", "analyze")

#: Bumped when core's featurize or learn code changes its outputs; part of keys.
FEATURIZE_VERSION = "1"
LEARN_VERSION = "4"
#: Bumped when the ensemble's prediction alone changes what it writes (members are kept): 2 adds k_cross.
PREDICT_VERSION = "2"


@dataclass(frozen=True, eq=False)
class Task:
    """What every task has.

    label: readable name, unique within its operation; used in paths (no slashes).
    system: the system the task is about, if one.
    deps: keys of the tasks whose artifacts it reads.
    """

    label: str
    system: str | None
    deps: tuple[str, ...]

    #: The pipeline stage (one of :data:`STAGES`) and the operation within it (e.g. ``member``, ``predict``).
    stage: ClassVar[str] = ""
    operation: ClassVar[str] = ""

    def identity(self) -> dict[str, Any]:
        """The fields that decide this task's output (upstream outputs enter through ``deps``)."""
        raise NotImplementedError

    @functools.cached_property
    def key(self) -> str:
        """The cache key: a hash of the operation, :meth:`identity` and the upstream keys (computed once)."""
        return cache_key({"stage": self.operation, "identity": self.identity(), "deps": list(self.deps)})

    @property
    def plugin_reference(self) -> dict[str, str] | None:
        """Which plugin (kind, name, version, package) the task runs, for the manifest; None for core's own."""
        plugin: StagePlugin | None = getattr(self, "plugin", None)
        return plugin.reference() if plugin is not None else None


@dataclass(frozen=True, eq=False)
class SimulateTask(Task):
    """One replica of one system through a simulator; or, with ``continues``, an extension of one.

    start_step: the production step an extension starts from (0 for a fresh replica).
    continues: the key of the simulate task whose final state an extension continues from.
    """

    plugin: StagePlugin
    spec: SystemSpec
    replica: int
    seed: int
    settings: SimulationSettings
    start_step: int = 0
    continues: str | None = None

    stage: ClassVar[str] = "simulate"
    operation: ClassVar[str] = "simulate"

    def identity(self) -> dict[str, Any]:
        extension = {"start_step": self.start_step} if self.continues is not None else {}
        return {"plugin": self.plugin.identity(), "system": self.spec.physical_parameters(), "replica": self.replica,
                "seed": self.seed, "settings": asdict(self.settings), **extension}


@dataclass(frozen=True, eq=False)
class TransportTask(Task):
    """A system's transport from all its replicas; ``segments`` lists each replica's simulate keys in order
    (a fresh run, then its extensions)."""

    spec: SystemSpec
    config: TransportConfig
    kT: float
    segments: tuple[tuple[str, ...], ...]

    stage: ClassVar[str] = "transport"
    operation: ClassVar[str] = "transport"

    def identity(self) -> dict[str, Any]:
        from core.transport.onsager import TRANSPORT_VERSION

        return {"version": TRANSPORT_VERSION, "config": self.config.model_dump(mode="json"),
                "system": self.spec.physical_parameters()}


@dataclass(frozen=True, eq=False)
class FeaturizeTask(Task):
    """A system's feature store from the first segment of each replica (``deps``, in replica order)."""

    plugin: StagePlugin
    snapshots: SnapshotConfig

    stage: ClassVar[str] = "featurize"
    operation: ClassVar[str] = "featurize"

    def identity(self) -> dict[str, Any]:
        return {"version": FEATURIZE_VERSION, "plugin": self.plugin.identity(),
                "snapshots": self.snapshots.model_dump(mode="json")}


@dataclass(frozen=True)
class LearnSettings:
    """How labels and bonded ions enter learning (the recipe's ``model.bonded_ions``, ``min_relative_std`` and
    ``labels``: ``system-means``, ``attribution`` or ``both``)."""

    bonded_ions: str
    min_relative_std: float
    labels: str = "system-means"


@dataclass(frozen=True, eq=False)
class MemberTask(Task):
    """One ensemble member trained on its split; ``stores`` and ``transport`` map its systems to task keys."""

    plugin: StagePlugin
    learn: LearnSettings
    member: Member
    stores: dict[str, str] = field(default_factory=dict)
    transport: dict[str, str] = field(default_factory=dict)

    stage: ClassVar[str] = "learn"
    operation: ClassVar[str] = "member"

    def identity(self) -> dict[str, Any]:
        return {"version": LEARN_VERSION, "plugin": self.plugin.identity(), "learn": asdict(self.learn),
                "member": asdict(self.member)}


@dataclass(frozen=True)
class OuterFold:
    """Systems held out of an outer fold, and the keys of the members that never saw them."""

    systems: tuple[str, ...]
    members: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class PredictTask(Task):
    """The ensemble's prediction of every system: local k, system means, outer-fold predictions, metrics.

    members: keys of the main ensemble's members. roles: system -> train, test or external.
    variant: which descriptor and model an ablation compares (written beside its predictions).
    """

    plugin: StagePlugin
    learn: LearnSettings
    members: tuple[str, ...]
    outer: tuple[OuterFold, ...]
    roles: dict[str, str]
    stores: dict[str, str]
    transport: dict[str, str]
    variant: dict[str, Any] = field(default_factory=dict)

    stage: ClassVar[str] = "learn"
    operation: ClassVar[str] = "predict"

    def identity(self) -> dict[str, Any]:
        return {"version": LEARN_VERSION, "predict": PREDICT_VERSION, "plugin": self.plugin.identity(),
                "learn": asdict(self.learn), "roles": self.roles}


@dataclass(frozen=True, eq=False)
class AnalyzeTask(Task):
    """One analysis over everything the run produced; the mappings give each input's task key."""

    plugin: StagePlugin
    systems: tuple[SystemSpec, ...]
    transport: dict[str, str]
    stores: dict[str, str]
    predict: str | None
    trajectories: dict[str, tuple[str, ...]]

    stage: ClassVar[str] = "analyze"
    operation: ClassVar[str] = "analyze"

    def identity(self) -> dict[str, Any]:
        return {"plugin": self.plugin.identity()}


@dataclass
class TaskOutcome:
    """What became of a task. ``status`` is done, cached, failed or skipped."""

    key: str
    stage: str
    operation: str
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
