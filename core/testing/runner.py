"""The in-process pipeline runner (after pytest's ``Pytester``): recipes run in this process with a registry of
the built-ins plus the plugins a test registers."""

from __future__ import annotations

import functools
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

from core.analysis.inputs import AnalysisInputs
from core.storage.layout import PREDICTIONS_FILE, TRANSPORT_FILE, read_predictions, read_transport_table
from core.results import Prediction, SystemTransport
from core.plugin_system.plugin_api import Plugin
from core.testing.synthetic import write_synthetic_trajectories


@dataclass
class RunResult:
    """A finished in-process run: its work directory, outcomes and the run-level tables, read back."""

    workdir: Path
    outcomes: list = field(default_factory=list)
    resolved: Any = None
    registry: Any = None

    @property
    def ok(self) -> bool:
        return all(outcome.ok for outcome in self.outcomes)

    @property
    def failures(self) -> list[str]:
        return [f"{o.operation} {o.label}: {o.error}" for o in self.outcomes if not o.ok]

    @functools.cached_property
    def transport(self) -> list[SystemTransport]:
        """The run's ``transport.csv``, one :class:`core.results.SystemTransport` per system."""
        return read_transport_table(self.workdir / TRANSPORT_FILE)

    @functools.cached_property
    def predictions(self) -> list[Prediction]:
        """The run's ``predictions.csv``, one :class:`core.results.Prediction` per system."""
        return read_predictions(self.workdir / PREDICTIONS_FILE)

    def analysis_inputs(self) -> AnalysisInputs:
        """What the run offers analyses, as the analyze stage gathers it (the recipe needs an analysis)."""
        from core.storage.manifest import read_manifest
        from core.execution.planner import build_plan
        from core.plugin_system.registry import injected_registry
        from core.stages.analyze import gather_inputs

        with injected_registry(self.registry):
            plan = build_plan(self.resolved)
        analysis = next((task for task in plan.tasks if task.stage == "analyze"), None)
        if analysis is None:
            raise ValueError(f"{self.workdir}: the recipe has no analysis, so no analysis inputs were gathered")
        artifacts = read_manifest(self.workdir)["artifacts"]
        paths = {key: self.workdir / entry["path"] for key, entry in artifacts.items() if entry.get("path")}
        return gather_inputs(analysis, paths)


class LocalcondRunner:
    """Runs recipes in this process with a registry of the built-ins plus the plugins a test registers.

    ``directory``: where work directories and synthetic input files go (a test's ``tmp_path``).
    """

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._classes: list[type[Plugin]] = []

    def register(self, *plugin_classes: type[Plugin]) -> None:
        """Add plugin classes (any kind) to the registry the runs use; nothing needs installing."""
        self._classes += plugin_classes

    @property
    def registry(self):
        """The built-ins and the registered classes (built once per distinct set of classes)."""
        return _registry_with(tuple(self._classes))

    def run(self, recipe: dict[str, Any], name: str = "run", *, executor: Literal["serial", "local"] = "serial",
            workers: int = 2) -> RunResult:
        """Validate ``recipe`` (a dict as the YAML would hold) against this registry and run it: in this
        process (``serial``), or on a Dask ``LocalCluster`` of ``workers`` processes (``local``), each of which
        is given the registered classes before its first task."""
        import yaml

        from core.recipe.loader import load_recipe
        from core.plugin_system.registry import injected_registry
        from core.execution.pipeline import run_recipe

        registry = self.registry
        chosen = {"kind": "serial"} if executor == "serial" else {"kind": "local", "workers": workers}
        recipe = {**recipe, "executor": chosen, "workdir": str(self.directory / name)}
        path = self.directory / f"{name}.yaml"
        path.write_text(yaml.safe_dump(recipe, sort_keys=False))
        worker_plugins = (registered_plugins(tuple(self._classes)),) if executor == "local" and self._classes else ()
        with injected_registry(registry):
            resolved = load_recipe(path, registry)
            summary = run_recipe(resolved, Path(recipe["workdir"]), worker_plugins=worker_plugins)
        return RunResult(summary.workdir, summary.outcomes, resolved, registry)

    def synthetic_recipe(self, *, descriptor: str = "radial-shells", model: str = "ridge",
                         analyses: tuple[str, ...] = (), descriptor_options: dict | None = None,
                         model_options: dict | None = None) -> dict[str, Any]:
        """A recipe of three imported systems of Brownian ions (written here), with a known Λ ordering.

        Runs in seconds: the ``trajectories`` simulator reads GSD files of independent walkers whose
        diffusion coefficients differ per system, then transport, ``descriptor``, ``model``, ``analyses``.
        """
        data = self.directory / "synthetic-trajectories"
        write_synthetic_trajectories(data)
        return {
            "name": "synthetic",
            "systems": {"replicas": 2, "n_particles": 200, "density": 0.2, "seed": 1,
                        "grid": [{"concentration": [0.02], "bjerrum_length": [1.0, 2.0, 3.0]}]},
            "simulation": {"plugin": "trajectories", "options": {"pattern": str(data / "lB{bjerrum_length}_"
                                                                                        "r{replica}.gsd")}},
            "descriptor": {"plugin": descriptor, "options": descriptor_options or {},
                           "snapshots": {"max_environments": 200, "stride": 10}},
            "model": {"plugin": model, "options": model_options or {}},
            "split": {"test_fraction": 0.0, "n_folds": 3, "seeds_per_fold": 1},
            "analyses": [{"plugin": name} for name in analyses],
        }


