"""Progress bars per stage (rich), with task counts and ETA."""

from __future__ import annotations

from collections import Counter

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, \
    TimeRemainingColumn

from core.execution.tasks import STAGES, TaskOutcome, Task


class StageProgress:
    """One bar per stage; failures, and tasks ``--only`` did not compute, are counted in the bar's description."""

    def __init__(self, tasks: list[Task], console: Console) -> None:
        self._progress = Progress(TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(),
                                  TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=console)
        totals = Counter(u.stage for u in tasks)
        self._tasks = {stage: self._progress.add_task(stage, total=totals[stage])
                       for stage in STAGES if totals[stage]}
        self._failed: Counter[str] = Counter()
        self._not_computed: Counter[str] = Counter()   # outside --only, not done before: not a failure

    def __enter__(self) -> StageProgress:
        self._progress.__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._progress.__exit__(*exc_info)

    def advance(self, outcome: TaskOutcome) -> None:
        from core.execution.run_task import NOT_COMPUTED_OUTSIDE_ONLY

        if outcome.status == "skipped" and outcome.error == NOT_COMPUTED_OUTSIDE_ONLY:
            self._not_computed[outcome.stage] += 1
        elif not outcome.ok:
            self._failed[outcome.stage] += 1
        failed, not_computed = self._failed[outcome.stage], self._not_computed[outcome.stage]
        remarks = [f"{failed} not ok"] * bool(failed) + [f"{not_computed} not computed"] * bool(not_computed)
        description = outcome.stage + (f" ({', '.join(remarks)})" if remarks else "")
        self._progress.update(self._tasks[outcome.stage], advance=1, description=description)
