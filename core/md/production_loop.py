"""The engine-independent production loop every simulator plugin drives.

A plugin prepares its engine (placement, minimisation, equilibration, or a
restored checkpoint) behind the small :class:`EngineSession` protocol; then
:func:`run_production` writes the frames of :func:`core.md.electrolyte.frame_schedule`
to a GSD file in the unit's scratch directory, checks every frame for a
blow-up, takes checkpoints, and on success moves the file to the job's
trajectory path. Called again after a kill, it resumes from the last
checkpoint without duplicated or missing frames.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from core.storage.checkpoints import (CorruptCheckpointError, add_note, discard_checkpoint, load_checkpoint,
                              quarantine_checkpoint, save_checkpoint)
from core.datatypes import SimulationJob, TaskContext
from core.storage.layout import FINAL_STATE_FILE, TRAJECTORY_FILE
from core.md.electrolyte import Topology, frame_schedule, make_frame, trajectory_log
from core.md.trajectory import GSDWriter, frame_count, truncate_trajectory

SCRATCH_TRAJECTORY = TRAJECTORY_FILE   # the trajectory grows in the scratch folder under its final name
#: The engine state at the last frame, beside the trajectory in a simulate artifact: an extension of the
#: run continues from it.


class SimulationBlewUp(RuntimeError):
    """Non-finite coordinates or an energy above the threshold."""


class EngineSession(Protocol):
    """A prepared engine, in reduced units."""

    def run(self, steps: int) -> None:
        """Advance ``steps`` time steps."""

    def unwrapped_positions(self) -> np.ndarray:
        """(N, 3) float64 positions without periodic wrapping, σ."""

    def velocities(self) -> np.ndarray:
        """(N, 3) float64 velocities, σ/τ."""

    def potential_energy(self) -> float:
        """Total potential energy, ε."""

    def save_state(self) -> bytes:
        """Everything needed to continue the run (as exactly as the engine allows).

        The plugin restores it when it prepares the engine again for a resumed run. A session whose
        ``reload_at_checkpoints`` attribute is true also gets its own ``load_state(state)`` called right
        after each checkpoint, so that an uninterrupted run continues from the same restored state as a
        resumed one (bit-identical segments, where the engine is deterministic).
        """


@dataclass(frozen=True)
class ProductionOptions:
    """Run control shared by every engine.

    Attributes
    ----------
    checkpoint_frames: take a checkpoint every this many written frames (and at the end).
    write_velocities: store velocities (σ/τ) in every frame (for Green–Kubo).
    max_energy_per_particle: potential energy per particle, ε, above which the run is stopped.
    """

    checkpoint_frames: int = 50
    write_velocities: bool = False
    max_energy_per_particle: float = 100.0


def resume_point(job: SimulationJob, context: TaskContext) -> tuple[int, bytes | None]:
    """(frames already written, engine state to restore or ``None`` for a fresh start).

    A checkpoint whose trajectory is missing or shorter than it claims is
    discarded; frames written after it are cut off. Without a checkpoint, an
    extension (``job.continue_from``) starts from the state of the run it continues.
    """
    path = context.scratch_dir / SCRATCH_TRAJECTORY
    fresh = (0, _continued_state(job))
    try:
        found = load_checkpoint(context.scratch_dir)
        if found is None:
            return fresh
        record, state = found
        if record.frames_written == 0:
            discard_checkpoint(context.scratch_dir)
            return fresh
        if not path.is_file() or frame_count(path) < record.frames_written:
            raise CorruptCheckpointError(f"{path}: the partial trajectory is missing or shorter than the "
                                         f"{record.frames_written} frames its checkpoint records")
        truncate_trajectory(path, record.frames_written)
    except (CorruptCheckpointError, OSError, RuntimeError, ValueError) as exc:
        # a damaged record, state or scratch trajectory: start again, and keep the pieces for inspection
        moved = quarantine_checkpoint(context.scratch_dir, also=(path,))
        add_note(context.scratch_dir, f"restarted from the beginning: {exc} (the checkpoint and partial "
                                      f"trajectory were moved to {moved.name} in the scratch directory)")
        return fresh
    return record.frames_written, state


def _continued_state(job: SimulationJob) -> bytes | None:
    if job.continue_from is None:
        return None
    if not job.continue_from.is_file():
        raise FileNotFoundError(f"{job.continue_from}: the run this extension continues has no final engine state "
                                f"(written by localcond before extensions existed); recompute it with --force simulate")
    return job.continue_from.read_bytes()


def run_production(session: EngineSession, job: SimulationJob, context: TaskContext, topology: Topology,
                   options: ProductionOptions, frames_written: int, engine: dict[str, Any],
                   on_frame: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Write the remaining frames, from ``frames_written`` on; returns run facts.

    ``session`` must hold the state of the last written frame (or, when
    ``frames_written`` is 0, the equilibrated start). ``on_frame(index, total)``
    is called after each written frame (progress reporting).
    """
    settings = job.settings
    schedule = frame_schedule(settings, job.start_step)
    path = context.scratch_dir / SCRATCH_TRAJECTORY
    engine_text = f"{engine.get('engine', '')} {engine.get('version', '')}".strip()
    log = trajectory_log(job.system, settings, job.seed, engine=engine_text)
    mode = "a" if frames_written else "w"
    started = time.perf_counter()
    with GSDWriter(path, log, mode=mode) as writer:
        for index in range(frames_written, len(schedule)):
            step = schedule[index]
            previous = schedule[index - 1] if index > 0 else job.start_step
            if step > previous:
                _advance(session, step - previous, context.label, previous)
            unwrapped = session.unwrapped_positions()
            _check_sane(session, unwrapped, options, context.label, step)
            velocities = session.velocities() if options.write_velocities else None
            writer.append(make_frame(topology, unwrapped, step, settings.timestep), velocities=velocities,
                          charge=topology.valence)
            written = index + 1
            if written % options.checkpoint_frames == 0 or written == len(schedule):
                writer.flush()
                final_state = session.save_state()
                save_checkpoint(context.scratch_dir, written, step, final_state, engine)
                if getattr(session, "reload_at_checkpoints", False):
                    # continue from the saved state exactly as a resumed run would: both follow one path
                    session.load_state(final_state)
            if on_frame is not None:
                on_frame(written, len(schedule))
    if frames_written == len(schedule):   # resumed after the last frame: its checkpoint holds the end state
        final_state = load_checkpoint(context.scratch_dir)[1]
    (job.trajectory_path.parent / FINAL_STATE_FILE).write_bytes(final_state)
    os.replace(path, job.trajectory_path)
    first = schedule[frames_written - 1] if frames_written else job.start_step
    # the loop's own time and steps: the engine's step rate apart from its start-up (core.execution.cost)
    return {"frames": len(schedule), "resumed_at_frame": frames_written,
            "production_seconds": time.perf_counter() - started, "production_steps": int(schedule[-1] - first)}


def _advance(session: EngineSession, steps: int, label: str, start: int) -> None:
    try:
        session.run(steps)
    except Exception as exc:  # engines signal NaNs with their own exception types
        raise SimulationBlewUp(f"{label}: the engine failed between production steps {start} and "
                               f"{start + steps}: {exc}") from exc


def _check_sane(session: EngineSession, unwrapped: np.ndarray, options: ProductionOptions, label: str,
                step: int) -> None:
    if not np.all(np.isfinite(unwrapped)):
        raise SimulationBlewUp(f"{label}: non-finite particle positions at production step {step}")
    energy = session.potential_energy()
    per_particle = energy / len(unwrapped)
    if not np.isfinite(energy) or per_particle > options.max_energy_per_particle:
        raise SimulationBlewUp(f"{label}: potential energy {per_particle:.4g} ε per particle at production step "
                               f"{step} (limit {options.max_energy_per_particle:g}); lower the time step or "
                               "check the model parameters")
