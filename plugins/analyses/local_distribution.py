"""The ``local-distribution`` analysis (the paper's Fig. 4): how local conductivity is distributed.

Per system, over every environment with a local conductivity k (bonded ions
have none): histograms of k for ions with an unlike ion within
``contact_distance`` (1.6σ, the first solvation shell: "near") and for the
others ("far"); the percentage of each with k < 0 (the paper: 22.6 % near vs
0.07 % far at c = 0.0005σ⁻³, l_B = 2.5σ; 28.0 % vs 21.6 % at c = 0.05σ⁻³,
l_B = 10σ); and Sarle's bimodality coefficient of all k,

    b = (γ² + 1) / (κ + 3 (n − 1)² / ((n − 2)(n − 3))),

γ the sample skewness, κ the sample excess kurtosis; b > 5/9 (the value for a
uniform distribution) suggests two modes.

Measured check: where the transport stage measured each ion's share of Λ
(``attribution.npz``), the table sets the mean learned k of near and of far
ions beside the mean measured share ± its frame-block error, with z =
(learned − measured)/error, and the numbers give χ²/dof over the system-groups
(``measured_agreement``). Those means are what the data fix; the percentages of
k < 0 and the histograms' shapes depend on the spread of k within a group,
which one noisy measurement per environment does not fix (a note says so).

Confidence: per system, the median member spread and posterior std of k and
the share of environments known to within ``max_relative_uncertainty`` of the
mean |k| (all with a k when unset) go in the table; each panel draws the
typical ±uncertainty of one k as a bar, and with ``max_relative_uncertainty``
set only the environments within it are histogrammed and counted.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np
from pydantic import Field

from core.api import (AnalysisInputs, AnalysisResult, MaxRelativeUncertainty, PluginConfig, SystemAnalysis,
                      SystemView, agreement_numbers, compare_groups, finite_median, negative_percent, pyplot,
                      row_columns, save_figure)

#: Sarle's coefficient of a uniform distribution; larger values suggest bimodality.
UNIFORM_BIMODALITY = 5.0 / 9.0


class LocalDistributionConfig(PluginConfig):
    """Which systems to show and how ions are called near or far."""

    systems: list[str] | None = Field(
        default=None, description="systems to plot; null: up to max_panels spread over the run's Λ range")
    max_panels: int = Field(default=6, ge=1, le=24)
    contact_distance: float = Field(default=1.6, gt=0, description="near: an unlike ion within this distance, σ")
    bins: int = Field(default=60, ge=5, le=1000)
    max_relative_uncertainty: MaxRelativeUncertainty = None


NAN = float("nan")


@dataclass(frozen=True)
class NegativeFractions:
    """How many near and far ions have a k, and the percentage of each group with k < 0 (NaN if none)."""

    n_near: int
    n_far: int
    negative_near_percent: float
    negative_far_percent: float


@dataclass(frozen=True)
class LocalDistributionRow:
    """One system of ``local_distribution.csv``: Λ; the near and far ions' counts and percentages with k < 0;
    all ions' percentage; the bimodality coefficient; medians of the member spread and the posterior std of
    one k; the percentage of confident k; and the measured check per group (near, far): mean learned k,
    mean measured share ± s.e., z (NaN where not checked). Fields after the fourth are also its numbers."""

    system: str
    concentration: float
    bjerrum_length: float
    true: float
    n_near: int
    n_far: int
    negative_near_percent: float
    negative_far_percent: float
    negative_percent: float
    bimodality: float
    k_std_median: float
    k_posterior_std_median: float
    confident_percent: float
    near_learned_mean: float = NAN
    near_measured_mean: float = NAN
    near_measured_err: float = NAN
    near_z: float = NAN
    far_learned_mean: float = NAN
    far_measured_mean: float = NAN
    far_measured_err: float = NAN
    far_z: float = NAN

    def numbers(self) -> dict[str, float]:
        """The fields after the fourth, by name: the system's entry in the result's numbers."""
        return {field.name: getattr(self, field.name) for field in fields(self)[4:]}


def negative_fractions(k: np.ndarray, nearest_unlike: np.ndarray, contact_distance: float) -> NegativeFractions:
    """Percentages of ions with k < 0 among near and far ions, and how many of each.

    ``k``, ``nearest_unlike``: (n,) local conductivities and distances (σ) to
    the nearest unlike ion; environments with a non-finite k are left out.
    """
    valid = np.isfinite(k)
    k, nearest_unlike = k[valid], nearest_unlike[valid]
    near = nearest_unlike < contact_distance
    counts = [int(near.sum()), int((~near).sum())]
    percents = [100.0 * float(np.mean(k[chosen] < 0)) if count else float("nan")
                for chosen, count in ((near, counts[0]), (~near, counts[1]))]
    return NegativeFractions(counts[0], counts[1], percents[0], percents[1])


def bimodality_coefficient(values: np.ndarray) -> float:
    """Sarle's bimodality coefficient with the small-sample corrections (nan below 4 values or no spread)."""
    values = np.asarray(values, dtype=float)
    n = len(values)
    spread = values.std()
    if n < 4 or spread == 0:
        return float("nan")
    z = (values - values.mean()) / spread
    g1, g2 = np.mean(z ** 3), np.mean(z ** 4) - 3.0
    skew = g1 * np.sqrt(n * (n - 1)) / (n - 2)
    excess = (n - 1) / ((n - 2) * (n - 3)) * ((n + 1) * g2 + 6)
    return float((skew ** 2 + 1) / (excess + 3 * (n - 1) ** 2 / ((n - 2) * (n - 3))))


