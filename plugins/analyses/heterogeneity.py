"""The ``heterogeneity`` analysis (the paper's Fig. 5): spread of local conductivity against Λ.

Per system: the standard deviation over environments of the ensemble-mean
local conductivity k (bonded ions, which have no k, left out) against the
system's true molar conductivity Λ; the Pearson correlation across systems.
Beside each system's spread, the typical uncertainty of one of its k (the median
of the predictive std: member spread and posterior std in quadrature): where it is as large as the
spread, the heterogeneity is the model's, not the data's. With
``max_relative_uncertainty`` only environments known that well are used.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from pydantic import Field

from core.datatypes import AnalysisInputs, AnalysisResult
from core.figures import pyplot, save_figure
from core.plugin_api import AnalysisPlugin, PluginConfig


class HeterogeneityConfig(PluginConfig):
    """Which systems to include."""

    splits: list[str] | None = Field(default=None, description="splits to include; null: every system")
    max_relative_uncertainty: float | None = Field(
        default=None, gt=0, description="use only environments whose k is known to within this fraction of the "
                                        "system's mean |k| (predictive std: member spread and posterior std in quadrature); null: all")


class Heterogeneity(AnalysisPlugin):
    name = "heterogeneity"
    version = "1.1"
    Config = HeterogeneityConfig
    needs = frozenset({"predictions", "local_conductivities"})
    requires = ("matplotlib",)
    install_hint = "pip install matplotlib"
    description = "std of local conductivity vs molar conductivity (paper Fig. 5)"

    def run(self, inputs: AnalysisInputs, output_dir: Path) -> AnalysisResult:
        plt = pyplot()
        config: HeterogeneityConfig = self.config
        result = AnalysisResult(title="Heterogeneity of local conductivity", paper_figure="Fig. 5")
        rows = []
        for prediction in inputs.predictions:
            if config.splits is not None and prediction["split"] not in config.splits:
                continue
            if prediction["system"] not in inputs.local_conductivities:
                continue
            local = inputs.local(prediction["system"])
            confident = local.confident(config.max_relative_uncertainty)
            k = local.k[confident]
            if len(k) < 2:
                continue
            rows.append({"system": prediction["system"], "split": prediction["split"], "true": prediction["true"],
                         "concentration": prediction["concentration"], "k_std": float(np.std(k)),
                         "k_mean": float(np.mean(k)), "n_environments": int(len(k)),
                         "k_uncertainty_median": local.typical_uncertainty(confident)})
        with open(output_dir / "heterogeneity.csv", "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=["system", "split", "concentration", "true", "k_mean", "k_std",
                                                        "n_environments", "k_uncertainty_median"])
            writer.writeheader()
            writer.writerows(rows)
        result.tables.append("heterogeneity.csv")
        true = np.array([r["true"] for r in rows])
        spread = np.array([r["k_std"] for r in rows])
        if len(rows) >= 3 and np.std(true) > 0 and np.std(spread) > 0:
            result.numbers["pearson_r"] = float(np.corrcoef(spread, true)[0, 1])
        else:
            result.notes.append("fewer than three systems with local conductivities: no correlation coefficient")
        result.numbers["n_systems"] = len(rows)
        figure, axes = plt.subplots(figsize=(4.8, 4.2))
        scatter = axes.scatter(true, spread, c=[r["concentration"] for r in rows], cmap="viridis")
        figure.colorbar(scatter, ax=axes, label="c (σ⁻³)")
        axes.scatter(true, [r["k_uncertainty_median"] for r in rows], marker="x", color="0.5", s=14,
                     label="typical uncertainty of one k")
        axes.legend(frameon=False, fontsize=7)
        axes.set_xlabel("Λ (reduced)")
        axes.set_ylabel("std of local k (reduced)")
        figure.tight_layout()
        result.figures += save_figure(figure, output_dir, "heterogeneity")
        return result
