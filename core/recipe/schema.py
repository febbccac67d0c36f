"""The recipe schema (pydantic v2). Unknown keys are errors everywhere.

Defaults are the paper's Methods (:mod:`core.recipe.defaults`); plugin
options are validated separately, by each plugin's own ``Config`` model.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from core.numbers import refuse_booleans

from core.recipe import defaults


class StrictModel(BaseModel):
    """Unknown keys, NaN, infinities and booleans where numbers belong are errors everywhere."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _numbers_are_not_booleans(cls, value: Any, info: ValidationInfo) -> Any:
        return refuse_booleans(cls, value, info.field_name)


#: The most systems a recipe may plan (the paper's grid is 108; the external-validity one 124).
MAX_SYSTEMS = 10_000
#: The most production steps of one run (and of an equilibration): 10¹⁰ steps is 5·10⁷ τ at dt = 0.005.
MAX_STEPS = 10_000_000_000
#: The most frames one trajectory may have.
MAX_FRAMES = 10_000_000


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, (int, float)) and not isinstance(value, bool) else value


class SystemGroup(StrictModel):
    """A Cartesian product of concentrations × Bjerrum lengths × paired fractions.

    ``replicas``, ``n_particles`` and ``density`` default to the values given
    at the ``systems`` level.
    """

    concentration: list[float] = Field(default=list(defaults.CONCENTRATIONS), min_length=1)
    bjerrum_length: list[float] = Field(default=list(defaults.BJERRUM_LENGTHS), min_length=1)
    paired_fraction: list[float] = Field(default=[0.0], min_length=1)
    replicas: int | None = Field(default=None, ge=1)
    n_particles: int | None = Field(default=None, ge=2)
    density: float | None = Field(default=None, gt=0)
    test_only: bool = False

    _wrap = field_validator("concentration", "bjerrum_length", "paired_fraction", mode="before")(_as_list)

    @field_validator("concentration", "bjerrum_length", "paired_fraction")
    @classmethod
    def _distinct(cls, values: list[float]) -> list[float]:
        repeated = sorted({v for v in values if values.count(v) > 1})
        if repeated:
            raise ValueError(f"{', '.join(f'{v:g}' for v in repeated)} listed more than once")
        return values

    @field_validator("concentration", "bjerrum_length")
    @classmethod
    def _positive(cls, values: list[float]) -> list[float]:
        if any(v <= 0 for v in values):
            raise ValueError("every value must be > 0")
        return values

    @field_validator("paired_fraction")
    @classmethod
    def _fraction(cls, values: list[float]) -> list[float]:
        if any(not 0 <= v < 1 for v in values):
            raise ValueError("every paired fraction must be in [0, 1)")
        return values


class SystemsConfig(StrictModel):
    """Which systems to simulate: defaults, then one or more grids."""

    replicas: int = Field(default=defaults.REPLICAS, ge=1)
    n_particles: int = Field(default=defaults.N_PARTICLES, ge=2)
    density: float = Field(default=defaults.DENSITY, gt=0)
    seed: int = Field(default=2022, ge=0, description="base seed; replica seeds derive from it")
    grid: list[SystemGroup] = Field(default_factory=lambda: [SystemGroup()], min_length=1)

    @model_validator(mode="after")
    def _bounded(self) -> SystemsConfig:
        count = sum(len(g.concentration) * len(g.bjerrum_length) * len(g.paired_fraction) for g in self.grid)
        if count > MAX_SYSTEMS:
            raise ValueError(f"the grid has {count} systems; at most {MAX_SYSTEMS} are allowed")
        return self


class PluginChoice(StrictModel):
    """A stage's plugin and its options (validated by the plugin's own Config)."""

    plugin: str
    options: dict[str, Any] = Field(default_factory=dict)


