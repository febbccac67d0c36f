"""The ``radial-shells`` descriptor: smooth counts of like and unlike ions in radial shells.

For centre i and each neighbour class X (like ions, unlike ions, and solvent
if asked), feature k is

    g_X(r_k) = Σ_{j ∈ X, r_ij < r_cut} exp(−(r_ij − r_k)² / (2 w²)) · ½[1 + cos(π r_ij / r_cut)]

with shell centres r_k = (k + ½)·r_cut / n_shells, width w and minimum-image
distances r_ij (σ). Cheap and readable: an ablation baseline beside SOAP.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field
from scipy.spatial import cKDTree

from core.api import DescriptorPlugin, Frame, PluginConfig


class RadialShellsConfig(PluginConfig):
    """Shell layout (lengths in σ)."""

    r_cut: float = Field(default=5.0, gt=0, description="neighbour cutoff, σ")
    n_shells: int = Field(default=10, ge=1, le=200, description="shells between 0 and r_cut")
    width: float = Field(default=0.5, gt=0, description="Gaussian width of each shell, σ")
    include_solvent: bool = False


class RadialShells(DescriptorPlugin):
    name = "radial-shells"
    version = "1.0"
    Config = RadialShellsConfig
    description = "Gaussian-smoothed like/unlike ion counts in radial shells (ablation baseline)"

    @property
    def shell_centres(self) -> np.ndarray:
        """(n_shells,) shell radii r_k, σ."""
        config: RadialShellsConfig = self.config
        return (np.arange(config.n_shells) + 0.5) * config.r_cut / config.n_shells

    def _classes(self) -> tuple[str, ...]:
        return ("like", "unlike") + (("solvent",) if self.config.include_solvent else ())

    def feature_names(self, types: tuple[str, ...]) -> list[str]:
        return [f"{group}_r{r:.3g}" for group in self._classes() for r in self.shell_centres]

    def compute(self, frame: Frame, centers: np.ndarray) -> np.ndarray:
        config: RadialShellsConfig = self.config
        centers = np.asarray(centers, dtype=np.int64)
        box = np.asarray(frame.box, dtype=np.float64)
        wrapped = np.mod(frame.positions, box)
        wrapped = np.where(wrapped >= box, 0.0, wrapped)
        sign = frame.ion_sign.astype(np.int64)
        tree = cKDTree(wrapped, boxsize=box)
        pairs = tree.sparse_distance_matrix(cKDTree(wrapped[centers], boxsize=box), config.r_cut,
                                            output_type="coo_matrix")
        neighbour, row, distance = pairs.row, pairs.col, pairs.data
        real = neighbour != centers[row]
        neighbour, row, distance = neighbour[real], row[real], distance[real]
        centre_sign, other_sign = sign[centers[row]], sign[neighbour]
        group = np.full(len(row), -1)
        group[(other_sign != 0) & (other_sign == centre_sign)] = 0
        group[(other_sign != 0) & (other_sign == -centre_sign)] = 1
        if config.include_solvent:
            group[other_sign == 0] = 2
        used = group >= 0
        row, group, distance = row[used], group[used], distance[used]
        smooth = 0.5 * (1.0 + np.cos(np.pi * distance / config.r_cut))
        weights = np.exp(-((distance[:, None] - self.shell_centres[None, :]) ** 2) / (2 * config.width ** 2))
        weights *= smooth[:, None]
        n_groups = len(self._classes())
        out = np.zeros((len(centers), n_groups, config.n_shells))
        np.add.at(out, (row, group), weights)
        return out.reshape(len(centers), -1)
