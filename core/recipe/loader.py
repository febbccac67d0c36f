"""Loading a recipe: YAML -> schema -> plugin options -> systems, with errors that point at the YAML."""

from __future__ import annotations

import difflib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from core.datatypes import SimulationSettings, SystemSpec
from core.errors import RecipeError, UserError
from core.recipe.schema import PluginChoice, Recipe
from core.recipe.systems import expand_systems
from core.recipe.yaml_locations import line_of, read_yaml
from core.plugin_system.registry import PluginRegistry, get_registry


@dataclass(frozen=True)
class StagePlugin:
    """A stage's resolved plugin: name, version, package and validated options (JSON-able)."""

    kind: str
    name: str
    version: str
    package: str
    options: dict[str, Any]

    def identity(self) -> dict[str, Any]:
        """What of the plugin decides its outputs (part of cache keys): name, version and options."""
        return {"name": self.name, "version": self.version, "options": self.options}

    def reference(self) -> dict[str, str]:
        """Which plugin this is, for the manifest: kind, name, version and the package that provides it."""
        return {"kind": self.kind, "name": self.name, "version": self.version, "package": self.package}

    def instantiate(self) -> Any:
        """The configured plugin, from the registry in force (:func:`core.plugin_system.registry.get_registry`)."""
        return get_registry().instantiate(self.kind, self.name, self.options)


@dataclass(frozen=True)
class ResolvedRecipe:
    """A validated recipe with its systems expanded and every plugin resolved."""

    source: Path
    recipe: Recipe
    systems: list[SystemSpec]
    simulator: StagePlugin
    descriptor: StagePlugin | None
    model: StagePlugin | None
    analyses: list[StagePlugin]
    #: "kind name: reason" of plugins accepted although unavailable here (``allow_unavailable``).
    unavailable: list[str] = field(default_factory=list)
    #: The ablation's extra descriptors and models (empty without an ``ablation`` section).
    ablation_descriptors: list[StagePlugin] = field(default_factory=list)
    ablation_models: list[StagePlugin] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.recipe.name or self.source.stem

    def document(self) -> dict[str, Any]:
        """The recipe as ``validate --resolved`` prints it: every setting with its default filled in, the
        plugins' ``options`` included (each plugin's validated Config, not only what the recipe wrote)."""
        out = self.recipe.model_dump(mode="json")
        stages = [(out["simulation"], self.simulator), (out.get("descriptor"), self.descriptor),
                  (out.get("model"), self.model), *zip(out.get("analyses") or [], self.analyses)]
        if out.get("ablation"):
            stages += [*zip(out["ablation"]["descriptors"], self.ablation_descriptors),
                       *zip(out["ablation"]["models"], self.ablation_models)]
        for section, stage in stages:
            if section is not None and stage is not None:
                section["options"] = stage.options
        return out

    def simulation_settings(self) -> SimulationSettings:
        s = self.recipe.simulation
        return SimulationSettings(
            steps=s.steps, equilibration_steps=s.equilibration_steps, write_period=s.write_period,
            timestep=s.timestep, kT=s.kT, wca_cutoff=s.wca_cutoff, thermostat_tau=s.thermostat_tau,
            bond_k=s.bond_k, bond_r0=s.bond_r0, min_ions=s.min_ions)