class PrecisionConfig(StrictModel):
    """Simulate until precise: systems whose Λ misses the target get their replicas extended.

    After each round, every system whose relative standard error of Λ (``molar_conductivity_err / Λ``)
    is above ``target_relative_error`` has all its replicas continued from their final states by the
    steps the 1/√t law says it needs (times ``safety``), within the budgets; with ``converged`` (the
    default), so has every system whose label may still be biased by more than its error, or whose charge
    MSD relaxes more slowly than its run resolves (the relaxation-aware check of transport, ``label_status``),
    whose runs are doubled, so that the fit
    window can move past the relaxation. Then transport is recomputed, until every system meets both,
    a budget runs out, or ``max_rounds`` is reached; ``precision.json`` says what stopped each system.
    Budgets are in production steps (not wall time), so a re-run plans exactly the same extensions.
    """

    target_relative_error: float = Field(gt=0, lt=1, description="relative standard error of Λ to reach")
    max_steps_per_replica: int = Field(ge=1, le=MAX_STEPS,
                                       description="production steps of one replica, extensions included")
    max_total_steps: int | None = Field(default=None, ge=1,
                                        description="production steps over all replicas of all systems; "
                                                    "null: no total budget")
    max_rounds: int = Field(default=4, ge=1, le=20)
    safety: float = Field(default=1.2, ge=1.0, le=4.0,
                          description="extend to this multiple of the time the 1/√t law says is needed")
    converged: bool = Field(default=True,
                            description="also continue systems whose label may still be biased by more than its "
                                        "error or whose relaxation the run does not resolve (transport's "
                                        "label_status 'bias may exceed error' or 'relaxation not resolved'), doubling their "
                                        "runs each round within the budgets; false: precision alone")


class SimulationConfig(PluginChoice):
    """The simulate stage: the plugin plus the engine-independent model and run control."""

    steps: int = Field(default=defaults.STEPS, ge=1, le=MAX_STEPS)
    equilibration_steps: int = Field(default=100_000, ge=0, le=MAX_STEPS)
    write_period: int = Field(default=10_000, ge=1, le=MAX_STEPS)
    timestep: float = Field(default=defaults.TIMESTEP, gt=0)
    kT: float = Field(default=defaults.KT, gt=0)
    wca_cutoff: float = Field(default=defaults.WCA_CUTOFF, gt=0)
    thermostat_tau: float = Field(default=0.5, gt=0)
    bond_k: float = Field(default=100.0, gt=0)
    bond_r0: float = Field(default=1.0, gt=0)
    min_ions: int = Field(default=4, ge=1)
    precision: PrecisionConfig | None = None

    @model_validator(mode="after")
    def _frames(self) -> SimulationConfig:
        if self.write_period > self.steps:
            raise ValueError(f"write_period ({self.write_period}) is longer than steps ({self.steps}): "
                             "the trajectory would have one frame")
        if self.steps // self.write_period > MAX_FRAMES:
            raise ValueError(f"steps / write_period gives {self.steps // self.write_period} frames; at most "
                             f"{MAX_FRAMES} per trajectory")
        if self.precision is not None and self.precision.max_steps_per_replica < self.steps:
            raise ValueError(f"precision.max_steps_per_replica ({self.precision.max_steps_per_replica}) is below "
                             f"steps ({self.steps})")
        return self


class TransportConfig(StrictModel):
    """The transport stage (core): Einstein-form Onsager coefficients."""

    fit_window: tuple[float, float] | None = Field(
        default=None, description="[t0, t1] τ forces the fit window; null: the earliest decade, pooled over the "
                                  "replicas, where the ions' self MSD is diffusive and the charge MSD's slope has "
                                  "converged")
    slope_tolerance: float = Field(default=0.1, gt=0, description="diffusive: MSD log-log slope within this of 1")
    min_decades: float = Field(default=1.0, gt=0, description="width of the automatic window, decades")
    max_window_fraction: float = Field(
        default=0.25, gt=0, le=0.5, description="the automatic window ends at most at this fraction of the "
                                                "shortest replica's run (the collective MSD's error grows with lag)")
    include_solvent: bool = False
    attribution: bool = Field(
        default=True, description="also measure each ion's Green–Kubo share of Λ at every frame (attribution.npz; "
                                  "labels for model.labels: attribution/both and the local-attribution analysis)")
    attribution_cutoff: float | None = Field(
        default=3.0, gt=0, allow_inf_nan=False,
        description="σ: an ion's distinct terms from ions within this distance are kept, the rest replaced by "
                    "their mean (same system mean, far less noise; docs/transport.md); null: every ion's terms")
    attribution_horizon: float | Literal["auto"] = Field(
        default="auto", description="h, τ: the half-width of the current window of every ion's share, one for all "
                                    "systems, past the charge MSD's memory (the share's mean is then the "
                                    "long-time Λ the label estimates); 'auto': the latest start the automatic fit "
                                    "window can have (max_window_fraction × the run / 10^min_decades; a forced "
                                    "fit_window's t0), docs/transport.md")

    @field_validator("attribution_horizon")
    @classmethod
    def _positive_horizon(cls, horizon: float | str) -> float | str:
        if horizon != "auto" and not (isinstance(horizon, (int, float)) and math.isfinite(horizon) and horizon > 0):
            raise ValueError("attribution_horizon must be 'auto' or a positive number of τ")
        return horizon

    @field_validator("fit_window")
    @classmethod
    def _ordered(cls, window: tuple[float, float] | None) -> tuple[float, float] | None:
        if window is not None and not 0 <= window[0] < window[1]:
            raise ValueError("fit_window must be [t0, t1] with 0 <= t0 < t1 (τ)")
        return window


