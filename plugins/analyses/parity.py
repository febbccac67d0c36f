"""The ``parity`` analysis (the paper's Figs. 2 and 3): predicted against true molar conductivity.

Writes ``parity.png``/``.svg`` (error bars: the standard error of the label Λ
from the trajectories, and the ensemble std of the prediction; colour by split), ``parity.csv`` (one row per system with
its residual), and R², RMSE and the attainable R² (label noise only) per split.

When the run has outer-fold predictions (small datasets), the default
``source: auto`` plots those for every trainable system, as the split
"heldout": each point then comes from members that never saw that system.
External systems keep the main ensemble's prediction.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from typing import Any, Literal

from pydantic import Field

from core.api import (AnalysisInputs, AnalysisPlugin, AnalysisResult, PluginConfig, prediction_scores, pyplot,
                      save_figure)

SPLIT_COLOURS = {"train": "#9e9e9e", "validation": "#f0a030", "test": "#1f77b4", "external": "#d62728",
                 "heldout": "#2ca02c"}


class ParityConfig(PluginConfig):
    """Which splits to plot and how the attainable R² is sampled."""

    splits: list[str] | None = Field(default=None, description="splits to show; null: every split the run has")
    source: Literal["auto", "ensemble", "cross-validated"] = Field(
        default="auto", description="predictions to plot: the main ensemble's, the outer folds' "
                                    "(split 'heldout'), or auto: the outer folds' where the run has them")
    attainable_draws: int = Field(default=1000, ge=10)
    seed: int = Field(default=0, ge=0, description="seed of the attainable-R² draws")


class Parity(AnalysisPlugin):
    name = "parity"
    version = "1.0"
    Config = ParityConfig
    needs = frozenset({"predictions"})
    requires = ("matplotlib",)
    install_hint = "pip install matplotlib"
    description = "predicted vs true molar conductivity, R² per split (paper Figs. 2, 3)"

    def run(self, inputs: AnalysisInputs, output_dir: Path) -> AnalysisResult:
        plt = pyplot()
        config: ParityConfig = self.config
        result = AnalysisResult(title="Predicted vs true molar conductivity", paper_figure="Figs. 2, 3")
        rows = self._points(inputs.predictions, result)
        rows = [r for r in rows if config.splits is None or r["split"] in config.splits]
        figure, axes = plt.subplots(figsize=(4.8, 4.5))
        for split in sorted({r["split"] for r in rows}):
            chosen = [r for r in rows if r["split"] == split]
            true = np.array([r["true"] for r in chosen])
            predicted = np.array([r["predicted"] for r in chosen])
            axes.errorbar(true, predicted, xerr=[r["true_std"] for r in chosen],
                          yerr=[r["predicted_std"] for r in chosen], fmt="o", ms=4, capsize=2, label=split,
                          color=SPLIT_COLOURS.get(split))
            result.numbers[split] = prediction_scores(true, predicted, np.array([r["true_std"] for r in chosen]),
                                                      config.attainable_draws, config.seed)
            if len(chosen) < 2:
                result.notes.append(f"{split}: fewer than two systems, no R²")
        values = [v for r in rows for v in (r["true"], r["predicted"])]
        low, high = (min(values), max(values)) if values else (0.0, 1.0)
        pad = 0.05 * (high - low or 1.0)
        axes.plot([low - pad, high + pad], [low - pad, high + pad], "k--", lw=0.8)
        axes.set_xlabel("true Λ ± its standard error (σ² / τ, reduced)")
        axes.set_ylabel("predicted Λ (σ² / τ, reduced)")
        axes.legend(frameon=False)
        figure.tight_layout()
        result.figures += save_figure(figure, output_dir, "parity")
        with open(output_dir / "parity.csv", "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["system", "split", "true", "true_std", "predicted", "predicted_std", "residual"])
            for r in rows:
                writer.writerow([r["system"], r["split"], r["true"], r["true_std"], r["predicted"],
                                 r["predicted_std"], r["predicted"] - r["true"]])
        result.tables.append("parity.csv")
        return result

    def _points(self, predictions: list[dict[str, Any]], result: AnalysisResult) -> list[dict[str, Any]]:
        """The rows to plot: the ensemble's predictions, or the outer folds' as split "heldout"."""
        crossed = [r for r in predictions if _has_cross_prediction(r)]
        source = self.config.source
        if source == "cross-validated" and not crossed:
            raise ValueError("parity: source 'cross-validated' but the run has no outer-fold predictions "
                             "(split.outer_folds is 0, or the dataset is large)")
        if source == "ensemble" or not crossed:
            return list(predictions)
        result.notes.append(f"{len(crossed)} systems plotted with predictions from outer-fold members that "
                            "never saw them (split 'heldout')")
        return [{**r, "split": "heldout", "predicted": r["cross_predicted"],
                 "predicted_std": r["cross_predicted_std"]} if _has_cross_prediction(r) else r for r in predictions]


def _has_cross_prediction(row: dict[str, Any]) -> bool:
    return bool(np.isfinite(row.get("cross_predicted", float("nan"))))
