"""SLURM job scripts (no SLURM here), executor layout, and the learning split."""

from __future__ import annotations

from core.datatypes import SystemSpec
from core.execution.backends import Layout, layout, slurm_job_script
from core.learn.splits import make_split
from core.recipe.schema import ExecutorConfig, SlurmConfig, SplitConfig


def test_slurm_job_script_carries_the_requested_resources():
    script = slurm_job_script(SlurmConfig(cores=8, processes=2, memory="32GB", walltime="02:00:00",
                                          queue="gpu", account="proj42",
                                          job_extra_directives=["--gres=gpu:1"]))
    assert "#SBATCH -p gpu" in script and "#SBATCH -A proj42" in script
    assert "#SBATCH --gres=gpu:1" in script and "#SBATCH -t 02:00:00" in script
    assert "export OMP_NUM_THREADS=4" in script
    assert "--nworkers 2" in script and "--nthreads 4" in script


def test_the_job_script_needs_no_scheduler_and_matches_the_clusters_own():
    """Printing the script binds no port (8787 held here, no warning) and equals, but for the scheduler's
    address, the script a real ``SLURMCluster`` would submit."""
    import socket
    import warnings

    from core.execution.backends import SCHEDULER_PLACEHOLDER, WORKER_NAME_PLACEHOLDER, slurm_cluster

    config = SlurmConfig(cores=4, processes=2, memory="8GB", walltime="01:00:00", queue="cpu")
    holder = socket.socket()
    try:
        holder.bind(("127.0.0.1", 8787))
        holder.listen()
    except OSError:
        holder.close()
        holder = None  # something else holds the port: still no warning from us is expected
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            script = slurm_job_script(config)
    finally:
        if holder is not None:
            holder.close()
    assert SCHEDULER_PLACEHOLDER in script and "#SBATCH -p cpu" in script and "--nworkers 2" in script
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the real path binds ports (and says so when 8787 is busy)
        with slurm_cluster(config, 2) as cluster:  # no jobs are submitted
            real = cluster.job_script()
            address = cluster.scheduler_address
    assert script.replace(SCHEDULER_PLACEHOLDER, address).replace(WORKER_NAME_PLACEHOLDER, "NAME") == \
        real.replace(real.split("--name ")[1].split()[0], "NAME")
    assert "#SBATCH -J localcond-worker" in script


def test_executor_kind_is_inferred_and_layout_follows_cores():
    assert ExecutorConfig.model_validate({"address": "tcp://h:8786"}).kind == "address"
    assert ExecutorConfig.model_validate({"slurm": {"cores": 4}}).kind == "slurm"
    assert layout(ExecutorConfig(), cores=8) == Layout(workers=8, threads_per_task=1)
    assert layout(ExecutorConfig(threads_per_task=2), cores=8).workers == 4


def systems(n: int, external: int = 0) -> list[SystemSpec]:
    return [SystemSpec(f"s{i}", 0.01 * (i + 1), 2.5, 0.0, 1000, 0.8, 1, 0, test_only=i < external)
            for i in range(n)]


def test_paper_split_has_25_members_and_never_trains_on_test_or_external_systems():
    split = make_split(systems(40, external=4), SplitConfig(), stochastic=True)
    assert len(split.members) == 25
    assert len(split.test) == 4 and len(split.external) == 4
    for member in split.members:
        assert not set(member.train) & (set(split.test) | set(split.external))
        assert not set(member.train) & set(member.validation)
    assert make_split(systems(40, external=4), SplitConfig(), stochastic=True) == split


def test_deterministic_models_get_one_member_per_fold():
    assert len(make_split(systems(20), SplitConfig(), stochastic=False).members) == 5


def test_small_datasets_get_an_outer_k_fold_whose_members_never_see_their_systems():
    config = SplitConfig(n_folds=3, seeds_per_fold=2)
    split = make_split(systems(12, external=2), config, stochastic=True)
    pool = sorted(f"s{i}" for i in range(2, 12))
    assert len(split.outer_folds) == 5
    assert sorted(name for fold in split.outer_folds for name in fold) == pool
    for index, held_out in enumerate(split.outer_folds):
        members = split.outer_members(index)
        assert len(members) == 3 * 2
        for member in members:
            seen = set(member.train) | set(member.validation)
            assert not seen & set(held_out) and not seen & set(split.external)
            assert seen == set(pool) - set(held_out)
    without = make_split(systems(12, external=2), SplitConfig(n_folds=3, seeds_per_fold=2, outer_folds=0),
                         stochastic=True)
    assert without.members == split.main_members and not without.outer_folds
    assert len({m.index for m in split.members}) == len(split.members)


def test_outer_folds_auto_only_below_twenty_systems():
    assert not make_split(systems(20), SplitConfig(), stochastic=True).outer_folds
    assert len(make_split(systems(19), SplitConfig(), stochastic=False).outer_folds) == 5
    assert len(make_split(systems(40), SplitConfig(outer_folds=4), stochastic=False).outer_folds) == 4
    assert len(make_split(systems(3), SplitConfig(), stochastic=False).outer_folds) == 3


def test_the_memory_checked_against_the_cluster_is_what_the_job_script_asks() -> None:
    """core.execution.slurm_checks compares a node's memory with the --mem dask-jobqueue writes, rounded as it rounds."""
    from dask.utils import parse_bytes
    from dask_jobqueue.slurm import slurm_format_bytes_ceil

    from core.execution.slurm_checks import requested_memory_mb

    for memory in ("1GB", "2GB", "64GB", "1500MB", "3GiB", "100TB"):
        asked = slurm_format_bytes_ceil(parse_bytes(memory))
        in_mb = int(asked[:-1]) * {"G": 1024, "M": 1}[asked[-1]]
        assert requested_memory_mb(memory) == in_mb, (memory, asked)
