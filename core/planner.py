"""Turning a resolved recipe into the graph of units, each keyed by everything it depends on.

Keys are computed before anything runs: a unit's key hashes its own identity
(stage, plugin name and version, options, system, replica, seed, ...) and the
keys of its upstream units, so a change anywhere recomputes exactly what
depends on it, and a recipe that differs only in its descriptor reuses the
simulations and transport results.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from core.artifacts import cache_key
from core.layout import MAIN_PREDICTION
from core.learn.splits import Split, make_split
from core.recipe.loader import ResolvedRecipe, StagePlugin
from core.registry import get_registry
from core.transport.onsager import TRANSPORT_VERSION
from core.units import Unit

#: Bumped when core's featurize or learn code changes its outputs; part of keys.
FEATURIZE_VERSION = "1"
LEARN_VERSION = "3"


@dataclass
class Plan:
    """All units in dependency order, plus the learning split (if the recipe learns)."""

    units: list[Unit] = field(default_factory=list)
    split: Split | None = None

    def by_key(self) -> dict[str, Unit]:
        return {u.key: u for u in self.units}

    def add(self, stage: str, step: str, label: str, system: str | None, deps: list[str],
            identity: dict[str, Any], payload: dict[str, Any]) -> str:
        key = cache_key({"stage": step, "identity": identity, "deps": deps})
        self.units.append(Unit(stage, step, label, key, system, tuple(deps), payload))
        return key


def _plugin_identity(plugin: StagePlugin) -> dict[str, Any]:
    return {"name": plugin.name, "version": plugin.version, "options": plugin.options}


def _plugin_ref(plugin: StagePlugin) -> dict[str, str]:
    return {"kind": plugin.kind, "name": plugin.name, "version": plugin.version, "package": plugin.package}


def build_plan(resolved: ResolvedRecipe, extensions: dict[str, list[int]] | None = None) -> Plan:
    """The whole pipeline for ``resolved``: simulate → transport → featurize → learn → analyze.

    ``extensions`` (simulate until precise) maps a system's name to the production steps of each
    extension round; every replica of that system is continued by those steps, one simulate unit per
    round that depends on the previous one. Transport reads all of a replica's segments; featurize
    and the analyses read the first (so extending a run recomputes neither).
    """
    recipe = resolved.recipe
    plan = Plan()
    settings = asdict(resolved.simulation_settings())
    simulator = resolved.simulator
    sim_keys: dict[str, list[str]] = {}
    transport_keys: dict[str, str] = {}
    store_keys: dict[str, str] = {}

    for system in resolved.systems:
        system_dict = asdict(system)
        keys, segments = [], []
        for replica in range(system.replicas):
            seed = system.replica_seed(replica)

            def simulate_unit(label: str, deps: list[str], run_settings: dict[str, Any], **extra: Any) -> str:
                """One simulate unit; ``extra`` (start_step, continues) goes into identity and payload alike,
                except ``continues``, which is already in the key through ``deps``."""
                common = {"replica": replica, "seed": seed, "settings": run_settings, **extra}
                identity = {k: v for k, v in common.items() if k != "continues"}
                return plan.add("simulate", "simulate", label, system.name, deps,
                                {"plugin": _plugin_identity(simulator), "system": system.physical_parameters(),
                                 **identity},
                                {"plugin": simulator.name, "options": simulator.options,
                                 "plugin_ref": _plugin_ref(simulator), "system": system_dict, **common})

            chain = [simulate_unit(f"{system.name}.r{replica}", [], settings)]
            start = settings["steps"]
            for round_index, steps in enumerate((extensions or {}).get(system.name, []), start=1):
                chain.append(simulate_unit(f"{system.name}.r{replica}.ext{round_index}", [chain[-1]],
                                           {**settings, "steps": steps}, start_step=start, continues=chain[-1]))
                start += steps
            keys.append(chain[0])
            segments.append(chain)
        sim_keys[system.name] = keys
        transport_config = recipe.transport.model_dump(mode="json")
        transport_keys[system.name] = plan.add(
            "transport", "transport", system.name, system.name, [key for chain in segments for key in chain],
            {"version": TRANSPORT_VERSION, "config": transport_config, "system": system.physical_parameters()},
            {"system": system_dict, "config": transport_config, "kT": recipe.simulation.kT, "segments": segments})

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
        plan.add("analyze", "analyze", f"{index:02d}-{analysis.name}", None, deps,
                 {"plugin": _plugin_identity(analysis)},
                 {"plugin": analysis.name, "options": analysis.options, "plugin_ref": _plugin_ref(analysis),
                  "systems": [asdict(s) for s in resolved.systems], "transport": transport_keys,
                  "stores": store_keys, "predict": predict_key, "trajectories": sim_keys})
    return plan


def _split_for(resolved: ResolvedRecipe, model: StagePlugin) -> Split:
    model_class = get_registry().info("model", model.name).plugin_class
    return make_split(resolved.systems, resolved.recipe.split,
                      stochastic=bool(getattr(model_class, "stochastic", True)))


def _add_featurize(plan: Plan, resolved: ResolvedRecipe, descriptor: StagePlugin, sim_keys: dict[str, list[str]],
                   prefix: str) -> dict[str, str]:
    """One featurize unit per system for ``descriptor``; returns system -> store key."""
    recipe = resolved.recipe
    snapshots = recipe.descriptor.snapshots.model_dump(mode="json")
    store_keys = {}
    for system in resolved.systems:
        store_keys[system.name] = plan.add(
            "featurize", "featurize", f"{prefix}{system.name}", system.name, sim_keys[system.name],
            {"version": FEATURIZE_VERSION, "plugin": _plugin_identity(descriptor), "snapshots": snapshots},
            {"plugin": descriptor.name, "version": descriptor.version, "options": descriptor.options,
             "plugin_ref": _plugin_ref(descriptor), "snapshots": snapshots})
    return store_keys


def _add_learn(plan: Plan, resolved: ResolvedRecipe, model: StagePlugin, split: Split, store_keys: dict[str, str],
               transport_keys: dict[str, str], prefix: str, label: str, variant: dict[str, Any]) -> str:
    """The members of ``split`` and the prediction unit ``label`` for ``model`` on ``store_keys``; its key."""
    recipe = resolved.recipe
    learn = {"bonded_ions": recipe.model.bonded_ions, "min_relative_std": recipe.model.min_relative_std}
    member_keys: dict[int, str] = {}
    for member in split.members:
        names = [*member.train, *member.validation]
        deps = [store_keys[n] for n in names] + [transport_keys[n] for n in names]
        outer = "" if member.outer is None else f"outer{member.outer}-"
        member_keys[member.index] = plan.add(
            "learn", "member", f"{prefix}{outer}member{member.index:03d}-fold{member.fold}", None, deps,
            {"version": LEARN_VERSION, "plugin": _plugin_identity(model), "learn": learn,
             "member": asdict(member)},
            {"plugin": model.name, "options": model.options, "plugin_ref": _plugin_ref(model),
             "learn": learn, "member": asdict(member),
             "stores": {n: store_keys[n] for n in names}, "transport": {n: transport_keys[n] for n in names}})
    names = [s.name for s in resolved.systems]
    roles = {n: split.role(n) for n in names}
    main_keys = [member_keys[m.index] for m in split.main_members]
    outer = [{"systems": list(systems), "members": [member_keys[m.index] for m in split.outer_members(index)]}
             for index, systems in enumerate(split.outer_folds)]
    payload = {"plugin": model.name, "options": model.options, "plugin_ref": _plugin_ref(model), "learn": learn,
               "members": main_keys, "outer": outer, "roles": roles, "stores": {n: store_keys[n] for n in names},
               "transport": {n: transport_keys[n] for n in names}}
    payload["variant"] = variant
    return plan.add(
        "learn", "predict", label, None,
        list(member_keys.values()) + [store_keys[n] for n in names] + [transport_keys[n] for n in names],
        {"version": LEARN_VERSION, "plugin": _plugin_identity(model), "learn": learn, "roles": roles},
        payload)
