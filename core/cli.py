"""The command line: ``run``, ``validate``, ``plugins``, ``show``, ``transport``.

User errors (bad recipes, unknown plugins, bad arguments) print a message and
exit with status 2, never a traceback. A run with failed tasks exits 1.
"""

from __future__ import annotations

import argparse
import errno
import os
import signal
import sys
import threading
from pathlib import Path

import yaml
from rich.console import Console
from rich.table import Table

from core.transport import cli as transport_cli
from core.errors import DuplicatePluginError, UserError
from core.execution.tasks import STAGES


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2 too; keep the message short
        self.print_usage(sys.stderr)
        raise UserError(message)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="localcond", description="Learn local ionic contributions to electrolyte conductivity.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = commands.add_parser("run", help="run (or resume) a recipe")
    run.add_argument("recipe", type=Path)
    run.add_argument("--workdir", type=Path, help="work directory (default: the recipe's, else runs/<name>)")
    run.add_argument("--only", choices=STAGES, help="run only this stage (upstream must be done)")
    run.add_argument("--force", choices=STAGES, help="recompute this stage and everything after it")
    validate = commands.add_parser("validate", help="check a recipe without running it")
    validate.add_argument("recipe", type=Path)
    validate.add_argument("--resolved", action="store_true", help="print the recipe with every default filled in")
    validate.add_argument("--job-script", action="store_true",
                          help="print the batch script each SLURM worker job of the run gets (slurm executor)")
    validate.add_argument("--workdir", type=Path, help="with --job-script: the run's work directory, as given to run")
    validate.add_argument("--cost", action="store_true",
                          help="predict core-hours per stage and the wall time, from rates measured on this machine "
                               "(a small calibration run of the recipe, once, cached)")
    validate.add_argument("--anywhere", action="store_true",
                          help="a recipe for another machine: plugins whose engine is missing here are listed, "
                               "not errors (their options are still checked)")
    commands.add_parser("plugins", help="list plugins: kind, name, package, version, availability")
    show = commands.add_parser("show", help="what a run has done, failed or is missing")
    show.add_argument("workdir", type=Path)
    transport_cli.add_parser(commands)
    return parser


def _workdir(args: argparse.Namespace, resolved) -> Path:
    if args.workdir is not None:
        return usable_workdir(Path(args.workdir), "--workdir")
    if resolved.recipe.workdir:
        return usable_workdir(Path(resolved.recipe.workdir), f"{resolved.source}: workdir")
    return usable_workdir(Path("runs") / resolved.name, "the default work directory")


#: Kernel and device file systems, never a place for a run's files.
VIRTUAL_ROOTS = (Path("/proc"), Path("/sys"), Path("/dev"))


def usable_workdir(path: Path, what: str) -> Path:
    """``path``, created if needed, once it is known to be a writable directory; else a :class:`UserError`."""
    resolved = path.expanduser().resolve()
    if any(resolved == root or root in resolved.parents for root in VIRTUAL_ROOTS):
        raise UserError(f"{what} {path}: a kernel or device file system; expected a writable directory")
    try:
        resolved.mkdir(parents=True, exist_ok=True)
        probe = resolved / f".localcond-write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise UserError(f"{what} {path}: cannot be used as a work directory ({exc.strerror or exc}); "
                        "expected a writable directory") from exc
    return path


def _run(args: argparse.Namespace, console: Console) -> int:
    from core.recipe import load_recipe
    from core.execution.pipeline import run_recipe

    resolved = load_recipe(args.recipe)
    workdir = _workdir(args, resolved)
    summary = run_recipe(resolved, workdir, only=args.only, force=args.force, console=console)
    failed = summary.failed
    skipped = summary.missing
    if summary.not_computed and not failed:
        console.print(f"{len(summary.not_computed)} later task(s) not computed (outside --only {args.only}); "
                      "where done, their results are reused")
    if failed:
        console.print(f"[red]{len(failed)} task(s) failed[/red]; {len(skipped)} skipped because of them:")
        for outcome in failed:
            where = f" (system {outcome.system})" if outcome.system else ""
            console.print(f"  {outcome.operation} {outcome.label}{where}: {outcome.error}")
        console.print("run the same command again to retry only what failed or is missing")
        return 1
    if skipped:
        console.print(f"{len(skipped)} task(s) not run (see `localcond show {workdir}`)")
        return 1
    console.print(f"done: {len(summary.outcomes)} tasks; report: {summary.workdir / 'report.html'}")
    return 0


