"""Base classes of the four plugin kinds.

A plugin is a class with a unique ``name``, a ``version``, a pydantic
``Config`` model for its recipe options, and the methods of its kind. Core
instantiates it as ``PluginClass(config)`` with a validated config; the
constructor only stores it. Plugins never import each other: they meet only
in core's data types (:mod:`core.datatypes`).

Optional engines (OpenMM, DScribe, torch, ...) are imported inside methods,
never at module import, and listed in ``requires`` so that a missing engine
makes the plugin *unavailable* (with ``install_hint``) instead of breaking
the registry.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

from core.numbers import refuse_booleans

from core.analysis.inputs import AnalysisInputs
from core.datatypes import AnalysisResult, Frame, LearningData, SimulationJob, TaskContext


class PluginConfig(BaseModel):
    """Base of every plugin's options model: unknown keys, NaN, infinities and booleans where numbers belong
    are errors (:mod:`core.numbers`), so a plugin's options get the rule without writing it."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _numbers_are_not_booleans(cls, value: Any, info: ValidationInfo) -> Any:
        return refuse_booleans(cls, value, info.field_name)


class Plugin:
    """Common attributes of every plugin kind.

    Class attributes
    ----------------
    kind: "simulator", "descriptor", "model" or "analysis" (set by the kind's base).
    name: unique within its kind; what recipes write as ``plugin:``.
    version: the plugin's own version; part of every cache key it produces.
    Config: pydantic model of its options (subclass of :class:`PluginConfig`).
    requires: modules that must import for the plugin to be available.
    install_hint: how to install what ``requires`` names (default: ``pip install`` and the names).
    description: one line for ``python -m core plugins``.
    """

    kind: ClassVar[str] = ""
    name: ClassVar[str] = ""
    version: ClassVar[str] = "0"
    Config: ClassVar[type[PluginConfig]] = PluginConfig
    requires: ClassVar[tuple[str, ...]] = ()
    install_hint: ClassVar[str] = ""
    description: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.install_hint and cls.requires:
            cls.install_hint = "pip install " + " ".join(cls.requires)

    def __init__(self, config: PluginConfig) -> None:
        self.config = config

    @classmethod
    def unavailable_reason(cls) -> str | None:
        """``None`` when every module in ``requires`` imports, else why not."""
        for module in cls.requires:
            try:
                importlib.import_module(module)
            except Exception as exc:  # an engine can fail with more than ImportError
                return f"cannot import {module!r}: {exc}"
        return None

    @classmethod
    def missing_hardware(cls, config: PluginConfig) -> tuple[str, str] | None:
        """(option, why) where ``config`` asks for hardware this machine lacks (a GPU platform or device),
        naming what is available; ``None`` otherwise. A recipe run here (``serial`` or ``local`` executor) is
        refused with exit 2 when this says so; one for a cluster is not (its workers may have it)."""
        return None


class SimulatorPlugin(Plugin):
    """Turns one replica of one system into a GSD trajectory.

    The GSD file must have particle types ``cation``, ``anion``, ``solvent``,
    ``particles.image`` so unwrapped motion is exact, bonds of type ``pair``,
    and frames every ``settings.write_period`` steps of ``settings.timestep`` τ.
    """

    kind: ClassVar[str] = "simulator"
    #: Whether ``simulate`` honours ``job.start_step`` and ``job.continue_from`` (an extension that continues
    #: a finished run from the engine state it left in ``final_state.bin``); simulating until precise
    #: (``simulation.precision``) needs it. Plugins that drive :func:`core.md.production_loop.run_production` and
    #: restore the state :func:`core.md.production_loop.resume_point` returns get it for free.
    supports_continuation: ClassVar[bool] = False

    def simulate(self, job: SimulationJob, context: TaskContext) -> dict[str, Any]:
        """Run the simulation and write ``job.trajectory_path``.

        Called once per replica, in a worker, with ``context.threads`` threads.
        Checkpoints go in ``context.scratch_dir``, which survives an interrupted
        attempt: a second call with the same job should resume from it.
        Returns JSON-serialisable metadata (engine, version, wall time, ...).
        """
        raise NotImplementedError


class DescriptorPlugin(Plugin):
    """Turns a snapshot into one feature vector per chosen ion."""

    kind: ClassVar[str] = "descriptor"

    def feature_names(self, types: tuple[str, ...]) -> list[str]:
        """Names of the ``dim`` feature columns for a trajectory with these particle types."""
        raise NotImplementedError

    def compute(self, frame: Frame, centers: np.ndarray) -> np.ndarray:
        """Features of the particles ``centers`` ((n,) int64 indices) in ``frame``.

        Returns an (n, dim) array (float32 or float64), row i for ``centers[i]``.
        Must be invariant under rotation, translation, permutation of
        particles and periodic wrapping.
        """
        raise NotImplementedError


@runtime_checkable
class LocalConductivityModel(Protocol):
    """A fitted (or to-be-fitted) map from an environment to its local conductivity k."""

    def fit(self, train: LearningData, validation: LearningData | None = None) -> LocalConductivityModel:
        """Fit so that the weighted system means of k match ``train.target`` (eq. 12); return self."""
        ...

    def predict_local(self, features: np.ndarray) -> np.ndarray:
        """k for each row of ``features`` ((n_env, dim) -> (n_env,)), in σ² units of Λ."""
        ...

    def save(self, directory: Path) -> None:
        """Write everything needed to predict (weights, scalers) into ``directory``."""
        ...


class ModelPlugin(Plugin):
    """Makes local-conductivity models; core trains them as ensemble members.

    ``stochastic`` says whether members with different seeds differ; a
    deterministic model gets one member per cross-validation fold.
    ``fits_local_labels`` says whether its members fit each environment's measured attribution
    (:attr:`LearningData.local_target`) when the recipe's ``model.labels`` asks for it; a recipe asking it of
    a model that does not is refused.
    """

    kind: ClassVar[str] = "model"
    stochastic: ClassVar[bool] = True
    fits_local_labels: ClassVar[bool] = False

    def create(self, seed: int, threads: int) -> LocalConductivityModel:
        """A new, unfitted model for one ensemble member."""
        raise NotImplementedError

    def load(self, directory: Path) -> LocalConductivityModel:
        """A fitted model from what its ``save`` wrote."""
        raise NotImplementedError


class AnalysisPlugin(Plugin):
    """Reads a finished run and writes figures, tables and numbers.

    ``needs`` lists which parts of :class:`AnalysisInputs` must be non-empty
    ("transport", "feature_stores", "predictions", "local_conductivities", "attributions", ...);
    core skips the analysis with a note in the report when the run lacks them.
    """

    kind: ClassVar[str] = "analysis"
    needs: ClassVar[frozenset[str]] = frozenset()

    def run(self, inputs: AnalysisInputs, output_dir: Path) -> AnalysisResult:
        """Write outputs under ``output_dir`` and describe them; called once per run."""
        raise NotImplementedError


PLUGIN_KINDS: dict[str, type[Plugin]] = {
    "simulator": SimulatorPlugin,
    "descriptor": DescriptorPlugin,
    "model": ModelPlugin,
    "analysis": AnalysisPlugin,
}
