"""Where tasks run: in-process (serial), an embedded LocalCluster, an existing scheduler, or SLURM.

Every backend has ``run(tasks, settings, on_outcome)``: it executes tasks in
dependency order and calls ``on_outcome`` as each one ends.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.execution.run_task import RunSettings, run_task
from core.recipe.schema import ExecutorConfig, SlurmConfig
from core.execution.threads import thread_environment
from core.execution.tasks import TaskOutcome, Task

OutcomeCallback = Callable[[TaskOutcome], None]


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


@dataclass(frozen=True)
class Layout:
    """How many worker processes, and threads per task."""

    workers: int
    threads_per_task: int


def layout(config: ExecutorConfig, cores: int | None = None) -> Layout:
    """Default: one worker per core, one thread per task; or as many workers as the thread budget allows."""
    cores = cores or available_cores()
    threads = config.threads_per_task or (max(1, cores // config.workers) if config.workers else 1)
    workers = config.workers or max(1, cores // threads)
    return Layout(workers, threads)


def task_threads(config: ExecutorConfig) -> int:
    """The threads each task may use on ``config``'s executor (a SLURM job's cores over its processes; one on
    a scheduler of unknown size, unless ``threads_per_task`` says)."""
    if config.kind == "slurm" and config.slurm is not None:
        return config.threads_per_task or max(1, config.slurm.cores // config.slurm.processes)
    if config.kind == "address":
        return config.threads_per_task or 1
    return layout(config).threads_per_task


class SerialBackend:
    """Runs every task in this process, in order (for debugging)."""

    def run(self, tasks: list[Task], settings: RunSettings, on_outcome: OutcomeCallback) -> None:
        outcomes: dict[str, TaskOutcome] = {}
        for task in tasks:
            outcome = run_task(task, [outcomes[k] for k in task.deps], settings)
            outcomes[task.key] = outcome
            on_outcome(outcome)


class DaskBackend:
    """Submits every task as a Dask task, upstream futures as arguments, and collects outcomes as they end."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def run(self, tasks: list[Task], settings: RunSettings, on_outcome: OutcomeCallback) -> None:
        from distributed import as_completed

        futures: dict[str, Any] = {}
        task_of: dict[str, Task] = {}
        for task in tasks:
            future = self.client.submit(run_task, task, [futures[k] for k in task.deps], settings,
                                        key=f"{task.operation}-{task.label}-{task.key[:12]}", pure=False)
            futures[task.key] = future
            task_of[future.key] = task
        for future in as_completed(list(futures.values())):
            task = task_of[future.key]
            try:
                outcome = future.result()
            except Exception as exc:  # the worker died, or an upstream worker did
                outcome = TaskOutcome(task.key, task.stage, task.operation, task.label, task.system, "failed",
                                      error=f"{type(exc).__name__}: {exc}")
            on_outcome(outcome)


#: The SLURM job name of every worker job (``squeue -n localcond-worker`` lists a run's jobs).
SLURM_JOB_NAME = "localcond-worker"


def slurm_log_directory(config: SlurmConfig, workdir: Path | None) -> str | None:
    """Where worker jobs write their stdout and stderr: ``log_directory`` (relative to the work directory), or
    the work directory's ``slurm-logs/`` (:data:`core.storage.layout.SLURM_LOG_DIR`); None without either."""
    from core.storage.layout import SLURM_LOG_DIR

    if config.log_directory is not None:
        path = Path(config.log_directory).expanduser()
        return str(path if path.is_absolute() or workdir is None else Path(workdir) / path)
    return str(Path(workdir) / SLURM_LOG_DIR) if workdir is not None else None


def _slurm_options(config: SlurmConfig, threads: int, workdir: Path | None) -> dict[str, Any]:
    """The dask-jobqueue options of a SLURM job for ``config`` (each task capped at ``threads``)."""
    prologue = [f"export {k}={v}" for k, v in thread_environment(threads).items()]
    return dict(cores=config.cores, processes=config.processes, memory=config.memory, walltime=config.walltime,
                queue=config.queue, account=config.account, job_extra_directives=config.job_extra_directives,
                job_script_prologue=prologue + config.job_script_prologue, local_directory=config.local_directory,
                log_directory=slurm_log_directory(config, workdir), job_name=SLURM_JOB_NAME)