def _validate(args: argparse.Namespace, console: Console) -> int:
    from core.execution.planner import build_plan
    from core.recipe import load_recipe

    resolved = load_recipe(args.recipe, allow_unavailable=args.anywhere)
    if args.resolved:
        print(yaml.safe_dump(resolved.document(), sort_keys=False), end="")
        return 0
    if args.job_script:
        from core.execution.backends import slurm_job_script

        if resolved.recipe.executor.slurm is None:
            raise UserError("the recipe's executor is not slurm", source=str(args.recipe), path="executor")
        executor = resolved.recipe.executor
        workdir = Path(args.workdir if args.workdir is not None else resolved.recipe.workdir or Path("runs") /
                       resolved.name).expanduser().resolve()
        print(slurm_job_script(executor.slurm, workdir, executor.threads_per_task))
        return 0
    if args.cost:
        return _cost(resolved, console)
    plan = build_plan(resolved)
    counts = {stage: sum(u.stage == stage for u in plan.tasks) for stage in STAGES}
    console.print(f"{args.recipe}: valid. {len(resolved.systems)} systems "
                  f"({sum(s.test_only for s in resolved.systems)} test-only); tasks: "
                  + ", ".join(f"{n} {s}" for s, n in counts.items() if n))
    for stage in (resolved.simulator, resolved.descriptor, resolved.model, *resolved.analyses):
        if stage is not None:
            console.print(f"  {stage.kind}: {stage.name} {stage.version} ({stage.package})")
    for note in resolved.unavailable:
        console.print(f"  [yellow]not available here[/] (needed where it runs): {note}")
    return 0


def _cost(resolved, console: Console) -> int:
    """``validate --cost``: the calibration (or its cache), then one table of core-hours per stage."""
    from core.execution.backends import task_threads
    from core.execution.cost import calibrate, estimate, executor_cores

    cores, where = executor_cores(resolved.recipe.executor)
    threads = task_threads(resolved.recipe.executor)
    rates, facts = calibrate(resolved, progress=console.print)
    result = estimate(resolved, rates, cores, calibrated_with=facts.get("simulator"))
    table = Table(title=f"{resolved.name}: predicted cost (rates measured on this machine)")
    for column in ("stage", "tasks", "core-hours", "share", f"longest task ({threads} thread(s))"):
        table.add_column(column, justify="left" if column == "stage" else "right")
    total = result.core_seconds
    for stage in result.stages:
        table.add_row(stage.stage, str(stage.tasks), f"{stage.core_seconds / 3600:.3g}",
                      f"{100 * stage.core_seconds / total:.0f} %" if total else "",
                      _duration(stage.longest_core_seconds / threads))
    table.add_row("total", str(sum(s.tasks for s in result.stages)), f"{total / 3600:.3g}", "", "")
    console.print(table)
    console.print(f"wall time on {where}, {cores} core(s) kept busy: about {_duration(result.wall_seconds)}; "
                  "no GPU rates measured (CPU only)")
    origin = "cached" if facts.get("cached") else f"measured now in {facts.get('seconds', 0):.0f} s"
    console.print(f"calibration: {origin} ({facts.get('directory')})")
    for note in result.notes:
        console.print(f"note: {note}")
    return 0


def _duration(seconds: float) -> str:
    """A wall time in the unit a reader wants: seconds, minutes, hours or days."""
    hours = seconds / 3600
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min" if hours < 2 else (f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.0f} days")


def _plugins(console: Console) -> int:
    from core.plugin_system.registry import get_registry

    registry = get_registry()
    table = Table(title="localcond plugins")
    for column in ("kind", "name", "package", "version", "available"):
        table.add_column(column)
    for info in [*registry.plugins(), *registry.broken]:
        table.add_row(info.kind, info.name, info.package, info.version,
                      "yes" if info.available else f"no: {info.unavailable_reason}")
    console.print(table)
    return 0


def _terminate_like_interrupt(signum: int, frame: object) -> None:
    """SIGTERM (``kill``, a batch system's time limit) ends a run like Ctrl-C: finished work kept, exit 130."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m core`` and the ``localcond`` script; returns the exit status."""
    console = Console(stderr=False, width=None if sys.stdout.isatty() else 160)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate_like_interrupt)
    try:
        args = _parser().parse_args(argv)
        if args.command == "run":
            return _run(args, console)
        if args.command == "validate":
            return _validate(args, console)
        if args.command == "plugins":
            return _plugins(console)
        if args.command == "transport":
            return transport_cli.run(args, console)
        from core.analysis.show import show_run

        return show_run(args.workdir, console)
    except (UserError, DuplicatePluginError) as exc:
        print(f"error: {exc}" if "\n" not in str(exc) else f"error:\n{exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished work is kept; run the same command again to resume", file=sys.stderr)
        return 130
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        where = f" writing {exc.filename}" if exc.filename else ""
        print(f"error: no space left on device{where} ({exc.strerror}); free some space and run the same command "
              "again: finished work is kept and the run resumes", file=sys.stderr)
        return 1
