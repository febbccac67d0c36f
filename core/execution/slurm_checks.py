"""What a ``slurm:`` executor block asks of the cluster this machine submits to, checked before any job is.

SLURM refuses a job asking for a partition it does not have, or for more cores or memory than any node of the
partition offers, only when ``sbatch`` runs (and one asking for more time than the partition allows waits in the
queue for ever, "PartitionTimeLimit"); dask-jobqueue submits in the background and logs the refusal,
and the run would wait for workers that never come. So the block is checked against ``sinfo`` first: each
problem is a :class:`core.errors.UserError` naming the key (exit 2). Where this machine cannot ask a cluster
(no SLURM client, or none configured: a laptop validating a cluster recipe), ``validate`` checks nothing
here, and ``run`` refuses: its jobs are to be submitted from this machine.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass

from core.errors import UserError
from core.recipe.schema import SlurmConfig, slurm_time_seconds


@dataclass(frozen=True)
class Partition:
    """A SLURM partition as ``sinfo`` reports it: name, whether it is the default, its largest node's CPUs and
    memory (MB), and its time limit (``limit``, as sinfo writes it; ``max_seconds`` None: no limit)."""

    name: str
    default: bool
    cpus: int
    memory_mb: int
    limit: str = "infinite"
    max_seconds: int | None = None


def partitions(timeout: float = 10.0) -> list[Partition] | None:
    """The cluster's partitions, or None where this machine has no ``sinfo``.

    Raises :class:`UserError` (naming ``sinfo``'s own message) where ``sinfo`` is there but finds no cluster
    configuration or cannot reach the controller.
    """
    if shutil.which("sinfo") is None:
        return None
    try:
        done = subprocess.run(["sinfo", "-h", "-o", "%P %c %m %l"], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        said = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        said = said.strip().splitlines()[-1] if said.strip() else "is slurmctld running?"
        raise UserError(f"sinfo did not answer in {timeout:g} s ({said})", path="executor.slurm") from exc
    if done.returncode != 0:
        message = " ".join(line.strip() for line in done.stderr.strip().splitlines()[-2:])
        raise UserError(f"sinfo cannot reach a SLURM cluster from here: {message}", path="executor.slurm")
    found: dict[str, Partition] = {}
    for line in done.stdout.splitlines():
        name, cpus, memory, limit = line.split()
        default = name.endswith("*")
        name = name.rstrip("*")
        cpus_n, memory_n = int(cpus.rstrip("+")), int(memory.rstrip("+"))
        try:
            max_seconds = slurm_time_seconds(limit)
        except ValueError:              # "n/a" or a format this code does not know: no check
            max_seconds = None
        known = found.get(name)
        if known is None or (cpus_n, memory_n) > (known.cpus, known.memory_mb):
            found[name] = Partition(name, default, cpus_n, memory_n, limit, max_seconds)
    return list(found.values())


def check_slurm_block(config: SlurmConfig, source: str | None = None, *, strict: bool = False) -> list[UserError]:
    """The problems of ``config`` on this machine's cluster: empty where it fits, or where this machine cannot
    ask a cluster (no ``sinfo``, or none configured: a laptop validating a cluster recipe), unless ``strict``
    (``run``: the jobs are to be submitted from here, so that is a problem too)."""
    try:
        found = partitions()
    except UserError as exc:
        return [exc] if strict else []
    if found is None:
        return [UserError("this machine has no SLURM client (sinfo); run where SLURM is, or choose executor kind "
                          "local", source=source, path="executor.kind")] if strict else []
    names = [p.name for p in found]
    if config.queue is not None:
        chosen = next((p for p in found if p.name == config.queue), None)
        if chosen is None:
            return [UserError(f"partition {config.queue!r} does not exist on this cluster (partitions: "
                              f"{', '.join(names) or 'none'})", source=source, path="executor.slurm.queue")]
    else:
        chosen = next((p for p in found if p.default), None)
        if chosen is None:
            return [UserError(f"the cluster has no default partition; name one of {', '.join(names)}",
                              source=source, path="executor.slurm.queue")]
    problems = []
    if config.cores > chosen.cpus:
        problems.append(UserError(f"{config.cores} cores per job, but the nodes of partition {chosen.name!r} have at "
                                  f"most {chosen.cpus}", source=source, path="executor.slurm.cores"))
    memory_mb = requested_memory_mb(config.memory)
    if memory_mb > chosen.memory_mb:
        problems.append(UserError(f"{config.memory} per job (--mem={memory_mb}M), but the nodes of partition "
                                  f"{chosen.name!r} have at most {chosen.memory_mb} MB", source=source,
                                  path="executor.slurm.memory"))
    wanted = slurm_time_seconds(config.walltime)
    if chosen.max_seconds is not None and wanted is not None and wanted > chosen.max_seconds:
        problems.append(UserError(f"{config.walltime} per job, but partition {chosen.name!r} allows at most "
                                  f"{chosen.limit}: the jobs would wait in the queue for ever", source=source,
                                  path="executor.slurm.walltime"))
    return problems


def requested_memory_mb(memory: str) -> int:
    """The ``--mem`` that dask-jobqueue asks SLURM for, in MiB: the bytes of ``memory`` ("64GB") rounded up to
    whole GiB (or MiB below one GiB), as its job script writes them."""
    import math

    from dask.utils import parse_bytes

    n = parse_bytes(memory)
    return math.ceil(n / 2 ** 30) * 1024 if n >= 2 ** 30 else math.ceil(n / 2 ** 20)


def require_submit_host(config: SlurmConfig) -> None:
    """Raise :class:`UserError` unless this machine can submit ``config``'s jobs: SLURM's clients are here,
    a cluster answers, and it has what the block asks for."""
    problems = check_slurm_block(config, strict=True)
    if shutil.which("sbatch") is None:
        problems.append(UserError("this machine has no sbatch (not a SLURM submit host); run where SLURM is, or "
                                  "choose executor kind local", path="executor.kind"))
    if problems:
        raise problems[0]