class SnapshotConfig(StrictModel):
    """Which frames and ions are featurised."""

    stride: int | Literal["auto"] = "auto"
    max_environments: int = Field(default=defaults.MAX_ENVIRONMENTS, ge=1)

    @field_validator("stride")
    @classmethod
    def _positive_stride(cls, stride: int | str) -> int | str:
        if isinstance(stride, int) and stride < 1:
            raise ValueError("stride must be 'auto' or an integer >= 1")
        return stride


class DescriptorConfig(PluginChoice):
    """The featurize stage."""

    snapshots: SnapshotConfig = Field(default_factory=SnapshotConfig)


class ModelConfig(PluginChoice):
    """The learn stage."""

    bonded_ions: Literal["zero", "exclude"] = "zero"
    labels: Literal["system-means", "attribution", "both"] = Field(
        default="both", description="what models fit: 'system-means', the paper's eq. 12 on each system's Λ; "
                                    "'attribution', each environment's measured Green–Kubo share of Λ "
                                    "(transport.attribution) weighted by its own noise; 'both' (docs/learn.md)")
    min_relative_std: float = Field(default=0.01, ge=0)
    on_failed_systems: Literal["stop", "skip"] = Field(
        default="stop", description="when a system has no transport or features (its simulation failed): 'stop' "
                                    "skips learning and the analyses; 'skip' learns on the other systems (the "
                                    "split is made again over them) and names the left-out systems in the "
                                    "report and metrics.json")


class AblationConfig(StrictModel):
    """More descriptors and models, each combination with the main ones learnt on the same simulations.

    Every descriptor (the main one and these) is paired with every model (the main one and these); each
    pair trains its own ensemble with the recipe's split and learn settings, and ``ablation.csv`` plus the
    report compare their held-out scores. Analyses use the main descriptor and model.
    """

    descriptors: list[PluginChoice] = Field(default_factory=list)
    models: list[PluginChoice] = Field(default_factory=list)


class SplitConfig(StrictModel):
    """How systems are split for training and evaluation (the paper's 90/10, 5 folds × 5 seeds)."""

    test_fraction: float = Field(default=defaults.TEST_FRACTION, ge=0, lt=1)
    n_folds: int = Field(default=defaults.N_FOLDS, ge=1)
    seeds_per_fold: int = Field(default=defaults.SEEDS_PER_FOLD, ge=1)
    outer_folds: int | Literal["auto"] = Field(
        default="auto",
        description="outer K-fold over the trainable systems: each fold's systems are predicted by members "
                    "trained (with the same inner folds and seeds) on the others only; 0 turns it off; "
                    f"auto: {defaults.OUTER_FOLDS} below {defaults.SMALL_DATASET_SYSTEMS} trainable systems, "
                    "else 0")
    seed: int = Field(default=0, ge=0)

    @field_validator("outer_folds")
    @classmethod
    def _outer_folds_not_one(cls, value: int | str) -> int | str:
        if value != "auto" and (value < 0 or value == 1):
            raise ValueError("must be 0 (off), 2 or more, or 'auto'")
        return value


def slurm_time_seconds(text: str) -> int | None:
    """Seconds of a time in SLURM's formats ("M", "M:S", "H:M:S", "D-H", "D-H:M", "D-H:M:S", as ``--time`` and
    ``sinfo``'s time limits write them); None for "infinite" or "UNLIMITED". Raises ValueError otherwise.

    >>> [slurm_time_seconds(t) for t in ("90", "30:15", "24:00:00", "2-12", "1-02:30", "1-00:00:01", "infinite")]
    [5400, 1815, 86400, 216000, 95400, 86401, None]
    """
    text = str(text).strip()
    if text.lower() in ("infinite", "unlimited"):
        return None
    days, _, clock = text.rpartition("-") if "-" in text else ("0", "", text)
    parts = clock.split(":")
    if not (days.isdigit() and 1 <= len(parts) <= 3 and all(part.isdigit() for part in parts)):
        raise ValueError(f"{text!r} is not a SLURM time (minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS)")
    numbers = [int(part) for part in parts]
    if "-" in text:                 # D-H, D-H:M, D-H:M:S
        hours, minutes, seconds = (numbers + [0, 0])[:3]
    elif len(numbers) == 3:         # H:M:S
        hours, minutes, seconds = numbers
    else:                           # M, M:S
        hours, minutes, seconds = 0, numbers[0], (numbers + [0])[1]
    return ((int(days) * 24 + hours) * 60 + minutes) * 60 + seconds


