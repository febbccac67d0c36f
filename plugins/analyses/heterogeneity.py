"""The ``heterogeneity`` analysis (the paper's Fig. 5): spread of local conductivity against Λ.

Per system: the standard deviation over environments of the ensemble-mean
local conductivity k (bonded ions, which have no k, left out) against the
system's true molar conductivity Λ; the Pearson correlation across systems.
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


class Heterogeneity(AnalysisPlugin):
    name = "heterogeneity"
    version = "1.0"
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
            path = inputs.local_conductivities.get(prediction["system"])
            if path is None:
                continue
            with np.load(path) as saved:
                k = saved["k_mean"][np.isfinite(saved["k_mean"])]
            if len(k) < 2:
                continue
            rows.append({"system": prediction["system"], "split": prediction["split"], "true": prediction["true"],
                         "concentration": prediction["concentration"], "k_std": float(np.std(k)),
                         "k_mean": float(np.mean(k)), "n_environments": int(len(k))})
        with open(output_dir / "heterogeneity.csv", "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=["system", "split", "concentration", "true", "k_mean", "k_std",
                                                        "n_environments"])
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
        axes.set_xlabel("Λ (reduced)")
        axes.set_ylabel("std of local k (reduced)")
        figure.tight_layout()
        result.figures += save_figure(figure, output_dir, "heterogeneity")
        return result
