"""Running one task: reuse a verified artifact, or compute into a temporary directory and publish it.

:func:`run_task` never raises for a failure of the task itself: it
returns a failed :class:`TaskOutcome` (with the error and traceback), so the
other tasks go on; tasks downstream of a failure are skipped.
"""

from __future__ import annotations

import errno
import os
import shutil
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.storage.artifacts import ArtifactStore, CorruptArtifactError
from core.storage.checkpoints import read_notes
from core.datatypes import TaskContext
from core.stages import analyze, featurize, learn, simulate, transport
from core.execution.threads import limited_threads
from core.execution.tasks import TaskOutcome, Task

StageFunction = Callable[[Task, dict[str, Path], Path, TaskContext], dict[str, Any]]

STAGE_FUNCTIONS: dict[str, StageFunction] = {
    "simulate": simulate.run,
    "transport": transport.run,
    "featurize": featurize.run,
    "member": learn.run_member,
    "predict": learn.run_predict,
    "analyze": analyze.run,
}


@dataclass(frozen=True)
class RunSettings:
    """Per-run settings every task receives.

    Attributes
    ----------
    workdir: the run's work directory.
    threads: threads each task may use.
    force: keys to recompute even when a valid artifact exists.
    check_only: keys that may only be reused, never computed (``--only``).
    """

    workdir: str
    threads: int
    force: frozenset[str] = frozenset()
    check_only: frozenset[str] = frozenset()


#: The error of a task that ``--only`` would have reused but found not done: not computed, not failed.
NOT_COMPUTED_OUTSIDE_ONLY = "not computed yet (outside the --only stage)"


def _outcome(task: Task, status: str, **fields: Any) -> TaskOutcome:
    return TaskOutcome(key=task.key, stage=task.stage, operation=task.operation, label=task.label,
                       system=task.system, status=status, **fields)


def run_task(task: Task, upstream: list[TaskOutcome], settings: RunSettings) -> TaskOutcome:
    """Run ``task`` (in a worker or in-process) and say what became of it."""
    store = ArtifactStore(Path(settings.workdir))
    final = store.final_path(task.operation, task.label, task.key)
    failed_upstream = [o for o in upstream if not o.ok]
    if failed_upstream and task.key in settings.check_only:     # not to be computed here anyway
        return _outcome(task, "skipped", error=NOT_COMPUTED_OUTSIDE_ONLY)
    if failed_upstream:
        names = ", ".join(f"{o.operation} {o.label}" for o in failed_upstream[:3])
        more = f" and {len(failed_upstream) - 3} more" if len(failed_upstream) > 3 else ""
        return _outcome(task, "skipped", error=f"upstream not available: {names}{more}")
    notes: list[str] = []
    if task.key not in settings.force:
        try:
            meta = store.verify(final)
        except CorruptArtifactError as exc:
            moved = store.quarantine(final)
            notes.append(f"recomputed: {exc} (moved to {moved.name})")
            meta = None
        if meta is not None:
            return _outcome(task, "cached", path=str(final), checksum=meta.get("checksum"),
                            wall_time=meta.get("wall_time", 0.0),
                            meta=meta.get("result", {}))
    if task.key in settings.check_only:
        return _outcome(task, "skipped", error=NOT_COMPUTED_OUTSIDE_ONLY, notes=notes)

    inputs = {o.key: Path(o.path) for o in upstream if o.path}
    scratch = store.scratch_path(task.operation, task.label, task.key)
    if task.key in settings.force and scratch.exists():
        shutil.rmtree(scratch)  # --force starts the task afresh: no checkpoint of an earlier attempt is reused
        notes.append("forced: the scratch state of an earlier attempt was cleared")
    scratch.mkdir(parents=True, exist_ok=True)
    partial = store.new_partial(final)
    started = time.perf_counter()
    try:
        with limited_threads(settings.threads):
            result = STAGE_FUNCTIONS[task.operation](
                task, inputs, partial, TaskContext(threads=settings.threads, scratch_dir=scratch, label=task.label))
        wall_time = time.perf_counter() - started
        meta = {"key": task.key, "stage": task.stage, "step": task.operation, "label": task.label,
                "system": task.system, "inputs": list(task.deps), "plugin": task.plugin_reference,
                "wall_time": wall_time, "result": result}
        if task.key in settings.force and final.exists():
            old = final.with_name(f"{final.name}.replaced-{uuid.uuid4().hex[:8]}")
            os.rename(final, old)
            meta = store.publish(partial, final, meta)
            shutil.rmtree(old, ignore_errors=True)
        else:
            meta = store.publish(partial, final, meta)
    except Exception as exc:
        shutil.rmtree(partial, ignore_errors=True)
        notes.extend(read_notes(scratch))
        error = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            error = (f"no space left on device writing {exc.filename or partial} ({exc.strerror}); free some "
                     "space and run again")
        return _outcome(task, "failed", wall_time=time.perf_counter() - started, error=error,
                        traceback=traceback.format_exc(), notes=notes)
    except BaseException:       # Ctrl-C or SIGTERM in this process: no half output left; the scratch (checkpoints) stays
        shutil.rmtree(partial, ignore_errors=True)
        raise
    notes.extend(read_notes(scratch))
    shutil.rmtree(scratch, ignore_errors=True)
    return _outcome(task, "done", path=str(final), checksum=meta["checksum"], wall_time=wall_time, notes=notes,
                    meta=result)