class SlurmConfig(StrictModel):
    """Passed to ``dask_jobqueue.SLURMCluster``; ``jobs`` is how many to start."""

    cores: int = Field(default=16, ge=1)
    processes: int = Field(default=1, ge=1)
    memory: str = "64GB"
    walltime: str = "24:00:00"
    queue: str | None = None
    account: str | None = None
    jobs: int = Field(default=1, ge=1)
    job_extra_directives: list[str] = Field(default_factory=list)
    job_script_prologue: list[str] = Field(default_factory=list)
    local_directory: str | None = None
    log_directory: str | None = Field(default=None, description="where each worker job writes its stdout and "
                                                                "stderr (relative: to the work directory); "
                                                                "null: <workdir>/slurm-logs")

    @field_validator("walltime")
    @classmethod
    def _walltime_is_a_slurm_time(cls, value: str) -> str:
        seconds = slurm_time_seconds(value)
        if seconds is None or seconds < 60:
            raise ValueError(f"{value!r}: a job needs a finite time limit of at least one minute (SLURM counts "
                             "whole minutes), e.g. 24:00:00 or 1-00:00:00")
        return value

    @field_validator("memory")
    @classmethod
    def _memory_is_a_size(cls, value: str) -> str:
        from dask.utils import parse_bytes

        try:
            size = parse_bytes(value)
        except (ValueError, TypeError):
            raise ValueError(f"{value!r} is not a memory size (e.g. 64GB, 500MB)") from None
        if size <= 0:
            raise ValueError(f"{value!r}: a job needs some memory (e.g. 64GB)")
        return value


class ExecutorConfig(StrictModel):
    """Where tasks run. ``kind`` is inferred from ``address`` or ``slurm`` when omitted."""

    kind: Literal["local", "serial", "address", "slurm"] = "local"
    workers: int | None = Field(default=None, ge=1)
    threads_per_task: int | None = Field(default=None, ge=1)
    memory_limit: str = "auto"
    address: str | None = None
    slurm: SlurmConfig | None = None
    dashboard: bool = Field(default=False, description="start the Dask dashboard (a free port) and print its "
                                                        "address when the cluster starts")

    @model_validator(mode="before")
    @classmethod
    def _infer_kind(cls, data: Any) -> Any:
        if isinstance(data, dict) and "kind" not in data:
            if data.get("address") is not None:
                data = {**data, "kind": "address"}
            elif data.get("slurm") is not None:
                data = {**data, "kind": "slurm"}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> ExecutorConfig:
        if self.kind == "address" and not self.address:
            raise ValueError("kind 'address' needs address: tcp://host:port")
        if self.kind == "slurm" and self.slurm is None:
            self.slurm = SlurmConfig()
        return self


class Recipe(StrictModel):
    """A whole recipe. Stages after ``simulation`` are optional: a recipe may stop at any stage."""

    name: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$",
                             description="names the default work directory runs/<name>: letters, digits, "
                                         "'.', '_' and '-', starting with a letter or digit")
    workdir: str | None = None
    systems: SystemsConfig = Field(default_factory=SystemsConfig)
    simulation: SimulationConfig
    transport: TransportConfig = Field(default_factory=TransportConfig)
    descriptor: DescriptorConfig | None = None
    model: ModelConfig | None = None
    split: SplitConfig = Field(default_factory=SplitConfig)
    analyses: list[PluginChoice] = Field(default_factory=list)
    ablation: AblationConfig | None = None
    executor: ExecutorConfig = Field(default_factory=ExecutorConfig)

    @model_validator(mode="after")
    def _stages_in_order(self) -> Recipe:
        if self.model is not None and self.descriptor is None:
            raise ValueError("a model needs a descriptor section (the learn stage learns from features)")
        if self.ablation is not None and self.model is None:
            raise ValueError("an ablation needs the main descriptor and model sections")
        if self.model is not None and self.model.labels != "system-means" and not self.transport.attribution:
            raise ValueError(f"model.labels: {self.model.labels} needs transport.attribution: true (the labels are "
                             "the measured attributions); set model.labels: system-means to do without")
        return self