def slurm_cluster(config: SlurmConfig, threads: int, workdir: Path | None = None, dashboard: bool = False) -> Any:
    """A ``dask_jobqueue.SLURMCluster`` for ``config`` (not yet scaled); its dashboard on a free port when
    ``dashboard``, else none."""
    from dask_jobqueue import SLURMCluster

    return SLURMCluster(**_slurm_options(config, threads, workdir),
                        scheduler_options={"dashboard_address": ":0" if dashboard else None})


#: Stands for the scheduler's address in a job script printed before any scheduler exists.
SCHEDULER_PLACEHOLDER = "tcp://SCHEDULER-ADDRESS:8786"


#: Stands for the worker's name, which the cluster gives each job when it submits it.
WORKER_NAME_PLACEHOLDER = "WORKER-NAME"


def slurm_job_script(config: SlurmConfig, workdir: Path | None = None, threads: int | None = None) -> str:
    """The batch script each SLURM job of a run in ``workdir`` runs, from dask-jobqueue's own ``SLURMJob``.

    No SLURM and no scheduler are needed (nothing binds a port). What is known only when a run starts
    appears as placeholders: the scheduler's address (:data:`SCHEDULER_PLACEHOLDER`) and the worker's name
    (:data:`WORKER_NAME_PLACEHOLDER`); everything else is what ``sbatch`` receives.
    """
    from dask_jobqueue.slurm import SLURMJob

    threads = threads or max(1, config.cores // config.processes)
    return SLURMJob(scheduler=SCHEDULER_PLACEHOLDER, name=WORKER_NAME_PLACEHOLDER,
                    **_slurm_options(config, threads, workdir)).job_script()


@contextlib.contextmanager
def open_backend(config: ExecutorConfig, workdir: Path | None = None,
                 announce: Callable[[str], None] | None = None,
                 worker_plugins: tuple = ()) -> Iterator[tuple[SerialBackend | DaskBackend, int]]:
    """The backend for ``config`` and the threads each task may use; clusters are closed on exit.

    ``workdir``: the run's work directory (SLURM worker logs go under it). ``announce(text)``: where the Dask
    dashboard's address is said when ``config.dashboard`` asks for it. ``worker_plugins``: Dask worker
    plugins installed on every worker (and every worker that joins later) before tasks are sent.
    """
    if config.kind == "serial":
        yield SerialBackend(), task_threads(config)
        return
    import dask
    from distributed import Client, LocalCluster

    def prepare(client: Any) -> None:
        if config.dashboard and announce is not None:
            announce(f"Dask dashboard: {client.dashboard_link}")
        for plugin in worker_plugins:
            client.register_plugin(plugin)

    if config.kind == "address":
        assert config.address is not None
        with Client(config.address) as client:
            prepare(client)
            yield DaskBackend(client), task_threads(config)
        return
    if config.kind == "slurm":
        from core.execution.slurm_checks import require_submit_host

        assert config.slurm is not None
        require_submit_host(config.slurm)
        threads = task_threads(config)
        if workdir is not None:
            Path(slurm_log_directory(config.slurm, workdir)).mkdir(parents=True, exist_ok=True)
        with slurm_cluster(config.slurm, threads, workdir, config.dashboard) as cluster:
            # adaptive with a fixed size: a job that ends (a time limit, scancel, a lost node) is replaced, and
            # its tasks rerun on the others meanwhile, resuming from their checkpoints
            cluster.adapt(minimum_jobs=config.slurm.jobs, maximum_jobs=config.slurm.jobs)
            with Client(cluster) as client:
                prepare(client)
                yield DaskBackend(client), threads
        return
    plan = layout(config)
    with dask.config.set({"distributed.nanny.pre-spawn-environ": thread_environment(plan.threads_per_task),
                          "distributed.worker.preload": ["core.execution.dask_worker"]}):   # Ctrl-C is the client's
        with LocalCluster(n_workers=plan.workers, threads_per_worker=1, processes=True,
                          memory_limit=config.memory_limit,
                          dashboard_address=":0" if config.dashboard else None) as cluster:
            with Client(cluster) as client:
                prepare(client)
                yield DaskBackend(client), plan.threads_per_task
