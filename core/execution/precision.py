"""Simulate until precise: which systems to extend, and by how many steps, after a round of transport.

The relative standard error of Λ falls as 1/√t with the simulated time t of a system (measured in
``benchmarks/transport_calibration.py``), so a system at relative error e after S production steps per
replica needs about S·(e/g)² steps per replica for a target g. A label that may still be biased by more
than its error, or whose relaxation the run does not resolve (transport's ``label_status``, from the
relaxation-aware fit) gets its runs at least doubled
(with ``converged``), since the fit window, a fixed fraction of the run, then starts twice as late. Each round extends every replica of the
systems above the target by the missing steps (times a safety factor, in whole frames), within the
per-replica and total budgets; the worst systems are served first when the total budget is short.
Decisions depend only on the recipe and on the cached transport results, so a re-run of the same
recipe replays the same rounds from its cache.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from core.recipe.schema import PrecisionConfig
from core.results import SystemTransport
from core.transport.label_status import LabelStatus, needs_longer_runs


@dataclass
class PrecisionRound:
    """What one round found and decided.

    systems: name -> {relative_error, steps_per_replica, simulated_time (τ), meets_target, label_status,
        accurate, stopped_by}: ``accurate`` is false only where the label may still be biased by more than its
        error; ``stopped_by`` says why the system is not extended: "precise and accurate", "precise"
        (accuracy not asked for, or not checkable), or "budget"; None while it is extended.
    extended: name -> production steps added to each replica of that system for the next round.
    """

    index: int
    systems: dict[str, dict[str, Any]] = field(default_factory=dict)
    extended: dict[str, int] = field(default_factory=dict)
    budget_exhausted: list[str] = field(default_factory=list)


def steps_per_replica(base_steps: int, extensions: dict[str, list[int]], name: str) -> int:
    """Production steps of each replica of ``name`` so far (the recipe's steps plus every extension)."""
    return base_steps + sum(extensions.get(name, []))


def next_extensions(transports: dict[str, SystemTransport], replicas: dict[str, int], extensions: dict[str, list[int]],
                    config: PrecisionConfig, base_steps: int, write_period: int,
                    round_index: int) -> tuple[dict[str, list[int]], PrecisionRound]:
    """The extensions after this round (a new dict; equal to ``extensions`` when nothing more is done).

    ``transports``: system name -> its transport (Λ's relative error, the simulated time, the label status);
    ``replicas``: name -> replica count.
    """
    record = PrecisionRound(round_index)
    wanted: list[tuple[float, str, int]] = []
    for name, transport in transports.items():
        relative = float(transport.molar_conductivity.relative_err)
        current = steps_per_replica(base_steps, extensions, name)
        meets = math.isfinite(relative) and relative <= config.target_relative_error
        status = transport.label_status
        accurate = not needs_longer_runs(status)
        record.systems[name] = {"relative_error": relative, "steps_per_replica": current,
                                "simulated_time": transport.simulated_time, "meets_target": meets,
                                "label_status": status, "accurate": accurate, "stopped_by": None}
        unbiased_wanted = config.converged and not accurate
        if (meets or not math.isfinite(relative)) and not unbiased_wanted:
            record.systems[name]["stopped_by"] = ("precise and accurate" if config.converged and status in
                                                  (LabelStatus.CONVERGED, LabelStatus.WITHIN_ERROR) else "precise")
            continue
        needed = current * (relative / config.target_relative_error) ** 2 * config.safety if not meets else current
        if unbiased_wanted:
            needed = max(needed, 2 * current)   # a later window: the relaxation decays with the run's length
        add = min(math.ceil((needed - current) / write_period) * write_period,
                  (config.max_steps_per_replica - current) // write_period * write_period)
        if add < write_period:
            record.budget_exhausted.append(name)
            record.systems[name]["stopped_by"] = "budget"
            continue
        wanted.append((relative, name, add))
    remaining = math.inf
    if config.max_total_steps is not None:
        used = sum(replicas[name] * steps_per_replica(base_steps, extensions, name) for name in transports)
        remaining = config.max_total_steps - used
    result = {name: list(steps) for name, steps in extensions.items()}
    for _, name, add in sorted(wanted, reverse=True):          # worst relative error first
        affordable = remaining // replicas[name] // write_period * write_period if math.isfinite(remaining) else add
        add = int(min(add, affordable))
        if add < write_period:
            record.budget_exhausted.append(name)
            record.systems[name]["stopped_by"] = "budget"
            continue
        result.setdefault(name, []).append(add)
        record.extended[name] = add
        remaining -= add * replicas[name]
    return result, record
