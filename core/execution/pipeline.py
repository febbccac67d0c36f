"""Running a resolved recipe: plan, execute on the chosen backend, record, gather, report."""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml
from rich.console import Console

from core.storage.artifacts import ArtifactStore, atomic_write_text
from core.errors import UserError
from core.execution.run_task import RunSettings
from core.execution.backends import open_backend
from core.json_values import finite
from core.storage.layout import LOCK_FILE, PRECISION_FILE, RECIPE_FILE, read_transport
from core.storage.manifest import Manifest
from core.storage.outputs import write_run_outputs
from core.execution.planner import Plan, build_plan
from core.execution.progress import StageProgress
from core.recipe.loader import ResolvedRecipe
from core.analysis.report import write_report
from core.execution.tasks import STAGES, TaskOutcome, Task



@dataclass
class RunSummary:
    """What a run did: every outcome, in completion order."""

    workdir: Path
    outcomes: list[TaskOutcome] = field(default_factory=list)
    #: Systems learning went on without (``model.on_failed_systems: skip``), in grid order.
    left_out_systems: list[str] = field(default_factory=list)
    #: Keys of tasks that ``--only`` reuses where done but does not need (those after the stage, and what
    #: only they depend on): skipped, they are not a failure of the run.
    reuse_only: set[str] = field(default_factory=set)

    @property
    def missing(self) -> list[TaskOutcome]:
        """Skipped tasks the run needed (not those it only reuses)."""
        return [o for o in self.outcomes if o.status == "skipped" and o.key not in self.reuse_only]

    @property
    def not_computed(self) -> list[TaskOutcome]:
        """Skipped tasks that ``--only`` would only have reused."""
        return [o for o in self.outcomes if o.status == "skipped" and o.key in self.reuse_only]

    @property
    def failed(self) -> list[TaskOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def not_ok(self) -> list[TaskOutcome]:
        return [o for o in self.outcomes if not o.ok]


@contextlib.contextmanager
def workdir_lock(workdir: Path) -> Iterator[None]:
    """One run per work directory at a time."""
    handle = open(workdir / LOCK_FILE, "w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise UserError("another run is using this work directory", source=str(workdir)) from None
    try:
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def _upstream(tasks: list[Task], keys: set[str]) -> set[str]:
    by_key = {u.key: u for u in tasks}
    found, stack = set(), list(keys)
    while stack:
        for dep in by_key[stack.pop()].deps:
            if dep not in found:
                found.add(dep)
                stack.append(dep)
    return found


def _downstream(tasks: list[Task], keys: set[str]) -> set[str]:
    found = set(keys)
    for task in tasks:  # tasks are in dependency order
        if any(dep in found for dep in task.deps):
            found.add(task.key)
    return found


def reuse_only_keys(plan: Plan, only: str | None) -> set[str]:
    """The tasks ``--only`` includes to reuse, not because the stage needs them: those after it, and what
    only they depend on."""
    if only is None:
        return set()
    chosen = {u.key for u in plan.tasks if u.stage == only}
    later = _downstream(plan.tasks, chosen) - chosen
    return (later | _upstream(plan.tasks, later)) - chosen - _upstream(plan.tasks, chosen)


def select_tasks(plan: Plan, only: str | None, force: str | None) -> tuple[list[Task], set[str], set[str]]:
    """(tasks to submit, keys to recompute, keys only to reuse) for ``--only`` and ``--force``.

    With ``--only STAGE`` the stage's tasks are computed; the tasks upstream of them must be done already, and
    those downstream are reused where done and valid, never computed: so the run's tables and report still
    show every stage whose results hold for the current plan (a transport stage recomputed under a new
    version changes the keys of everything after it, whose results then show as not computed)."""
    for name, value in (("--only", only), ("--force", force)):
        if value is not None and value not in STAGES:
            raise UserError(f"unknown stage {value!r}; expected one of: {', '.join(STAGES)}", path=name)
    tasks = plan.tasks
    check_only: set[str] = set()
    if only is not None:
        chosen = {u.key for u in tasks if u.stage == only}
        later = _downstream(tasks, chosen) - chosen
        check_only = (_upstream(tasks, chosen | later) | later) - chosen
    forced = _downstream(plan.tasks, {u.key for u in plan.tasks if u.stage == force}) if force else set()
    return tasks, forced & {u.key for u in tasks}, check_only




class PipelineRun:
    """One run of a resolved recipe in a work directory, on an open backend: the plan it executes, and the
    re-planning that simulation rounds (``simulation.precision``) and left-out systems
    (``model.on_failed_systems: skip``) ask for. Every outcome goes to the manifest and the progress bars;
    those of the final plan also to :attr:`summary`.

    Made by :func:`run_recipe`, which holds the work directory's lock; :meth:`run` opens the backend and runs
    the plan, once.
    """

    def __init__(self, resolved: ResolvedRecipe, workdir: Path, only: str | None, force: str | None,
                 console: Console, manifest: Manifest, summary: RunSummary, worker_plugins: tuple = ()) -> None:
        self.resolved = resolved
        self.worker_plugins = worker_plugins
        self.workdir = workdir
        self.only = only
        self.force = force
        self.console = console
        self.manifest = manifest
        self.summary = summary
        self._bars: list[StageProgress] = []
        self._backend = None
        self._threads = 1

    # -- recording -----------------------------------------------------------------------------------
    def note(self, outcome: TaskOutcome) -> None:
        """Manifest, progress bar and failure message of one outcome."""
        self.manifest.record(outcome, self.workdir)
        self._bars[-1].advance(outcome)
        if outcome.status == "failed":
            where = f" (system {outcome.system})" if outcome.system else ""
            self.console.print(f"[red]failed[/red] {outcome.operation} {outcome.label}{where}: {outcome.error}")

    def record(self, outcome: TaskOutcome) -> None:
        """An outcome of the final plan: noted, and kept in the summary."""
        self.summary.outcomes.append(outcome)
        self.note(outcome)

    def execute(self, tasks: list[Task], forced: set[str], check_only: set[str], callback) -> None:
        """Run ``tasks`` on the open backend with a progress bar; ``callback(outcome)`` for each."""
        settings = RunSettings(str(self.workdir), self._threads, frozenset(forced), frozenset(check_only))
        with StageProgress(tasks, self.console) as bar:
            self._bars.append(bar)
            self._backend.run(tasks, settings, callback)

    # -- the run -------------------------------------------------------------------------------------
    def run(self, plan: Plan) -> None:
        """Execute ``plan`` (re-planned after precision rounds), then learn again without left-out systems."""
        resolved, only = self.resolved, self.only
        tasks, forced, check_only = select_tasks(plan, only, self.force)
        self.summary.reuse_only = reuse_only_keys(plan, only)
        extensions: dict[str, list[int]] = {}
        with open_backend(resolved.recipe.executor, self.workdir, self.console.print,
                          self.worker_plugins) as (self._backend, self._threads):
            if resolved.recipe.simulation.precision is not None and only in (None, "simulate", "transport"):
                extensions, recomputed = self.precision_rounds()
                if extensions:
                    extended = build_plan(resolved, extensions)
                    tasks, forced, check_only = select_tasks(extended, only, self.force)
                    self.summary.reuse_only = reuse_only_keys(extended, only)
                    self.manifest.plan(tasks)
                forced -= recomputed
            self.execute(tasks, forced, check_only, self.record)
            left_out = _systems_without_inputs(resolved, self.summary.outcomes)
            if left_out and resolved.model is not None and resolved.recipe.model.on_failed_systems == "skip" \
                    and only in (None, "learn", "analyze"):
                self.summary.left_out_systems = left_out
                # the first plan's learn and analyze tasks were skipped for want of these systems
                self.summary.outcomes = [o for o in self.summary.outcomes
                                         if not (o.stage in ("learn", "analyze") and o.status == "skipped")]
                self.learn_without(left_out, extensions or None)

    def precision_rounds(self) -> tuple[dict[str, list[int]], set[str]]:
        """Simulate and transport in rounds until every system's Λ meets the precision target or budgets end.

        Returns the extensions the final plan uses, and the keys computed here (so ``--force`` does not
        recompute them again in the final run). Writes ``precision.json`` (every round's errors and decisions).
        """
        from core.execution.precision import next_extensions

        recipe = self.resolved.recipe
        config = recipe.simulation.precision
        replicas = {s.name: s.replicas for s in self.resolved.systems}
        extensions: dict[str, list[int]] = {}
        recomputed: set[str] = set()
        rounds = []
        for index in range(config.max_rounds):
            plan = Plan([u for u in build_plan(self.resolved, extensions).tasks
                         if u.stage in ("simulate", "transport")])
            tasks, forced, check_only = select_tasks(plan, "transport" if self.only == "transport" else None,
                                                     self.force)
            done: list[TaskOutcome] = []

            def keep(outcome: TaskOutcome) -> None:
                done.append(outcome)
                self.note(outcome)

            self.execute(tasks, forced - recomputed, check_only, keep)
            recomputed |= {o.key for o in done if o.status == "done"}
            rows = {o.system: read_transport(Path(o.path)) for o in done
                    if o.operation == "transport" and o.ok and o.path}
            if len(rows) < len(replicas):
                self.console.print("precision: some systems have no transport result; no further rounds")
                break
            extensions_next, found = next_extensions(rows, replicas, extensions, config, recipe.simulation.steps,
                                                     recipe.simulation.write_period, index)
            rounds.append(found)
            met = sum(1 for s in found.systems.values() if s["meets_target"])
            biased = sum(1 for s in found.systems.values() if not s["accurate"])
            self.console.print(
                f"precision round {index}: {met}/{len(rows)} systems at relative error of Λ ≤ "
                f"{config.target_relative_error:g}"
                + (f", {biased} whose label may be biased beyond its error" if config.converged else "")
                + f"; extending {len(found.extended)}"
                + (f"; budget spent for {', '.join(found.budget_exhausted)}" if found.budget_exhausted else ""))
            if extensions_next == extensions:
                break
            extensions = extensions_next
        atomic_write_text(self.workdir / PRECISION_FILE, json.dumps(finite(
            {"target_relative_error": config.target_relative_error, "extensions": extensions,
             "rounds": [asdict(r) for r in rounds]}), indent=1))
        return extensions, recomputed

    def learn_without(self, left_out: list[str], extensions: dict[str, list[int]] | None) -> None:
        """Learn and analyse again on the systems that have all their inputs (``model.on_failed_systems:
        skip``). The split is made again over them; their simulate, transport and featurize tasks are the
        cached ones."""
        survivors = [system for system in self.resolved.systems if system.name not in left_out]
        self.console.print(f"note: learning without {len(left_out)} system(s) that have no transport or features "
                           f"({', '.join(left_out[:5])}{' …' if len(left_out) > 5 else ''}); "
                           "model.on_failed_systems: skip")
        reduced = dataclasses.replace(self.resolved, systems=survivors)
        try:
            plan = build_plan(reduced, extensions)
        except ValueError as exc:  # e.g. too few systems left for the split
            self.console.print(f"[red]cannot learn without them[/red]: {exc}")
            return
        tasks, forced, check_only = select_tasks(plan, self.only, self.force)
        self.manifest.plan(tasks)
        for note in plan.split.notes if plan.split else ():
            self.console.print(f"note: {note}")
        self.execute(tasks, forced, check_only, self.record)


def run_recipe(resolved: ResolvedRecipe, workdir: Path, *, only: str | None = None, force: str | None = None,
               console: Console | None = None, worker_plugins: tuple = ()) -> RunSummary:
    """Run (or resume) the pipeline of ``resolved`` in ``workdir``.

    ``worker_plugins``: ``distributed.WorkerPlugin`` objects every Dask worker of the run installs before its
    first task (the plugin-author kit's runner uses one to give workers the plugins a test registered).
    """
    console = console or Console(stderr=True)
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    summary = RunSummary(workdir)
    with workdir_lock(workdir):
        removed = ArtifactStore(workdir).remove_stale_partials()
        if removed:
            console.print(f"removed {removed} partial output(s) left by an interrupted run")
        plan = build_plan(resolved)
        tasks, _, _ = select_tasks(plan, only, force)
        recipe_dump = resolved.recipe.model_dump(mode="json")
        atomic_write_text(workdir / RECIPE_FILE, yaml.safe_dump(recipe_dump, sort_keys=False))
        manifest = Manifest(workdir, recipe_dump)
        manifest.plan(tasks)
        for note in plan.split.notes if plan.split else ():
            console.print(f"note: {note}")
        try:
            PipelineRun(resolved, workdir, only, force, console, manifest, summary, worker_plugins).run(plan)
        except BaseException:   # Ctrl-C or SIGTERM: the cluster is closed by now; leave no half output behind
            ArtifactStore(workdir).remove_stale_partials()
            raise
        write_run_outputs(workdir, summary.outcomes, [system.name for system in resolved.systems],
                          left_out_systems=summary.left_out_systems)
        write_report(workdir, resolved, summary.outcomes, left_out_systems=summary.left_out_systems)
    return summary


def _systems_without_inputs(resolved: ResolvedRecipe, outcomes: list[TaskOutcome]) -> list[str]:
    """Systems whose transport or features did not come out (in grid order)."""
    missing = {o.system for o in outcomes if o.operation in ("transport", "featurize") and not o.ok and o.system}
    return [system.name for system in resolved.systems if system.name in missing]
