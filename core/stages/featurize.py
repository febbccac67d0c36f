"""The featurize stage: selected snapshots of one system through a descriptor plugin into a feature store."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from core.datatypes import TaskContext
from core.features.lifetime import pair_lifetime
from core.features.neighbours import nearest_unlike_distance
from core.features.snapshots import select_frames
from core.features.store import FeatureStoreWriter
from core.plugin_system.plugin_api import DescriptorPlugin
from core.storage.layout import STORE_FILE, TRAJECTORY_FILE
from core.md.trajectory import frame_count, read_frames
from core.execution.tasks import FeaturizeTask



def run(task: FeaturizeTask, inputs: dict[str, Path], output_dir: Path, context: TaskContext) -> dict[str, Any]:
    """The descriptor of every ion in the chosen snapshots of every replica, into one feature store."""
    plugin = task.plugin.instantiate()
    assert isinstance(plugin, DescriptorPlugin)
    trajectories = [inputs[key] / TRAJECTORY_FILE for key in task.deps]
    first = next(read_frames(trajectories[0], indices=[0]))  # times from the file's own localcond/timestep
    n_ions = len(first.ion_indices)
    snapshots = task.snapshots.model_dump(mode="json")
    lifetime = None
    if snapshots["stride"] == "auto":
        lifetime, snapshots["stride"] = auto_stride(trajectories[0])
    chosen = select_frames([frame_count(t) for t in trajectories], n_ions, **snapshots)
    names = plugin.feature_names(first.types)
    writer = FeatureStoreWriter(output_dir / STORE_FILE, dim=len(names), attributes={
        "system": task.system, "descriptor": task.plugin.name, "descriptor_version": task.plugin.version,
        "options": task.plugin.options, "feature_names": names, "stride": snapshots["stride"],
        "pair_lifetime": lifetime if lifetime is not None else float("nan")})
    complete = False
    try:
        for replica, path in enumerate(trajectories):
            frames = [f for r, f in chosen if r == replica]
            for index, frame in zip(frames, read_frames(path, indices=frames)):
                centers = frame.ion_indices
                features = np.asarray(plugin.compute(frame, centers))
                if features.shape != (len(centers), len(names)):
                    raise ValueError(f"descriptor {task.plugin.name!r} returned shape {features.shape}, "
                                     f"expected {(len(centers), len(names))}")
                sign = frame.ion_sign
                writer.append(features, replica=np.full(len(centers), replica), frame=np.full(len(centers), index),
                              ion_index=centers, charge_sign=sign[centers], bonded=frame.bonded_mask[centers],
                              nearest_unlike=nearest_unlike_distance(frame.positions, sign, frame.box, centers))
        complete = True
    finally:
        writer.close(complete=complete)
    return {"environments": len(chosen) * n_ions, "frames": len(chosen), "dim": len(names),
            "stride": snapshots["stride"], "pair_lifetime": lifetime}


def auto_stride(trajectory: Path, timestep: float | None = None, max_frames: int = 200
                ) -> tuple[float | None, int]:
    """(cation–anion contact lifetime, τ, or None; frames between snapshots) for ``stride: auto``.

    Snapshots are at least one contact lifetime apart; a lifetime longer than
    the ``max_frames`` read gives that many frames.
    """
    lifetime, interval = pair_lifetime(trajectory, timestep, max_frames=max_frames)
    if lifetime is None or interval <= 0:
        return lifetime, max(1, min(frame_count(trajectory), max_frames))
    return lifetime, max(1, math.ceil(lifetime / interval - 1e-9))
