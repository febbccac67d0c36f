"""SLURM job scripts (no SLURM here), executor layout, and the learning split."""

from __future__ import annotations

from core.datatypes import SystemSpec
from core.executor import Layout, layout, slurm_job_script
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