def load_recipe(path: str | Path, registry: PluginRegistry | None = None, *,
                allow_unavailable: bool = False) -> ResolvedRecipe:
    """Read and fully validate a recipe; every problem found is reported at once as a RecipeError.

    ``allow_unavailable`` accepts plugins that are installed but whose engine is missing here (a recipe
    for another machine); their options are still validated. Their names are in ``unavailable``.
    """
    path = Path(path)
    data, node = read_yaml(path)
    source = str(path)
    if not isinstance(data, dict):
        raise UserError("a recipe must be a YAML mapping (key: value lines) at the top level", source=source)
    try:
        recipe = Recipe.model_validate(data)
    except ValidationError as exc:
        raise RecipeError([_problem(error, source, node) for error in exc.errors()]) from None

    registry = registry or get_registry()
    problems: list[UserError] = []
    unavailable: list[str] = []

    def resolve(kind: str, choice: PluginChoice, where: str) -> StagePlugin | None:
        try:
            info = registry.info(kind, choice.plugin)
            if allow_unavailable and info.plugin_class is not None and not info.available:
                plugin_class = info.plugin_class
                unavailable.append(f"{kind} {info.name}: {info.unavailable_reason}")
            else:
                plugin_class = registry.require(kind, choice.plugin)
        except UserError as exc:
            names = [p.name for p in registry.plugins(kind)]
            message = exc.message
            close = difflib.get_close_matches(choice.plugin, names, n=1)
            if close and "unknown" in message:
                message += f" (did you mean {close[0]!r}?)"
            problems.append(UserError(message, source=source, path=f"{where}.plugin",
                                      line=line_of(node, _split(f"{where}.plugin"))))
            return None
        try:
            options = plugin_class.Config.model_validate(choice.options)
        except ValidationError as exc:
            for error in exc.errors():
                error = {**error, "loc": (*_split(f"{where}.options"), *error["loc"])}
                problems.append(_problem(error, source, node, plugin_class.Config, len(_split(f"{where}.options"))))
            return None
        here = recipe.executor.kind in ("serial", "local") and not allow_unavailable and info.available
        missing = plugin_class.missing_hardware(options) if here else None
        if missing is not None:
            field, why = missing
            where_option = f"{where}.options.{field}"
            problems.append(UserError(why, source=source, path=where_option, line=line_of(node, _split(where_option))))
            return None
        return StagePlugin(kind, info.name, info.version, info.package, options.model_dump(mode="json"))

    simulator = resolve("simulator", recipe.simulation, "simulation")
    if simulator is not None and recipe.simulation.precision is not None:
        simulator_class = registry.info("simulator", simulator.name).plugin_class
        if not getattr(simulator_class, "supports_continuation", False):
            where = "simulation.precision"
            problems.append(UserError(f"simulator {simulator.name!r} cannot continue a run from its final state, "
                                      "which simulating until precise needs; drop this section or use a simulator "
                                      "that can (openmm, hoomd)", source=source, path=where,
                                      line=line_of(node, _split(where))))
    if simulator is not None and recipe.transport.fit_window is not None:
        problem = _fit_window_problem(recipe, registry.info("simulator", simulator.name).plugin_class)
        if problem:
            problems.append(UserError(problem, source=source, path="transport.fit_window",
                                      line=line_of(node, _split("transport.fit_window"))))
    if simulator is not None and recipe.transport.attribution:
        problem = _horizon_problem(recipe, registry.info("simulator", simulator.name).plugin_class)
        if problem:
            where = "transport.attribution_horizon"
            problems.append(UserError(problem, source=source, path=where, line=line_of(node, _split(where))))
    descriptor = resolve("descriptor", recipe.descriptor, "descriptor") if recipe.descriptor else None
    model = resolve("model", recipe.model, "model") if recipe.model else None
    analyses = [resolve("analysis", choice, f"analyses.{i}") for i, choice in enumerate(recipe.analyses)]
    ablation = recipe.ablation
    extra_descriptors = [resolve("descriptor", c, f"ablation.descriptors.{i}")
                         for i, c in enumerate(ablation.descriptors)] if ablation else []
    extra_models = [resolve("model", c, f"ablation.models.{i}") for i, c in enumerate(ablation.models)] \
        if ablation else []

    if recipe.model is not None and recipe.model.labels != "system-means":
        able = ", ".join(sorted(info.name for info in registry.plugins("model")
                                if getattr(info.plugin_class, "fits_local_labels", False))) or "none installed"
        for chosen in (model, *extra_models):
            chosen_class = registry.info("model", chosen.name).plugin_class if chosen is not None else None
            if chosen_class is not None and not getattr(chosen_class, "fits_local_labels", False):
                problems.append(UserError(
                    f"model {chosen.name!r} does not fit measured local labels, which model.labels: "
                    f"{recipe.model.labels} asks for; set model.labels: system-means, or use a model that does "
                    f"({able})", source=source, path="model.labels",
                    line=line_of(node, _split("model.labels"))))
    for kind, main, extras in (("descriptors", descriptor, extra_descriptors), ("models", model, extra_models)):
        seen = [(main.name, main.options)] if main is not None else []
        for index, extra in enumerate(extras):
            if extra is None:
                continue
            if (extra.name, extra.options) in seen:
                where = f"ablation.{kind}.{index}"
                problems.append(UserError(f"{extra.name} with these options is already in the comparison (the main "
                                          f"{kind[:-1]} or an earlier entry); give it different options or drop it",
                                          source=source, path=where, line=line_of(node, _split(where))))
            seen.append((extra.name, extra.options))

    if recipe.executor.dashboard and recipe.executor.kind != "serial" and not allow_unavailable:
        import importlib.util

        if importlib.util.find_spec("bokeh") is None:
            problems.append(UserError("the Dask dashboard needs bokeh, which is not installed here (pip install "
                                      "'localcond[cluster]')", source=source, path="executor.dashboard",
                                      line=line_of(node, _split("executor.dashboard"))))
    if recipe.executor.kind == "slurm" and not allow_unavailable:
        from core.execution.slurm_checks import check_slurm_block

        try:
            cluster_problems = check_slurm_block(recipe.executor.slurm, source)
        except UserError as exc:
            cluster_problems = [exc]
        for exc in cluster_problems:
            problems.append(UserError(exc.message, source=source, path=exc.path,
                                      line=line_of(node, _split(exc.path or ""))))

    systems: list[SystemSpec] = []
    try:
        systems = expand_systems(recipe.systems, min_ions=recipe.simulation.min_ions)
    except UserError as exc:
        problems.append(UserError(exc.message, source=source, path=exc.path,
                                  line=line_of(node, _split(exc.path or ""))))
    if problems:
        raise RecipeError(problems)
    assert simulator is not None
    return ResolvedRecipe(path, recipe, systems, simulator, descriptor, model,
                          [a for a in analyses if a is not None], unavailable,
                          [d for d in extra_descriptors if d is not None], [m for m in extra_models if m is not None])


