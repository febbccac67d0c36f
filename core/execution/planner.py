"""Turning a resolved recipe into the graph of tasks, each keyed by everything it depends on.

Keys are computed before anything runs: a task's key hashes its own identity (its operation, plugin name
and version, options, system, replica, seed, ...; see :mod:`core.execution.tasks`) and the keys of its upstream
tasks, so a change anywhere recomputes exactly what depends on it, and a recipe that differs only in its
descriptor reuses the simulations and transport results.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from core.storage.layout import MAIN_PREDICTION
from core.learn.splits import Split, make_split
from core.recipe.loader import ResolvedRecipe, StagePlugin
from core.plugin_system.registry import get_registry
from core.execution.tasks import (AnalyzeTask, FeaturizeTask, LearnSettings, MemberTask, OuterFold, PredictTask,
                        SimulateTask, Task, TransportTask)


@dataclass
class Plan:
    """All tasks in dependency order, plus the learning split (if the recipe learns)."""

    tasks: list[Task] = field(default_factory=list)
    split: Split | None = None

    def by_key(self) -> dict[str, Task]:
        return {t.key: t for t in self.tasks}

    def add(self, task: Task) -> str:
        """Append ``task`` (its upstream tasks must already be in the plan); returns its key."""
        self.tasks.append(task)
        return task.key


def _shared_horizon_config(resolved: ResolvedRecipe):
    """The recipe's transport options, ``attribution_horizon: auto`` resolved to one number of τ for every
    system where the recipe makes the runs (an engine simulator: its production run's length); trajectories
    it reads keep ``auto``, which the transport stage resolves from each system's shortest replica."""
    from core.transport.attribution import shared_horizon

    config = resolved.recipe.transport
    info = get_registry().info("simulator", resolved.simulator.name)
    engine = info is not None and getattr(info.plugin_class, "supports_continuation", False)
    if config.attribution_horizon != "auto" or not engine:
        return config
    simulation = resolved.recipe.simulation
    horizon = shared_horizon(simulation.steps * simulation.timestep, fit_window=config.fit_window,
                             max_window_fraction=config.max_window_fraction, min_decades=config.min_decades)
    return config.model_copy(update={"attribution_horizon": horizon})


def build_plan(resolved: ResolvedRecipe, extensions: dict[str, list[int]] | None = None) -> Plan:
    """The whole pipeline for ``resolved``: simulate → transport → featurize → learn → analyze.

    ``extensions`` (simulate until precise) maps a system's name to the production steps of each
    extension round; every replica of that system is continued by those steps, one simulate task per
    round that depends on the previous one. Transport reads all of a replica's segments; featurize
    and the analyses read the first (so extending a run recomputes neither).
    """
    recipe = resolved.recipe
    plan = Plan()
    settings = resolved.simulation_settings()
    simulator = resolved.simulator
    sim_keys: dict[str, tuple[str, ...]] = {}
    transport_keys: dict[str, str] = {}
    store_keys: dict[str, str] = {}

    transport_config = _shared_horizon_config(resolved)
    for system in resolved.systems:
        segments = []
        for replica in range(system.replicas):
            fresh = SimulateTask(f"{system.name}.r{replica}", system.name, (), simulator, system, replica,
                                 system.replica_seed(replica), settings)
            chain = [plan.add(fresh)]
            start = settings.steps
            for round_index, steps in enumerate((extensions or {}).get(system.name, []), start=1):
                extension = dataclasses.replace(fresh, label=f"{system.name}.r{replica}.ext{round_index}",
                                                deps=(chain[-1],), settings=dataclasses.replace(settings, steps=steps),
                                                start_step=start, continues=chain[-1])
                chain.append(plan.add(extension))
                start += steps
            segments.append(tuple(chain))
        sim_keys[system.name] = tuple(chain[0] for chain in segments)
        transport_keys[system.name] = plan.add(TransportTask(
            system.name, system.name, tuple(key for chain in segments for key in chain), system, transport_config,
            recipe.simulation.kT, tuple(segments)))

    descriptor = resolved.descriptor
    if descriptor is not None and recipe.descriptor is not None:
        store_keys = _add_featurize(plan, resolved, descriptor, sim_keys, "")

    predict_key = None
    model = resolved.model
    if model is not None and recipe.model is not None:
        split = _split_for(resolved, model)
        plan.split = split
        predict_key = _add_learn(plan, resolved, model, split, store_keys, transport_keys, "", MAIN_PREDICTION,
                                 {"descriptor": descriptor.name, "descriptor_options": descriptor.options,
                                  "model": model.name, "model_options": model.options})
        descriptors = [descriptor, *resolved.ablation_descriptors]
        stores_of = {0: store_keys}
        for index, extra in enumerate(resolved.ablation_descriptors, start=1):
            stores_of[index] = _add_featurize(plan, resolved, extra, sim_keys, f"ablation{index}-{extra.name}.")
        for d_index, chosen_descriptor in enumerate(descriptors):
            for m_index, chosen_model in enumerate([model, *resolved.ablation_models]):
                if d_index == 0 and m_index == 0:
                    continue
                tag = f"ablation-d{d_index}-m{m_index}"
                _add_learn(plan, resolved, chosen_model, _split_for(resolved, chosen_model), stores_of[d_index],
                           transport_keys, f"{tag}.", tag,
                           {"descriptor": chosen_descriptor.name, "descriptor_options": chosen_descriptor.options,
                            "model": chosen_model.name, "model_options": chosen_model.options})

    for index, analysis in enumerate(resolved.analyses):
        deps = (list(transport_keys.values()) + list(store_keys.values()) + ([predict_key] if predict_key else [])
                + [key for keys in sim_keys.values() for key in keys])
        plan.add(AnalyzeTask(f"{index:02d}-{analysis.name}", None, tuple(deps), analysis, tuple(resolved.systems),
                             dict(transport_keys), dict(store_keys), predict_key, dict(sim_keys)))
    return plan


def _split_for(resolved: ResolvedRecipe, model: StagePlugin) -> Split:
    model_class = get_registry().info("model", model.name).plugin_class
    return make_split(resolved.systems, resolved.recipe.split,
                      stochastic=bool(getattr(model_class, "stochastic", True)))


def _add_featurize(plan: Plan, resolved: ResolvedRecipe, descriptor: StagePlugin,
                   sim_keys: dict[str, tuple[str, ...]], prefix: str) -> dict[str, str]:
    """One featurize task per system for ``descriptor``; returns system -> store key."""
    snapshots = resolved.recipe.descriptor.snapshots
    return {system.name: plan.add(FeaturizeTask(f"{prefix}{system.name}", system.name, sim_keys[system.name],
                                                descriptor, snapshots))
            for system in resolved.systems}


def _add_learn(plan: Plan, resolved: ResolvedRecipe, model: StagePlugin, split: Split, store_keys: dict[str, str],
               transport_keys: dict[str, str], prefix: str, label: str, variant: dict) -> str:
    """The members of ``split`` and the prediction task ``label`` for ``model`` on ``store_keys``; its key."""
    recipe = resolved.recipe
    learn = LearnSettings(recipe.model.bonded_ions, recipe.model.min_relative_std, recipe.model.labels)
    member_keys: dict[int, str] = {}
    for member in split.members:
        names = [*member.train, *member.validation]
        deps = [store_keys[n] for n in names] + [transport_keys[n] for n in names]
        outer = "" if member.outer is None else f"outer{member.outer}-"
        member_keys[member.index] = plan.add(MemberTask(
            f"{prefix}{outer}member{member.index:03d}-fold{member.fold}", None, tuple(deps), model, learn, member,
            {n: store_keys[n] for n in names}, {n: transport_keys[n] for n in names}))
    names = [s.name for s in resolved.systems]
    outer = tuple(OuterFold(tuple(systems), tuple(member_keys[m.index] for m in split.outer_members(index)))
                  for index, systems in enumerate(split.outer_folds))
    deps = list(member_keys.values()) + [store_keys[n] for n in names] + [transport_keys[n] for n in names]
    return plan.add(PredictTask(
        label, None, tuple(deps), model, learn, tuple(member_keys[m.index] for m in split.main_members), outer,
        {n: split.role(n) for n in names}, {n: store_keys[n] for n in names}, {n: transport_keys[n] for n in names},
        variant))
