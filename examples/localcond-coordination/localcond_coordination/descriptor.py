"""The ``coordination`` descriptor: how many like and unlike ions sit within each of a few radii.

For centre i and each radius R_k (σ): the number of unlike ions and of like
ions (other than i) within R_k, minimum image; then the distance to the
nearest unlike ion (capped at the largest radius). With the default radii
(1.6, 3, 5)σ that is 7 numbers per ion: a readable baseline, and a template
for writing a descriptor plugin.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field
from scipy.spatial import cKDTree

from core.api import DescriptorPlugin, Frame, PluginConfig, require_api

require_api("2.0")


class CoordinationConfig(PluginConfig):
    """Radii of the coordination shells (σ), in increasing order."""

    radii: list[float] = Field(default=[1.6, 3.0, 5.0], min_length=1, description="shell radii, σ")


class Coordination(DescriptorPlugin):
    name = "coordination"
    version = "0.1"
    Config = CoordinationConfig
    requires = ("scipy",)
    install_hint = "pip install scipy"
    description = "like/unlike ion counts within a few radii and the nearest unlike distance (example)"

    def feature_names(self, types: tuple[str, ...]) -> list[str]:
        radii = sorted(self.config.radii)
        return ([f"unlike_within_{r:g}" for r in radii] + [f"like_within_{r:g}" for r in radii]
                + ["nearest_unlike"])

    def compute(self, frame: Frame, centers: np.ndarray) -> np.ndarray:
        radii = np.sort(np.asarray(self.config.radii, dtype=np.float64))
        box = np.asarray(frame.box, dtype=np.float64)
        sign = frame.ion_sign.astype(np.int64)
        ions = np.flatnonzero(sign != 0)
        wrapped = np.mod(frame.positions[ions], box)
        wrapped = np.where(wrapped >= box, 0.0, wrapped)
        tree = cKDTree(wrapped, boxsize=box)
        position_of = {int(atom): k for k, atom in enumerate(ions)}
        out = np.zeros((len(centers), 2 * len(radii) + 1), dtype=np.float32)
        for row, center in enumerate(np.asarray(centers, dtype=np.int64)):
            k = position_of[int(center)]
            neighbours = np.asarray(tree.query_ball_point(wrapped[k], radii[-1]), dtype=np.int64)
            neighbours = neighbours[neighbours != k]
            delta = wrapped[neighbours] - wrapped[k]
            distance = np.linalg.norm(delta - box * np.round(delta / box), axis=1)
            unlike = sign[ions[neighbours]] != sign[center]
            out[row, :len(radii)] = [(distance[unlike] < r).sum() for r in radii]
            out[row, len(radii):2 * len(radii)] = [(distance[~unlike] < r).sum() for r in radii]
            out[row, -1] = distance[unlike].min() if unlike.any() else radii[-1]
        return out