def _fit_window_problem(recipe: Recipe, simulator_class: type) -> str | None:
    """Why ``transport.fit_window`` cannot be fitted on the runs an engine simulator makes (None if it can, or
    if the simulator reads trajectories whose length the recipe does not say)."""
    from core.transport.window import FitWindowError, check_forced_window

    if not getattr(simulator_class, "supports_continuation", False):   # not an engine: lengths are the files'
        return None
    simulation = recipe.simulation
    try:
        check_forced_window(recipe.transport.fit_window, simulation.steps // simulation.write_period + 1,
                            simulation.write_period * simulation.timestep)
    except FitWindowError as exc:
        return f"{exc} (the production run: simulation.steps, write_period and timestep)"
    return None


def _horizon_problem(recipe: Recipe, simulator_class: type) -> str | None:
    """Why the attribution's horizon leaves no frame of the runs an engine simulator makes (None if it does
    not, or if the simulator reads trajectories whose length the recipe does not say)."""
    from core.transport.attribution import horizon_frames, shared_horizon

    if not getattr(simulator_class, "supports_continuation", False):
        return None
    simulation, transport = recipe.simulation, recipe.transport
    interval = simulation.write_period * simulation.timestep
    frames = simulation.steps // simulation.write_period + 1
    horizon = transport.attribution_horizon
    if horizon == "auto":
        horizon = shared_horizon(simulation.steps * simulation.timestep, fit_window=transport.fit_window,
                                 max_window_fraction=transport.max_window_fraction,
                                 min_decades=transport.min_decades)
    h = horizon_frames(float(horizon), interval)
    if 2 * h < frames:
        return None
    return (f"the shares' horizon {float(horizon):g} τ needs {h} frames on either side of a frame, but the "
            f"production run has {frames} frames (simulation.steps / write_period); the longest horizon it "
            f"allows is {((frames - 1) // 2 - 1) * interval:g} τ")


def _split(dotted: str) -> tuple[str | int, ...]:
    parts: list[str | int] = []
    for part in dotted.replace("[", ".").replace("]", "").split("."):
        if part:
            parts.append(int(part) if part.isdigit() else part)
    return tuple(parts)


def _dotted(location: tuple[str | int, ...]) -> str:
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _problem(error: dict[str, Any], source: str, node: yaml.Node | None,
             model: type[BaseModel] = Recipe, model_depth: int = 0) -> UserError:
    """One pydantic error as a UserError naming the YAML path and what was expected."""
    location = tuple(part for part in error["loc"] if not (isinstance(part, str) and "[" in part))
    kind = error["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, location[model_depth:-1])
        message = f"unknown key {location[-1]!r}"
        close = difflib.get_close_matches(str(location[-1]), allowed, n=1)
        if close:
            message += f" (did you mean {close[0]!r}?)"
        if allowed:
            message += f"; expected one of: {', '.join(allowed)}"
    elif kind == "missing":
        message = "required key is missing"
    else:
        message = f"expected {_expectation(error)}, got {error.get('input')!r}"
    return UserError(message, source=source, path=_dotted(location), line=line_of(node, location))


def _expectation(error: dict[str, Any]) -> str:
    message: str = error["msg"]
    for prefix in ("Input should be ", "Value error, "):
        if message.startswith(prefix):
            message = message[len(prefix):]
    return message


def _allowed_keys(model: type[BaseModel], location: tuple[str | int, ...]) -> list[str]:
    current: Any = model
    for part in location:
        current = _model_in(current if isinstance(part, int) else _field_type(current, part))
        if current is None:
            return []
    current = _model_in(current)
    return list(current.model_fields) if current is not None else []


def _field_type(model: Any, name: str | int) -> Any:
    if isinstance(model, type) and issubclass(model, BaseModel) and name in model.model_fields:
        return model.model_fields[name].annotation
    return None


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside ``annotation`` (through Optional / list / Union), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in typing.get_args(annotation):
        found = _model_in(argument)
        if found is not None:
            return found
    return None
