"""The base of simulators that drive an MD engine through :func:`core.md.production_loop.run_production`.

A subclass builds its engine's :class:`core.md.production_loop.EngineSession` (placed, minimised and equilibrated,
or restored from a checkpoint) and names itself; :meth:`EngineSimulator.simulate` does the rest the same
way for every engine: find where an interrupted attempt stopped, run production with checkpoints, and
report what ran. Its options (:class:`EngineConfig`) are those every engine shares.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar, Literal

from pydantic import Field

from core.datatypes import SimulationJob, TaskContext
from core.md.electrolyte import build_topology
from core.plugin_system.plugin_api import PluginConfig, SimulatorPlugin
from core.md.production_loop import EngineSession, ProductionOptions, resume_point, run_production


class EngineConfig(PluginConfig):
    """Options every engine has: how Coulomb is split, the thermostat, and production control."""

    coulomb_method: Literal["auto", "ion-pairs", "all-particles"] = Field(
        default="auto", description="real-space Coulomb over the ion pairs only, or over every bead within the "
                                    "cutoff; auto: the engine's choice for the system")
    thermostat: Literal["nose-hoover", "none"] = Field(
        default="nose-hoover", description="'none' runs production in NVE (for energy-drift checks)")
    checkpoint_frames: int = Field(default=50, ge=1, description="frames between restart checkpoints")
    write_velocities: bool = Field(default=False, description="store velocities, σ/τ, in every frame (Green–Kubo)")
    max_energy_per_particle: float = Field(default=100.0, gt=0,
                                           description="potential energy per particle, ε, that stops a run")

    def production_options(self) -> ProductionOptions:
        return ProductionOptions(self.checkpoint_frames, self.write_velocities, self.max_energy_per_particle)


class EngineSimulator(SimulatorPlugin):
    """A simulator that runs production with :func:`core.md.production_loop.run_production`.

    Subclasses implement :meth:`session` and :meth:`engine_facts`; they continue runs for free.
    """

    supports_continuation: ClassVar[bool] = True
    Config: ClassVar[type[PluginConfig]] = EngineConfig

    def session(self, job: SimulationJob, threads: int, state: bytes | None) -> EngineSession:
        """A production-ready session of ``job``'s system on ``threads`` threads: restored from ``state``
        (an ``EngineSession.save_state`` checkpoint) where given, else placed, minimised and equilibrated."""
        raise NotImplementedError

    def engine_facts(self, job: SimulationJob) -> dict[str, Any]:
        """What ran, for the artifact's metadata: at least ``engine`` and ``version``."""
        raise NotImplementedError

    def simulate(self, job: SimulationJob, context: TaskContext) -> dict[str, Any]:
        """Run (or resume) ``job``'s production; returns the engine facts, frames written and wall time."""
        config: EngineConfig = self.config
        started = time.perf_counter()
        frames_written, state = resume_point(job, context)
        session = self.session(job, context.threads, state)
        engine = self.engine_facts(job)
        facts = run_production(session, job, context, build_topology(job.system), config.production_options(),
                               frames_written, engine)
        return {**engine, **facts, "wall_seconds": time.perf_counter() - started,
                "n_ions": 2 * job.system.n_ion_pairs, "threads": context.threads}
