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

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field

from core.api import (AnalysisInputs, AnalysisResult, PluginConfig, Prediction, SystemAnalysis, SystemView,
                      identity_line, prediction_scores, pyplot, row_columns, save_figure)

SPLIT_COLOURS = {"train": "#9e9e9e", "validation": "#f0a030", "test": "#1f77b4", "external": "#d62728",
                 "heldout": "#2ca02c"}


@dataclass(frozen=True)
class ParityRow:
    """One system of ``parity.csv``: Λ true ± its standard error and predicted ± the ensemble std (σ²/τ)."""

    system: str
    split: str
    true: float
    true_err: float
    predicted: float
    predicted_std: float
    residual: float


class ParityConfig(PluginConfig):
    """Which splits to plot and how the attainable R² is sampled."""

    splits: list[str] | None = Field(default=None, description="splits to show; null: every split the run has")
    source: Literal["auto", "ensemble", "cross-validated"] = Field(
        default="auto", description="predictions to plot: the main ensemble's, the outer folds' "
                                    "(split 'heldout'), or auto: the outer folds' where the run has them")
    attainable_draws: int = Field(default=1000, ge=10)
    seed: int = Field(default=0, ge=0, description="seed of the attainable-R² draws")


class Parity(SystemAnalysis):
    name = "parity"
    version = "1.2"
    Config = ParityConfig
    title = "Predicted vs true molar conductivity"
    paper_figure = "Figs. 2, 3"
    table = "parity.csv"
    columns = row_columns(ParityRow)
    systems_from = "predictions"
    system_needs = frozenset({"prediction"})
    filter_splits = False            # outer-fold points become split "heldout"; ``splits`` selects after that
    requires = ("matplotlib",)
    description = "predicted vs true molar conductivity, R² per split (paper Figs. 2, 3)"

    def prepare(self, inputs: AnalysisInputs, result: AnalysisResult) -> None:
        """Whether the points are the outer folds' predictions (``cross_``), from ``source`` and the run."""
        crossed = [r for r in inputs.predictions if _has_cross_prediction(r)]
        source = self.config.source
        if source == "cross-validated" and not crossed:
            raise ValueError("parity: source 'cross-validated' but the run has no outer-fold predictions "
                             "(split.outer_folds is 0, or the dataset is large)")
        self.cross_ = source != "ensemble" and bool(crossed)
        if self.cross_:
            result.notes.append(f"{len(crossed)} systems plotted with predictions from outer-fold members that "
                                "never saw them (split 'heldout')")

    missing_reasons = {"r2": "fewer than two systems in this split, or no spread of Λ",
                       "attainable_r2*": "fewer than two systems in this split, or no spread of Λ",
                       "rmse": "no system in this split"}

    def per_system(self, view: SystemView) -> ParityRow | None:
        p = view.prediction
        if self.cross_ and _has_cross_prediction(p):
            split, predicted = "heldout", p.cross_predicted
        else:
            split, predicted = p.split, p.predicted
        if self.config.splits is not None and split not in self.config.splits:
            return None
        return ParityRow(p.system, split, p.true.value, p.true.err, predicted.value, predicted.std,
                         predicted.value - p.true.value)

    def conclude(self, rows: list[ParityRow], inputs: AnalysisInputs, result: AnalysisResult,
                 output_dir: Path) -> None:
        plt = pyplot()
        config: ParityConfig = self.config
        figure, axes = plt.subplots(figsize=(4.8, 4.5))
        for split in sorted({r.split for r in rows}):
            chosen = [r for r in rows if r.split == split]
            true = np.array([r.true for r in chosen])
            predicted = np.array([r.predicted for r in chosen])
            axes.errorbar(true, predicted, xerr=[r.true_err for r in chosen],
                          yerr=[r.predicted_std for r in chosen], fmt="o", ms=4, capsize=2, label=split,
                          color=SPLIT_COLOURS.get(split))
            result.numbers[split] = prediction_scores(true, predicted, np.array([r.true_err for r in chosen]),
                                                      config.attainable_draws, config.seed)
            if len(chosen) < 2:
                result.notes.append(f"{split}: fewer than two systems, no R²")
        identity_line(axes, [v for r in rows for v in (r.true, r.predicted)], pad_fraction=0.05)
        axes.set_xlabel("true Λ ± its standard error (σ² / τ, reduced)")
        axes.set_ylabel("predicted Λ (σ² / τ, reduced)")
        axes.legend(frameon=False)
        figure.tight_layout()
        result.figures += save_figure(figure, output_dir, "parity")


def _has_cross_prediction(prediction: Prediction) -> bool:
    return bool(np.isfinite(prediction.cross_predicted.value))
