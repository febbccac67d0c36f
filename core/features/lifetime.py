"""The cation–anion contact lifetime, which sets how far apart featurised snapshots are.

As in the paper, snapshots should be further apart than the ion-pair
lifetime so that their environments are independent. The estimate here is
the intermittent contact correlation

    C(τ) = Σ_t |P(t) ∩ P(t + τ)| / Σ_t |P(t)|,

with P(t) the set of cation–anion pairs closer than ``cutoff`` (1.6σ) in the
frame at time t; the lifetime is the lag where C first falls below 1/e
(linearly interpolated between frames).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

from core.datatypes import Frame
from core.md.trajectory import frame_count, read_frames

#: The paper's contact distance, σ.
CONTACT_DISTANCE = 1.6


def contact_pairs(frame: Frame, cutoff: float = CONTACT_DISTANCE) -> set[tuple[int, int]]:
    """(cation index, anion index) pairs closer than ``cutoff`` (minimum image)."""
    sign = frame.ion_sign
    cations, anions = np.flatnonzero(sign == 1), np.flatnonzero(sign == -1)
    if not len(cations) or not len(anions):
        return set()
    box = frame.box
    wrapped = np.mod(frame.positions, box)
    wrapped = np.where(wrapped >= box, 0.0, wrapped)
    found = cKDTree(wrapped[cations], boxsize=box).query_ball_tree(cKDTree(wrapped[anions], boxsize=box), cutoff)
    return {(int(cations[i]), int(anions[j])) for i, partners in enumerate(found) for j in partners}


def contact_correlation(frames: list[Frame], cutoff: float = CONTACT_DISTANCE) -> np.ndarray:
    """C(lag) for lags 0 … len(frames) − 1 (in frame intervals); C(0) = 1 when any contact exists."""
    pairs = [contact_pairs(frame, cutoff) for frame in frames]
    correlation = np.zeros(len(frames))
    for lag in range(len(frames)):
        surviving = sum(len(pairs[t] & pairs[t + lag]) for t in range(len(frames) - lag))
        total = sum(len(pairs[t]) for t in range(len(frames) - lag))
        correlation[lag] = surviving / total if total else 0.0
    return correlation


def lifetime_from_correlation(correlation: np.ndarray, interval: float) -> float | None:
    """The lag, τ, where ``correlation`` first drops below 1/e; ``None`` if it never does.

    >>> lifetime_from_correlation(np.exp(-np.arange(10) / 3.0), 0.5)  # C = exp(−t/1.5τ): 1.5τ
    1.5
    """
    threshold = math.exp(-1.0)
    below = np.flatnonzero(correlation < threshold - 1e-12)
    if not len(below):
        return None
    lag = int(below[0])
    if lag == 0:
        return 0.0
    before, after = correlation[lag - 1], correlation[lag]
    if before <= threshold:
        return round((lag - 1) * interval, 12)
    fraction = (before - threshold) / (before - after)
    return round((lag - 1 + fraction) * interval, 12)


def pair_lifetime(path: Path, timestep: float | None = None, max_frames: int = 200,
                  cutoff: float = CONTACT_DISTANCE) -> tuple[float | None, float]:
    """(contact lifetime, τ, or ``None`` if longer than the frames read; frame interval, τ) of a trajectory."""
    count = min(frame_count(path), max_frames)
    frames = list(read_frames(path, indices=list(range(count)), timestep=timestep))
    interval = frames[1].time - frames[0].time if len(frames) > 1 else 0.0
    if len(frames) < 2:
        return None, interval
    return lifetime_from_correlation(contact_correlation(frames, cutoff), interval), interval