def registered_plugins(classes: tuple[type[Plugin], ...]):
    """A Dask worker plugin that makes the built-ins plus ``classes`` the worker's registry (classes defined in
    a test travel by value, through cloudpickle); distributed is imported only here."""
    from distributed import WorkerPlugin

    class RegisteredPlugins(WorkerPlugin):
        name = "localcond-registered-plugins"

        def __init__(self, classes: tuple[type[Plugin], ...]) -> None:
            self.classes = classes

        def setup(self, worker: Any) -> None:
            from core.plugin_system.registry import use_process_registry

            use_process_registry(_registry_with(self.classes))

    return RegisteredPlugins(classes)


@functools.lru_cache(maxsize=4)
def _registry_with(classes: tuple[type[Plugin], ...]):
    """The built-in plugins plus ``classes``, in a registry of its own (the installed one is left alone)."""
    import importlib

    from core.plugin_system.hookspecs import hookimpl
    from core.plugin_system.registry import HOOK_OF_KIND, PluginRegistry

    registry = PluginRegistry()
    for kind in ("simulators", "descriptors", "models", "analyses"):  # the built-ins' own entry points
        registry.register_module(importlib.import_module(f"plugins.{kind}"), package="localcond",
                                 name=f"localcond:builtin-{kind}")

    if classes:   # one hookimpl per kind, each returning the registered classes of that kind
        holder = ModuleType("localcond-testing:registered")
        for kind, hook_name in HOOK_OF_KIND.items():
            def register(registry, _kind=kind):
                return [c for c in classes if c.kind == _kind]

            setattr(holder, f"register_{kind}", hookimpl(specname=hook_name)(register))
        registry.register_module(holder, package="test", name="localcond-testing:registered")
    return registry.collect()


@functools.lru_cache(maxsize=1)
def synthetic_run_inputs() -> AnalysisInputs:
    """The analysis inputs of a small finished run (three Brownian systems, radial shells, ridge), made once
    per process in a temporary directory that lives as long as the process."""
    directory = Path(tempfile.mkdtemp(prefix="localcond-synthetic-run-"))
    runner = LocalcondRunner(directory)
    run = runner.run(runner.synthetic_recipe(analyses=("parity",)))
    if not run.ok:
        raise RuntimeError(f"the synthetic run failed: {run.failures}")
    return run.analysis_inputs()
