"""Which frames of which replica are featurised.

Frames are spread evenly over replicas and time so that at most
``max_environments`` ion environments are taken per system, never closer
than ``stride`` frames. ``stride: auto`` is resolved by the featurize stage to
the cation–anion contact lifetime in frames (:mod:`core.features.lifetime`).
"""

from __future__ import annotations

import numpy as np


def select_frames(frame_counts: list[int], ions_per_frame: int, *, stride: int | str,
                  max_environments: int) -> list[tuple[int, int]]:
    """(replica, frame) pairs to featurise, in replica then time order.

    ``frame_counts`` gives the number of frames of each replica.
    """
    if ions_per_frame <= 0:
        raise ValueError("a system with no ions has no environments")
    if stride == "auto":
        raise ValueError("stride 'auto' must be resolved to a number of frames first (core.features.lifetime)")
    step = int(stride)
    candidates = [(r, f) for r, count in enumerate(frame_counts) for f in range(0, count, step)]
    if not candidates:
        return []
    wanted = min(len(candidates), max(1, max_environments // ions_per_frame))
    positions = np.unique(np.linspace(0, len(candidates) - 1, wanted).round().astype(int))
    return [candidates[i] for i in positions]
