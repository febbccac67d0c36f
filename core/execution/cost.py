"""What a recipe will cost before it runs: core-hours per stage, from rates measured on this machine.

The model (docs/guide.md, "What a recipe costs"): every task of the plan does some *work*, counted in units
that its time grows with, and takes ``overhead + seconds_per_unit × units`` core-seconds:

=============  =========================================================  ===========================
operation      units                                                      rate key
=============  =========================================================  ===========================
simulate       MD steps (equilibration and production)                    simulator, N
transport      replicas × frames × ions                                   transport
featurize      environments (``max_environments``, or all there are)      descriptor
member         environments of its training and validation systems        model (and descriptor)
predict        members × environments of every system                     model (and descriptor)
analyze        environments of every system                               the analysis
=============  =========================================================  ===========================

The rates come from a *calibration*: the recipe itself, made small (three systems spanning its
concentrations at its middle Bjerrum length, one replica, 2000 steps with 20 frames or more, two members)
and run serially on one thread per task, so that each task's wall time is its core-seconds. A simulator
that reports ``production_seconds`` gives its step rate and its start-up cost apart (OpenMM and HOOMD do);
otherwise, and for every other key, the overhead and the rate are a least-squares line through the
calibration's tasks (a proportion where their units do not differ). The calibration is a real run, cached
in ``$LOCALCOND_CACHE`` (default ``~/.cache/localcond``) under a hash of the small recipe and this machine,
so the second estimate is immediate.

Not modelled: rounds of ``simulation.precision`` (their extensions are unknown before transport), the
contact-lifetime stride (``stride: auto`` is taken as every frame, which bounds featurize from above) and
queueing on a cluster. A simulator that is not available here is calibrated with ``openmm``, and the
estimate says so.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import platform
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

#: Production steps of the calibration's MD runs (at most the recipe's), and at most this many particle-steps
#: (fewer steps for a large system, at least :data:`CALIBRATION_MIN_STEPS`).
CALIBRATION_STEPS = 2000
CALIBRATION_PARTICLE_STEPS = 4_000_000
CALIBRATION_MIN_STEPS = 200
#: Equilibration steps of the calibration's MD runs (at most the recipe's).
CALIBRATION_EQUILIBRATION = 500
#: Frames the calibration's runs write at least (its write period is shortened to give them).
CALIBRATION_FRAMES = 20
#: Environments per system the calibration featurises at most.
CALIBRATION_ENVIRONMENTS = 1000
#: The stages in the order the estimate lists them.
STAGE_ORDER = ("simulate", "transport", "featurize", "learn", "analyze")


@dataclass(frozen=True)
class Rate:
    """core-seconds = ``overhead`` + ``per_unit`` × units, from ``n_tasks`` calibration tasks."""

    overhead: float
    per_unit: float
    n_tasks: int

    def seconds(self, units: float) -> float:
        return self.overhead + self.per_unit * units


@dataclass(frozen=True)
class StageCost:
    """A stage's predicted core-seconds and task count, the rate keys it used, and its longest task's
    core-seconds (with that task's label)."""

    stage: str
    tasks: int
    core_seconds: float
    keys: tuple[str, ...]
    longest_core_seconds: float = 0.0
    longest_task: str = ""


@dataclass
class CostEstimate:
    """The estimate of a whole plan: per stage, the total, the wall time on the recipe's executor, notes."""

    stages: list[StageCost] = field(default_factory=list)
    cores: int = 1
    notes: list[str] = field(default_factory=list)
    calibration_seconds: float = 0.0

    @property
    def core_seconds(self) -> float:
        return sum(stage.core_seconds for stage in self.stages)

    @property
    def wall_seconds(self) -> float:
        """Σ core-seconds over the cores the executor uses (tasks kept busy; no queueing)."""
        return self.core_seconds / max(self.cores, 1)


# -- what each task does ---------------------------------------------------------------------------------
def _ions(spec: Any) -> int:
    return 2 * spec.n_ion_pairs


def _frames(steps: int, write_period: int) -> int:
    return steps // write_period + 1


def _environments(spec: Any, settings: Any, max_environments: int) -> int:
    """Environments a system's store holds: every ion of every frame of the first segments, at most
    ``max_environments`` (stride 1, an upper bound for ``stride: auto``)."""
    return min(max_environments, spec.replicas * _frames(settings.steps, settings.write_period) * _ions(spec))


def task_work(task: Any, settings: Any, environments: dict[str, int]) -> tuple[str, float]:
    """(rate key, units) of one planned task (see the module's table)."""
    operation = task.operation
    if operation == "simulate":
        steps = task.settings.steps + (task.settings.equilibration_steps if task.start_step == 0 else 0)
        return f"simulate:{task.plugin.name}:N{task.spec.n_particles}", float(steps)
    if operation == "transport":
        frames = _frames(settings.steps, settings.write_period)
        return "transport", float(task.spec.replicas * frames * _ions(task.spec))
    if operation == "featurize":
        return f"featurize:{task.plugin.name}", float(environments[task.system])
    if operation == "member":
        used = (*task.member.train, *task.member.validation)
        return f"member:{task.plugin.name}", float(sum(environments[name] for name in used))
    if operation == "predict":
        members = len(task.members) + sum(len(fold.members) for fold in task.outer)
        return f"predict:{task.plugin.name}", float(members * sum(environments[name] for name in task.stores))
    if operation == "analyze":
        return f"analyze:{task.plugin.name}", float(sum(environments.get(s.name, 0) for s in task.systems))
    raise ValueError(f"no cost model for operation {operation!r}")


def plan_work(resolved: Any, plan: Any) -> list[tuple[Any, str, float]]:
    """(task, rate key, units) for every task of ``plan``."""
    specs = {spec.name: spec for spec in resolved.systems}
    settings = resolved.recipe.simulation
    max_environments = resolved.recipe.descriptor.snapshots.max_environments if resolved.recipe.descriptor else 0
    environments = {name: _environments(spec, settings, max_environments) for name, spec in specs.items()}
    return [(task, *task_work(task, settings, environments)) for task in plan.tasks]


def walltime_notes(stages: list[StageCost], threads: int, walltime: str, checkpoints: bool) -> list[str]:
    """What the estimate says of tasks longer than one job's ``walltime`` on ``threads`` threads each (their
    wall time taken as core-seconds over threads, the best a task can do): a simulation that ``checkpoints``
    spans several jobs, resuming each time; any other such task cannot finish."""
    from core.recipe.schema import slurm_time_seconds

    limit = slurm_time_seconds(walltime)
    notes = []
    for stage in stages:
        hours = stage.longest_core_seconds / max(threads, 1) / 3600
        if limit is None or hours * 3600 <= limit:
            continue
        said = f"its longest {stage.stage} task ({stage.longest_task}) takes about {hours:.3g} h on {threads} " \
               f"thread(s), more than the walltime {walltime}"
        if stage.stage == "simulate" and checkpoints:
            jobs = int(np.ceil(hours * 3600 / limit))
            notes.append(f"{said}: it runs across about {jobs} jobs, each resuming from the last checkpoint")
        else:
            notes.append(f"{said}: it cannot finish in one job and does not checkpoint; raise "
                         "executor.slurm.walltime (or give it more cores)")
    return notes


def executor_cores(executor: Any) -> tuple[int, str]:
    """(cores a run on ``executor`` keeps busy, where that is, in words)."""
    from core.execution.backends import layout

    if executor.kind == "slurm" and executor.slurm is not None:
        return executor.slurm.jobs * executor.slurm.cores, f"{executor.slurm.jobs} SLURM job(s)"
    if executor.kind == "local":
        plan = layout(executor)
        return plan.workers * plan.threads_per_task, "this machine (local executor)"
    return 1, f"one core ({executor.kind} executor)"


# -- the calibration -------------------------------------------------------------------------------------
def cache_directory() -> Path:
    """Where calibrations are kept: ``$LOCALCOND_CACHE``, else ``$XDG_CACHE_HOME/localcond`` or ``~/.cache``."""
    if os.environ.get("LOCALCOND_CACHE"):
        return Path(os.environ["LOCALCOND_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "localcond"


def calibration_recipe(recipe: dict[str, Any], simulator_available: bool) -> dict[str, Any]:
    """The recipe made small (module docstring); ``recipe`` is the resolved recipe as a dict."""
    small = copy.deepcopy(recipe)
    grid = small["systems"]["grid"][0]
    concentrations = sorted(grid["concentration"])
    bjerrum = sorted(grid["bjerrum_length"])
    chosen = sorted({concentrations[0], concentrations[len(concentrations) // 2], concentrations[-1]})
    small["systems"].update(replicas=1, grid=[{**grid, "concentration": chosen,
                                               "bjerrum_length": [bjerrum[len(bjerrum) // 2]]}])
    simulation = small["simulation"]
    affordable = max(CALIBRATION_MIN_STEPS, CALIBRATION_PARTICLE_STEPS // max(small["systems"]["n_particles"], 1))
    steps = min(simulation["steps"], CALIBRATION_STEPS, affordable)
    write_period = max(1, min(simulation["write_period"], steps // CALIBRATION_FRAMES))
    simulation.update(steps=steps // write_period * write_period, write_period=write_period,
                      equilibration_steps=min(simulation["equilibration_steps"], CALIBRATION_EQUILIBRATION,
                                              steps // 4),
                      precision=None)
    if not simulator_available:
        simulation.update(plugin="openmm", options={})
    if small.get("descriptor"):
        snapshots = small["descriptor"]["snapshots"]
        snapshots["max_environments"] = min(snapshots["max_environments"], CALIBRATION_ENVIRONMENTS)
    if small.get("split"):
        small["split"] = {**small["split"], "test_fraction": 0.0, "n_folds": 2, "seeds_per_fold": 1,
                          "outer_folds": 0}
    small["executor"] = {"kind": "serial", "threads_per_task": 1}
    small["name"] = f"{small['name']}-calibration"
    small.pop("workdir", None)
    return small


def machine_identity() -> dict[str, Any]:
    """What makes rates of one machine differ from another's."""
    return {"node": platform.node(), "machine": platform.machine(), "processor": platform.processor(),
            "cores": os.cpu_count()}


def fit_rates(records: list[tuple[str, float, float, dict[str, Any]]]) -> dict[str, Rate]:
    """Rates per key from (key, units, core-seconds, simulator facts) of finished calibration tasks."""
    rates: dict[str, Rate] = {}
    for key in sorted({record[0] for record in records}):
        chosen = [record for record in records if record[0] == key]
        units = np.array([record[1] for record in chosen])
        seconds = np.array([record[2] for record in chosen])
        facts = [record[3] for record in chosen]
        if key.startswith("simulate:") and all("production_seconds" in f and f.get("production_steps") for f in facts):
            per_step = float(np.median([f["production_seconds"] / f["production_steps"] for f in facts]))
            overhead = float(np.median(seconds - per_step * units))
            rates[key] = Rate(max(overhead, 0.0), per_step, len(chosen))
        else:
            rates[key] = Rate(*_line(units, seconds), len(chosen))
    return rates


def _line(units: np.ndarray, seconds: np.ndarray) -> tuple[float, float]:
    """(overhead, seconds per unit), both ≥ 0, by least squares: a line where the units differ by at least a
    third, else a proportion; a negative intercept gives a proportion, a negative slope a constant."""
    proportion = (0.0, float(seconds.sum() / max(units.sum(), 1e-300)))
    if len(units) < 2 or units.max() < 1.33 * max(units.min(), 1e-300):
        return proportion
    slope, intercept = np.polyfit(units, seconds, 1)
    if slope < 0:
        return float(seconds.mean()), 0.0
    return (float(intercept), float(slope)) if intercept >= 0 else proportion


def calibrate(resolved: Any, progress: Any = None) -> tuple[dict[str, Rate], dict[str, Any]]:
    """Rates for ``resolved``'s plugins and sizes on this machine: from the cache, or by running the small
    recipe (minutes; ``progress(text)`` is told). Returns (rates, facts about the calibration)."""
    import yaml

    from core.execution.pipeline import run_recipe
    from core.execution.planner import build_plan
    from core.plugin_system.registry import get_registry
    from core.recipe.loader import load_recipe
    from core.storage.manifest import read_manifest

    registry = get_registry()
    simulator = resolved.recipe.simulation.plugin
    available = registry.info("simulator", simulator).available
    small = calibration_recipe(resolved.recipe.model_dump(mode="json"), available)
    digest = hashlib.sha256(json.dumps({"recipe": small, "machine": machine_identity()},
                                       sort_keys=True).encode()).hexdigest()[:16]
    directory = cache_directory() / "calibration" / f"{resolved.name}-{digest}"
    rates_file = directory / "rates.json"
    facts = {"directory": str(directory), "simulator": small["simulation"]["plugin"], "cached": True}
    if rates_file.is_file():
        stored = json.loads(rates_file.read_text())
        return {key: Rate(**value) for key, value in stored["rates"].items()}, {**stored["facts"], "cached": True}
    directory.mkdir(parents=True, exist_ok=True)
    if progress is not None:
        progress(f"calibrating on this machine: the recipe made small ({directory}); minutes, once")
    recipe_path = directory / "recipe.yaml"
    with tempfile.NamedTemporaryFile("w", dir=directory, suffix=".yaml", delete=False) as handle:
        yaml.safe_dump(small, handle, sort_keys=False)
    os.replace(handle.name, recipe_path)
    small_resolved = load_recipe(recipe_path)
    with warnings.catch_warnings():   # the small run's analyses warn of what so few systems lack; only time counts
        warnings.simplefilter("ignore")
        summary = run_recipe(small_resolved, directory / "run")
    failed = [f"{o.operation} {o.label}: {o.error}" for o in summary.outcomes if not o.ok]
    if failed:
        raise RuntimeError(f"the calibration run failed ({directory / 'run'}): {failed[0]}")
    plan = build_plan(small_resolved)
    manifest = read_manifest(directory / "run")["artifacts"]
    records = []
    for task, key, units in plan_work(small_resolved, plan):
        entry = manifest.get(task.key, {})
        if entry.get("status") not in ("done", "cached") or not entry.get("path"):
            continue
        record = json.loads((directory / "run" / entry["path"] / "artifact.json").read_text())
        simulator_facts = (record.get("result") or {}).get("simulator", {}) if task.operation == "simulate" else {}
        records.append((key, units, float(record.get("wall_time", entry.get("wall_time", 0.0))), simulator_facts))
    rates = fit_rates(records)
    facts = {**facts, "cached": False, "tasks": len(records),
             "seconds": float(sum(r[2] for r in records)), "recipe": str(recipe_path)}
    rates_file.write_text(json.dumps({"rates": {k: vars(v) for k, v in rates.items()}, "facts": facts}, indent=1))
    return rates, facts


def estimate(resolved: Any, rates: dict[str, Rate], cores: int, calibrated_with: str | None = None) -> CostEstimate:
    """Core-seconds per stage of ``resolved``'s plan at ``rates``; the wall time over ``cores``.

    ``calibrated_with``: the simulator the calibration ran, where the recipe's is not available here (its
    rates then stand for the recipe's, with a note).
    """
    from core.execution.planner import build_plan

    result = CostEstimate(cores=cores)
    simulator = resolved.recipe.simulation.plugin
    if calibrated_with and calibrated_with != simulator:
        rates = {key.replace(f"simulate:{calibrated_with}:", f"simulate:{simulator}:"): rate
                 for key, rate in rates.items()}
        result.notes.append(f"simulate: {simulator} is not available here; its rate is {calibrated_with}'s on "
                            f"this machine's CPU")
    totals: dict[str, list[Any]] = {stage: [0, 0.0, set(), 0.0, ""] for stage in STAGE_ORDER}
    missing: set[str] = set()
    for task, key, units in plan_work(resolved, build_plan(resolved)):
        rate = rates.get(key) or _nearest(rates, key)
        if rate is None:
            missing.add(key)
            continue
        total, seconds = totals[task.stage], rate.seconds(units)
        total[0] += 1
        total[1] += seconds
        total[2].add(key)
        if seconds > total[3]:
            total[3], total[4] = seconds, task.label
    result.stages = [StageCost(stage, n, seconds, tuple(sorted(keys)), longest, label)
                     for stage, (n, seconds, keys, longest, label) in totals.items() if n]
    if missing:
        result.notes.append(f"no rate for {', '.join(sorted(missing))}: not counted")
    executor = resolved.recipe.executor
    if executor.kind == "slurm" and executor.slurm is not None:
        from core.plugin_system.registry import get_registry

        found = [info.plugin_class for info in get_registry().plugins("simulator") if info.name == simulator]
        checkpoints = bool(found and found[0] is not None and found[0].supports_continuation)
        from core.execution.backends import task_threads

        result.notes += walltime_notes(result.stages, task_threads(executor), executor.slurm.walltime, checkpoints)
    if resolved.recipe.simulation.precision is not None:
        result.notes.append("simulation.precision: the extension rounds are not counted (unknown before transport)")
    return result


def _nearest(rates: dict[str, Rate], key: str) -> Rate | None:
    """A simulate rate at another size, scaled by N (the cost of a step grows about as N)."""
    if not key.startswith("simulate:"):
        return None
    prefix, size = key.rsplit(":N", 1)
    others = [(k, r) for k, r in rates.items() if k.startswith(prefix + ":N")]
    if not others:
        return None
    other_key, rate = others[0]
    ratio = int(size) / int(other_key.rsplit(":N", 1)[1])
    return Rate(rate.overhead * ratio, rate.per_unit * ratio, rate.n_tasks)
