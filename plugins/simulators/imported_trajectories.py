"""The ``trajectories`` simulator: start a recipe from existing trajectories instead of simulating.

For each system and replica of the recipe, ``pattern`` names a file,
formatted with the system's fields, e.g.
``data/c{concentration}_lB{bjerrum_length}/run{replica}.dcd`` (relative
paths from the directory the run is started in). GSD files written by
localcond (or any GSD with types ``cation``/``anion``/``solvent`` and the
``localcond/timestep`` log) are read directly; anything else is read by
MDAnalysis with ``topology``, the ion selections and unit scales of
:mod:`core.md.trajectory_import`. The result is written as a localcond GSD
trajectory, so the rest of the pipeline cannot tell it from a simulation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field, model_validator

from core.api import (LOG_FRAME_INTERVAL, LOG_TIMESTEP, GSDWriter, ImportOptions, PluginConfig, SimulationJob,
                      SimulatorPlugin, TaskContext, frames_of, is_gsd, trajectory_log)


class TrajectoriesConfig(PluginConfig):
    """Where the files are and how to read them."""

    pattern: str = Field(description="path template; fields: name, concentration, bjerrum_length, "
                                     "paired_fraction, n_particles, density, replica")
    topology: str | None = Field(default=None, description="topology path template (non-GSD formats)")
    cation: str = Field(default="type cation", description="MDAnalysis selection of the cations")
    anion: str = Field(default="type anion", description="MDAnalysis selection of the anions")
    frame_interval: float | None = Field(default=None, gt=0, description="τ between frames; null: the file's")
    length_scale: float = Field(default=1.0, gt=0, description="σ per length unit of the files")
    time_scale: float = Field(default=1.0, gt=0, description="τ per time unit of the files")
    format: str | None = Field(default=None, description="MDAnalysis trajectory format (LAMMPSDUMP, XTC, ...) "
                                                         "where the extension does not say it")
    unwrapped: bool = Field(default=False, description="the files' coordinates are already unwrapped (LAMMPS xu, "
                                                       "...): taken as they are, no NoJump")
    cation_valence: float | None = Field(default=None, gt=0, description="default: the topology's charges, or +1")
    anion_valence: float | None = Field(default=None, lt=0, description="default: the topology's charges, or -1")
    equal_masses: bool = Field(default=False, description="every atom weighs the same in the centre of mass, by "
                                                          "intent (no warning without topology masses)")
    species: dict[str, str] | None = Field(
        default=None, description="name -> MDAnalysis selection of each ionic species, instead of cation/anion, for "
                                  "more than one cation or anion species (transport then gives the matrix L^ab)")
    valences: dict[str, float] | None = Field(
        default=None, description="name -> valence of species whose valence the topology's charges do not give")
    group: Literal["atom", "residue", "molecule", "fragment"] = Field(
        default="atom", description="one ion is a selected atom, or the selected atoms of one residue, molecule or "
                                    "fragment (bond graph), at its centre of mass")

    @model_validator(mode="after")
    def _species_are_usable(self) -> TrajectoriesConfig:
        """Species names, their count and the valences named, checked when the recipe is read."""
        ImportOptions(species=tuple((self.species or {}).items()), valences=tuple((self.valences or {}).items()))
        if self.valences and not self.species:
            raise ValueError("valences name species given under species; for cation/anion use cation_valence and "
                             "anion_valence")
        return self


class ImportedTrajectories(SimulatorPlugin):
    name = "trajectories"
    version = "1.2"
    Config = TrajectoriesConfig
    description = "imports existing trajectories (GSD, or any format MDAnalysis reads) instead of simulating"

    def source(self, job: SimulationJob) -> tuple[Path, Path | None]:
        """The trajectory (and topology) file of ``job``'s system and replica."""
        config: TrajectoriesConfig = self.config
        fields = {"name": job.system.name, "concentration": job.system.concentration,
                  "bjerrum_length": job.system.bjerrum_length, "paired_fraction": job.system.paired_fraction,
                  "n_particles": job.system.n_particles, "density": job.system.density, "replica": job.replica}
        try:
            path = Path(config.pattern.format(**fields))
            topology = Path(config.topology.format(**fields)) if config.topology else None
        except (KeyError, IndexError) as exc:
            raise ValueError(f"trajectories: pattern field {exc} unknown; use {sorted(fields)}") from exc
        for needed in (path, topology):
            if needed is not None and not needed.is_file():
                raise FileNotFoundError(f"trajectories: no file {needed} for system {job.system.name}, "
                                        f"replica {job.replica} (pattern {config.pattern!r})")
        return path, topology

    def simulate(self, job: SimulationJob, context: TaskContext) -> dict[str, Any]:
        config: TrajectoriesConfig = self.config
        path, topology = self.source(job)
        options = None if is_gsd(path) and topology is None and config.format is None else ImportOptions(
            topology, config.cation, config.anion, config.frame_interval, config.length_scale, config.time_scale,
            config.format, config.unwrapped, config.cation_valence, config.anion_valence, config.group,
            config.equal_masses, tuple((config.species or {}).items()), tuple((config.valences or {}).items()))
        frames = frames_of(path, options)
        first = next(frames, None)
        if first is None:
            raise ValueError(f"trajectories: {path} holds no frame")
        second = next(frames, None)
        interval = (second.time - first.time) if second is not None else 1.0
        if interval <= 0:
            raise ValueError(f"trajectories: {path} has non-increasing frame times")
        log = trajectory_log(job.system, job.settings, job.seed, engine=f"imported from {path}")
        log.update({LOG_TIMESTEP: interval, LOG_FRAME_INTERVAL: interval})
        count = 0
        with GSDWriter(job.trajectory_path, log) as writer:
            for frame in (f for f in (first, second) if f is not None):
                count = self._append(writer, frame, first.time, interval, count, path)
            for frame in frames:
                count = self._append(writer, frame, first.time, interval, count, path)
        volume = float(np.prod(first.box))
        return {"engine": "trajectories", "source": str(path), "frames": count,
                "file_concentration": int(np.sum(first.ion_sign > 0)) / volume}

    @staticmethod
    def _append(writer: GSDWriter, frame, start: float, interval: float, count: int, path: Path) -> int:
        """Write ``frame`` as step ``count`` (one step per frame interval); frames must be evenly spaced."""
        if not np.isclose(frame.time - start, count * interval, rtol=1e-6, atol=1e-9 * interval):
            raise ValueError(f"trajectories: {path} frame {count} is at t = {frame.time - start:g}, not "
                             f"{count * interval:g}: frames must be evenly spaced")
        frame.step, frame.time = count, count * interval
        writer.append(frame, velocities=frame.velocities)
        return count + 1
