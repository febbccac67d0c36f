"""Running a resolved recipe: plan, execute on the chosen backend, record, gather, report."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from rich.console import Console

from core.artifacts import ArtifactStore, atomic_write_text
from core.errors import UserError
from core.execution import ExecutionSettings
from core.executor import open_backend
from core.manifest import Manifest
from core.outputs import write_run_outputs
from core.planner import Plan, build_plan
from core.progress import StageProgress
from core.recipe.loader import ResolvedRecipe
from core.report import write_report
from core.units import STAGES, TaskOutcome, Unit

LOCK_FILE = ".localcond.lock"


@dataclass
class RunSummary:
    """What a run did: every outcome, in completion order."""

    workdir: Path
    outcomes: list[TaskOutcome] = field(default_factory=list)

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


def _upstream(units: list[Unit], keys: set[str]) -> set[str]:
    by_key = {u.key: u for u in units}
    found, stack = set(), list(keys)
    while stack:
        for dep in by_key[stack.pop()].deps:
            if dep not in found:
                found.add(dep)
                stack.append(dep)
    return found


def _downstream(units: list[Unit], keys: set[str]) -> set[str]:
    found = set(keys)
    for unit in units:  # units are in dependency order
        if any(dep in found for dep in unit.deps):
            found.add(unit.key)
    return found


def select_units(plan: Plan, only: str | None, force: str | None) -> tuple[list[Unit], set[str], set[str]]:
    """(units to submit, keys to recompute, keys only to reuse) for ``--only`` and ``--force``."""
    for name, value in (("--only", only), ("--force", force)):
        if value is not None and value not in STAGES:
            raise UserError(f"unknown stage {value!r}; expected one of: {', '.join(STAGES)}", path=name)
    units = plan.units
    check_only: set[str] = set()
    if only is not None:
        chosen = {u.key for u in units if u.stage == only}
        check_only = _upstream(units, chosen) - chosen
        units = [u for u in units if u.key in chosen | check_only]
    forced = _downstream(plan.units, {u.key for u in plan.units if u.stage == force}) if force else set()
    return units, forced & {u.key for u in units}, check_only


def run_recipe(resolved: ResolvedRecipe, workdir: Path, *, only: str | None = None, force: str | None = None,
               console: Console | None = None) -> RunSummary:
    """Run (or resume) the pipeline of ``resolved`` in ``workdir``."""
    console = console or Console(stderr=True)
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    summary = RunSummary(workdir)
    with workdir_lock(workdir):
        removed = ArtifactStore(workdir).remove_stale_partials()
        if removed:
            console.print(f"removed {removed} partial output(s) left by an interrupted run")
        plan = build_plan(resolved)
        units, forced, check_only = select_units(plan, only, force)
        recipe_dump = resolved.recipe.model_dump(mode="json")
        atomic_write_text(workdir / "recipe.yaml", yaml.safe_dump(recipe_dump, sort_keys=False))
        manifest = Manifest(workdir, recipe_dump)
        manifest.plan(units)
        for note in plan.split.notes if plan.split else ():
            console.print(f"note: {note}")

        def record(outcome: TaskOutcome) -> None:
            summary.outcomes.append(outcome)
            manifest.record(outcome, workdir)
            progress.advance(outcome)
            if outcome.status == "failed":
                where = f" (system {outcome.system})" if outcome.system else ""
                console.print(f"[red]failed[/red] {outcome.step} {outcome.label}{where}: {outcome.error}")

        with open_backend(resolved.recipe.executor) as (backend, threads):
            settings = ExecutionSettings(str(workdir), threads, frozenset(forced), frozenset(check_only))
            with StageProgress(units, console) as progress:
                backend.run(units, settings, record)
        write_run_outputs(workdir, summary.outcomes)
        write_report(workdir, resolved, summary.outcomes)
    return summary
