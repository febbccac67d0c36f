"""The ``heterogeneity`` analysis (the paper's Fig. 5): spread of local conductivity against Λ.

Per system: the standard deviation over environments of the ensemble-mean
local conductivity k (bonded ions, which have no k, left out) against the
system's true molar conductivity Λ; the Pearson correlation across systems.
Beside each system's spread, the typical uncertainty of one of its k (the median
of the predictive std: member spread and posterior std in quadrature): where it is as large as the
spread, the heterogeneity is the model's, not the data's. With
``max_relative_uncertainty`` only environments known that well are used.

Measured check: the part of the spread that the distance to the nearest unlike
ion explains, Var_b(E[k | bin b]) (bins ``distance_bins``), from the learned k
and from the measured attribution (each bin's mean share, the noise of those
means subtracted: :meth:`core.api.GroupComparison.between_group_spread`). By the
law of total variance it bounds the spread of the true k from below, and it is
what the data can say about Fig. 5 system by system: z = (learned − measured) /
error, χ²/dof over systems in ``measured_agreement``. The rest of the learned
spread (within a bin) is the model's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from pydantic import Field

from core.api import (AnalysisInputs, AnalysisResult, DistanceBinEdges, MaxRelativeUncertainty, PluginConfig,
                      SystemAnalysis, SystemView, agreement_numbers, compare_groups, identity_line, pyplot,
                      row_columns, save_figure)

NAN = float("nan")


@dataclass(frozen=True)
class HeterogeneityRow:
    """One system of ``heterogeneity.csv``: Λ, the mean and std of its confident k over ``n_environments``
    environments and the median uncertainty of one k (reduced Λ); the measured check's between-bin
    variances of k (reduced Λ²) and their z (NaN where not checked)."""

    system: str
    split: str | None
    concentration: float
    true: float
    k_mean: float
    k_std: float
    n_environments: int
    k_uncertainty_median: float
    explained_var_learned: float = NAN
    explained_var_measured: float = NAN
    explained_var_measured_err: float = NAN
    explained_var_z: float = NAN


class HeterogeneityConfig(PluginConfig):
    """Which systems to include."""

    splits: list[str] | None = Field(default=None, description="splits to include; null: every system")
    max_relative_uncertainty: MaxRelativeUncertainty = None
    distance_bins: DistanceBinEdges = Field(
        default=[1.2, 1.5, 2.0, 3.0], min_length=1,
        description="inner edges (σ) of the bins of the distance to the nearest unlike ion for the measured check")
    min_environments: int = Field(default=20, ge=2, description="bins with fewer environments are left out of it")


class Heterogeneity(SystemAnalysis):
    name = "heterogeneity"
    version = "1.4"
    Config = HeterogeneityConfig
    title = "Heterogeneity of local conductivity"
    paper_figure = "Fig. 5"
    table = "heterogeneity.csv"
    columns = row_columns(HeterogeneityRow)
    systems_from = "predictions"
    system_needs = frozenset({"prediction", "local"})
    requires = ("matplotlib",)
    description = "std of local conductivity vs molar conductivity (paper Fig. 5)"

    missing_reasons = {
        "explained_var*": "no measured attribution, or too few environments per distance bin",
        "chi2_per_dof": "no system could be checked against measurement",
        "k_uncertainty_median": "no confident local k"}

    def per_system(self, view: SystemView) -> HeterogeneityRow | None:
        config: HeterogeneityConfig = self.config
        local = view.local()
        confident = local.confident(config.max_relative_uncertainty)
        k = local.k[confident]
        if len(k) < 2:
            return None
        prediction = view.prediction
        row = HeterogeneityRow(view.name, view.split, prediction.concentration, prediction.true.value,
                               float(np.mean(k)), float(np.std(k)), int(len(k)), local.typical_uncertainty(confident))
        return self.measured_check(view, row)

    def conclude(self, rows: list[HeterogeneityRow], inputs: AnalysisInputs, result: AnalysisResult,
                 output_dir: Path) -> None:
        plt = pyplot()
        true = np.array([r.true for r in rows])
        spread = np.array([r.k_std for r in rows])
        if len(rows) >= 3 and np.std(true) > 0 and np.std(spread) > 0:
            result.numbers["pearson_r"] = float(np.corrcoef(spread, true)[0, 1])
        else:
            result.notes.append("fewer than three systems with local conductivities: no correlation coefficient")
        result.numbers["n_systems"] = len(rows)
        checked = [r for r in rows if np.isfinite(r.explained_var_z)]
        if checked:
            agreement = agreement_numbers([r.explained_var_z for r in checked], "n_systems")
            result.numbers["measured_agreement"] = agreement
            result.notes.append(
                f"Measured check: the spread of k explained by the distance to the nearest unlike ion agrees with "
                f"the measured shares' within 2 s.e. in {agreement['within_2_se']} of {len(checked)} systems "
                f"(χ²/dof {agreement['chi2_per_dof']:.2f}; right panel). The std plotted on the left also holds "
                "the spread within those bins, which only the model states.")
        else:
            result.notes.append("no measured attribution for these systems: the spread is not checked against "
                                "measurement")
        figure, (axes, check_axes) = plt.subplots(1, 2, figsize=(9.2, 4.2))
        scatter = axes.scatter(true, spread, c=[r.concentration for r in rows], cmap="viridis")
        figure.colorbar(scatter, ax=axes, label="c (σ⁻³)")
        axes.scatter(true, [r.k_uncertainty_median for r in rows], marker="x", color="0.5", s=14,
                     label="typical uncertainty of one k")
        axes.legend(frameon=False, fontsize=7)
        axes.set_xlabel("Λ (reduced)")
        axes.set_ylabel("std of local k (reduced)")
        if checked:
            check_axes.errorbar([r.explained_var_measured for r in checked],
                                [r.explained_var_learned for r in checked],
                                xerr=[r.explained_var_measured_err for r in checked], fmt="o", ms=4, lw=0.8)
            identity_line(check_axes, [v for r in checked for v in (r.explained_var_measured,
                                                                     r.explained_var_learned)], "k:")
        check_axes.set_xlabel("measured Var(E[k | nearest-unlike bin]) (± s.e.)")
        check_axes.set_ylabel("learned Var(E[k | nearest-unlike bin])")
        figure.tight_layout()
        result.figures += save_figure(figure, output_dir, "heterogeneity")

    def measured_check(self, view: SystemView, row: HeterogeneityRow) -> HeterogeneityRow:
        """``row`` with the between-bin variance of k, learned and measured (left NaN without an attribution
        or two usable bins)."""
        shares = view.measured_shares()
        if shares is None:
            return row
        nearest = view.environments()["nearest_unlike"]
        bins = np.digitize(nearest, self.config.distance_bins)
        spread = compare_groups(shares, bins, len(self.config.distance_bins) + 1).between_group_spread(
            self.config.min_environments)
        if spread.n_groups < 2 or not spread.measured_err > 0:
            return row
        return replace(row, explained_var_learned=spread.learned, explained_var_measured=spread.measured,
                       explained_var_measured_err=spread.measured_err,
                       explained_var_z=(spread.learned - spread.measured) / spread.measured_err)