#: Columns of ``local_distribution.csv``; those after the fourth are also each system's numbers.
COLUMNS = row_columns(LocalDistributionRow)


class LocalDistribution(SystemAnalysis):
    name = "local-distribution"
    version = "1.4"
    Config = LocalDistributionConfig
    title = "Distribution of local conductivity"
    paper_figure = "Fig. 4"
    table = "local_distribution.csv"
    columns = COLUMNS
    systems_from = "local"
    system_needs = frozenset({"local", "features", "prediction"})
    requires = ("matplotlib",)
    description = "distribution of local conductivity, near/far negative fractions, bimodality (paper Fig. 4)"

    missing_reasons = {
        "near_*": "fewer than 20 near ions with a measured share (or no measured attribution)",
        "far_*": "fewer than 20 far ions with a measured share (or no measured attribution)",
        "negative_*percent": "no confident k in this group", "bimodality": "fewer than 4 confident k, or no spread",
        "k_*_median": "no local k in this system", "chi2_per_dof": "no group could be checked against measurement"}

    def prepare(self, inputs: AnalysisInputs, result: AnalysisResult) -> None:
        unknown = sorted(set(self.config.systems or ()) - set(inputs.local_conductivities))
        if unknown:
            result.notes.append(f"no local conductivities for {', '.join(unknown)}")

    def sample(self, view: SystemView) -> tuple[np.ndarray, np.ndarray, float]:
        """(k with NaN where not confident (n_env,), the distance to the nearest unlike ion (n_env,) σ, the
        typical uncertainty of one confident k)."""
        local = view.local()
        confident = local.confident(self.config.max_relative_uncertainty)
        return (np.where(confident, local.k, np.nan), view.environments()["nearest_unlike"],
                local.typical_uncertainty(confident))

    def per_system(self, view: SystemView) -> LocalDistributionRow:
        local, prediction = view.local(), view.prediction
        k, nearest, _ = self.sample(view)
        with_k = local.has_k
        fractions = negative_fractions(k, nearest, self.config.contact_distance)
        row = LocalDistributionRow(
            view.name, prediction.concentration, prediction.bjerrum_length, prediction.true.value, fractions.n_near,
            fractions.n_far, fractions.negative_near_percent, fractions.negative_far_percent, negative_percent(k),
            bimodality_coefficient(k[np.isfinite(k)]), finite_median(local.k_std[with_k]),
            finite_median(local.k_posterior_std[with_k]),
            100.0 * float(np.isfinite(k).sum()) / max(int(with_k.sum()), 1))
        return self.measured_check(view, nearest, row)

    def conclude(self, rows: list[LocalDistributionRow], inputs: AnalysisInputs, result: AnalysisResult,
                 output_dir: Path) -> None:
        config: LocalDistributionConfig = self.config
        for row in rows:
            result.numbers[row.system] = row.numbers()
        agreement = agreement_numbers([z for row in rows for z in (row.near_z, row.far_z)], "n_system_groups")
        if agreement["n_system_groups"]:
            result.numbers["measured_agreement"] = agreement
            result.notes.append(
                f"Measured check: the mean learned k of near and of far ions agrees with the mean measured share "
                f"within 2 s.e. in {agreement['within_2_se']} of {agreement['n_system_groups']} system-groups "
                f"(χ²/dof {agreement['chi2_per_dof']:.2f}; table columns near_*/far_*). The percentages of k < 0 "
                "and the histograms' shapes are the model's: one noisy measurement per environment fixes group "
                "means, not the spread within a group.")
        else:
            result.notes.append("no measured attribution (transport.attribution off): the near/far means are "
                                "not checked against measurement")
        shown = self._chosen(rows, config)
        if shown:
            views = {view.name: view for view in self.views(inputs)}
            samples = {row.system: self.sample(views[row.system]) for row in shown}
            result.figures += self._figure(shown, samples, config, output_dir)
        else:
            result.notes.append("no system with local conductivities to plot")

    def measured_check(self, view: SystemView, nearest: np.ndarray, row: LocalDistributionRow) -> LocalDistributionRow:
        """``row`` with near and far: mean learned k, mean measured share ± s.e. and z (left NaN without an
        attribution or with fewer than 20 environments in the group)."""
        shares = view.measured_shares()
        if shares is None:
            return row
        comparison = compare_groups(shares, (nearest >= self.config.contact_distance).astype(int), 2)
        kept = comparison.kept(min_environments=20)
        if kept[0]:
            row = replace(row, near_learned_mean=float(comparison.learned[0]),
                          near_measured_mean=float(comparison.measured[0]),
                          near_measured_err=float(comparison.total_err[0]), near_z=float(comparison.z[0]))
        if kept[1]:
            row = replace(row, far_learned_mean=float(comparison.learned[1]),
                          far_measured_mean=float(comparison.measured[1]),
                          far_measured_err=float(comparison.total_err[1]), far_z=float(comparison.z[1]))
        return row

    @staticmethod
    def _chosen(rows: list[LocalDistributionRow], config: LocalDistributionConfig) -> list[LocalDistributionRow]:
        """The rows to plot: the named systems, or up to ``max_panels`` evenly spread over Λ."""
        if config.systems is not None:
            return [r for r in rows if r.system in config.systems]
        ordered = sorted(rows, key=lambda r: r.true)
        if len(ordered) <= config.max_panels:
            return ordered
        picks = np.unique(np.round(np.linspace(0, len(ordered) - 1, config.max_panels)).astype(int))
        return [ordered[i] for i in picks]

    @staticmethod
    def _figure(shown: list[LocalDistributionRow], samples: dict, config: LocalDistributionConfig,
                output_dir: Path) -> list[str]:
        plt = pyplot()
        columns = min(3, len(shown))
        lines = -(-len(shown) // columns)
        figure, axes = plt.subplots(lines, columns, figsize=(3.6 * columns, 2.9 * lines), squeeze=False)
        for ax, row in zip(axes.ravel(), shown):
            k, nearest, typical = samples[row.system]
            valid = np.isfinite(k)
            edges = np.histogram_bin_edges(k[valid], bins=config.bins)
            near = valid & (nearest < config.contact_distance)
            for label, chosen, colour in (("near", near, "#d62728"), ("far", valid & ~near, "#1f77b4")):
                ax.hist(k[chosen], bins=edges, density=True, histtype="step", color=colour,
                        label=f"{label} ({row.negative_near_percent if label == 'near' else row.negative_far_percent:.1f} % < 0)")
            ax.axvline(0.0, color="k", lw=0.6, ls=":")
            if np.isfinite(typical) and valid.any():
                centre, height = float(np.median(k[valid])), ax.get_ylim()[1]
                ax.errorbar([centre], [0.92 * height], xerr=[typical], fmt="|", color="0.3", capsize=3, lw=1,
                            label=f"typical ±σ of one k ({typical:.2g})")
            title = f"c = {row.concentration:g}, l_B = {row.bjerrum_length:g}  (b = {row.bimodality:.2f})"
            ax.set_title(title, fontsize=8)
            ax.set_xlabel("local conductivity k (reduced)")
            ax.legend(frameon=False, fontsize=7)
        for ax in axes.ravel()[len(shown):]:
            ax.set_visible(False)
        figure.tight_layout()
        return save_figure(figure, output_dir, "local_distribution")
