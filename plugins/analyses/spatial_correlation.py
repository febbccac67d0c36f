"""The ``spatial-correlation`` analysis (the paper's Fig. 6): how far local conductivity is correlated.

The paper's eq. 3 for like (cation–cation and anion–anion) and unlike
(cation–anion) pairs:

    C(r) = Σ_t Σ_i Σ_{j: |r_ij − r| < δ/2} Δk_i Δk_j / Σ_t Σ_i Σ_{j: |r_ij − r| < δ/2} 1,

with Δk_i = k_i − mean of k over the ions of i's species in that snapshot,
minimum-image distances, bins of δ = 0.2σ. Each curve is fitted by
C(r) = A exp(−r/ξ) from ``fit_from`` (default 1σ) to ``fit_to`` (default the
largest r with data), weighting bins by their standard error; the lengths ξ
(with the fit's standard error) are plotted against concentration
(paper Figs. 6D, E).

Measured check: with the transport stage's attribution (each ion's measured
share m_i of Λ at each frame), the same sums with one factor measured,

    C_lm(r) = Σ ½ (Δk_i Δm_j + Δm_i Δk_j) / Σ 1,

estimate ⟨Δk_i Δk_j^true⟩ without bias, because the noise of m has zero mean
given the configuration at the frame, of which the learned k is a function. So
C_lm = C(r) where the learned k is right, and C_lm differs where the model's
correlations are not the data's. Per bin, the difference C − C_lm and its error
(blocks of frames one current window apart, the frames of one block sharing
noise) go in ``spatial_correlation.csv``; χ²/dof of the difference over the fit
window, per system and kind, in ``measured_agreement``; the panels draw C_lm as
open markers. The products of two measured shares are not used: neighbours'
noises are correlated, so they would not estimate C(r).

Confidence: each system's panel states the typical uncertainty of one k (the
median of the predictive std: member spread and posterior std in quadrature) against its mean |k|,
and the share of ions used; with ``max_relative_uncertainty`` only ions whose k
is known that well enter C(r).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from dataclasses import asdict, dataclass

import numpy as np
from pydantic import Field

from core.api import (AnalysisInputs, AnalysisResult, MaxRelativeUncertainty, PluginConfig, SystemAnalysis,
                      SystemView, agreement_numbers, chi2_per_dof, measured_shares, minimum_image, pyplot,
                      row_columns, save_figure, species_notes)

KINDS = ("like", "unlike")


class SpatialCorrelationConfig(PluginConfig):
    """Bins, range, fit window and which systems to plot."""

    bin_width: float = Field(default=0.2, gt=0, description="δ of eq. 3, σ")
    r_max: float = Field(default=8.0, gt=0, description="largest distance binned (capped at half the box), σ")
    fit_from: float = Field(default=1.0, ge=0, description="fit C(r) = A exp(−r/ξ) from this distance, σ")
    fit_to: float | None = Field(default=None, gt=0, description="fit up to this distance, σ; null: r_max")
    min_pairs: int = Field(default=20, ge=2, description="bins with fewer pairs are left out of the fit")
    systems: list[str] | None = Field(default=None, description="systems to plot C(r) for; null: up to 3")
    max_snapshots: int | None = Field(default=None, ge=1, description="snapshots per system; null: all")
    max_relative_uncertainty: MaxRelativeUncertainty = None


@dataclass
class CorrelationHistogram:
    """Running sums of eq. 3 for one kind of pair, per bin of width ``bin_width`` from 0."""

    bin_width: float
    n_bins: int
    product_sum: np.ndarray = field(init=False)
    product_square_sum: np.ndarray = field(init=False)
    count: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.product_sum = np.zeros(self.n_bins)
        self.product_square_sum = np.zeros(self.n_bins)
        self.count = np.zeros(self.n_bins, dtype=np.int64)

    def add(self, distance: np.ndarray, product: np.ndarray) -> None:
        """Add pairs at ``distance`` (σ) with products Δk_i Δk_j."""
        bins = np.floor(distance / self.bin_width).astype(np.int64)
        inside = bins < self.n_bins
        bins, product = bins[inside], product[inside]
        self.product_sum += np.bincount(bins, weights=product, minlength=self.n_bins)
        self.product_square_sum += np.bincount(bins, weights=product ** 2, minlength=self.n_bins)
        self.count += np.bincount(bins, minlength=self.n_bins)

    @property
    def r(self) -> np.ndarray:
        """(n_bins,) bin centres, σ."""
        return (np.arange(self.n_bins) + 0.5) * self.bin_width

    @property
    def correlation(self) -> np.ndarray:
        """(n_bins,) C(r); nan where a bin has no pair."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.count > 0, self.product_sum / np.maximum(self.count, 1), np.nan)

    @property
    def standard_error(self) -> np.ndarray:
        """(n_bins,) standard error of C(r) from the spread of the products (pairs taken as independent)."""
        n = np.maximum(self.count, 1)
        mean = self.product_sum / n
        variance = np.maximum(self.product_square_sum / n - mean ** 2, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.count > 1, np.sqrt(variance / np.maximum(self.count - 1, 1)), np.nan)


@dataclass
class BlockedCrossHistogram:
    """Per block of frames and bin: sums of the learned products Δk_i Δk_j, of the half-measured products
    ½(Δk_i Δm_j + Δm_i Δk_j), and pair counts, over the snapshots with a measured attribution."""

    bin_width: float
    n_bins: int
    blocks: dict[int, np.ndarray] = field(default_factory=dict)

    def add(self, block: int, distance: np.ndarray, learned: np.ndarray, crossed: np.ndarray) -> None:
        """Add pairs at ``distance`` (σ) with products ``learned`` and ``crossed`` to block ``block``."""
        bins = np.floor(distance / self.bin_width).astype(np.int64)
        inside = bins < self.n_bins
        sums = self.blocks.setdefault(block, np.zeros((3, self.n_bins)))
        sums[0] += np.bincount(bins[inside], weights=learned[inside], minlength=self.n_bins)
        sums[1] += np.bincount(bins[inside], weights=crossed[inside], minlength=self.n_bins)
        sums[2] += np.bincount(bins[inside], minlength=self.n_bins)

    def _totals(self) -> np.ndarray:
        return np.array(list(self.blocks.values())) if self.blocks else np.zeros((0, 3, self.n_bins))

    @property
    def count(self) -> np.ndarray:
        """(n_bins,) pairs in the checked snapshots."""
        return self._totals()[:, 2].sum(axis=0).astype(np.int64)

    @property
    def crossed(self) -> np.ndarray:
        """(n_bins,) C_lm(r); NaN where a bin has no pair."""
        totals = self._totals().sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(totals[2] > 0, totals[1] / np.maximum(totals[2], 1), np.nan)

    def difference(self) -> tuple[np.ndarray, np.ndarray]:
        """(n_bins,) C − C_lm over the checked snapshots and its standard error: the ratio estimator over
        blocks, √(B/(B−1) Σ_b (D_b − d n_b)²) / N per bin; NaN with fewer than two blocks holding the bin."""
        per_block = self._totals()
        sums, counts = per_block[:, 0] - per_block[:, 1], per_block[:, 2]
        total = counts.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(total > 0, sums.sum(axis=0) / np.maximum(total, 1), np.nan)
            holding = (counts > 0).sum(axis=0)
            spread = np.sum((sums - mean * counts) ** 2, axis=0) * holding / np.maximum(holding - 1, 1)
            error = np.where(holding >= 2, np.sqrt(spread) / np.maximum(total, 1), np.nan)
        return mean, error


def species_deviation(values: np.ndarray, sign: np.ndarray) -> np.ndarray:
    """(n,) ``values`` less their mean over the ions of the same charge sign."""
    delta = np.asarray(values, dtype=np.float64).copy()
    for charge in (1, -1):
        mine = sign == charge
        if mine.any():   # a constant gives exact zeros, not the rounding of its mean
            delta[mine] = 0.0 if np.ptp(delta[mine]) == 0 else delta[mine] - delta[mine].mean()
    return delta


def add_snapshot(histograms: dict[str, CorrelationHistogram], positions: np.ndarray, sign: np.ndarray,
                 k: np.ndarray, box: np.ndarray, measured: np.ndarray | None = None,
                 crossed: dict[str, BlockedCrossHistogram] | None = None, block: int = 0) -> None:
    """Accumulate one snapshot's pairs into ``histograms`` ("like", "unlike").

    ``positions`` (n, 3) σ, ``sign`` (n,) ±1 and ``k`` (n,) of the ions with a
    local conductivity; Δk is taken from the snapshot's mean k per species.
    Every unordered pair within the histograms' range counts twice (i–j and
    j–i), as in eq. 3's double sum. With ``measured`` ((n,) the ions' measured
    shares, all finite) and ``crossed``, the pairs also go into block ``block``
    of the measured check.
    """
    from scipy.spatial import cKDTree

    box = np.asarray(box, dtype=np.float64)
    delta = species_deviation(k, sign)
    wrapped = np.mod(positions, box)
    wrapped = np.where(wrapped >= box, 0.0, wrapped)
    reach = min(histograms["like"].n_bins * histograms["like"].bin_width, 0.5 * float(box.min()))
    tree = cKDTree(wrapped, boxsize=box)
    pairs = tree.query_pairs(reach, output_type="ndarray")
    if len(pairs) == 0:
        return
    i, j = pairs[:, 0], pairs[:, 1]
    distance = np.linalg.norm(minimum_image(wrapped[i] - wrapped[j], box), axis=1)
    product = delta[i] * delta[j]
    like = sign[i] == sign[j]
    for kind, chosen in (("like", like), ("unlike", ~like)):
        histograms[kind].add(np.repeat(distance[chosen], 2), np.repeat(product[chosen], 2))
    if measured is not None and crossed is not None:
        measured_delta = species_deviation(measured, sign)
        half = 0.5 * (delta[i] * measured_delta[j] + measured_delta[i] * delta[j])
        for kind, chosen in (("like", like), ("unlike", ~like)):
            crossed[kind].add(block, np.repeat(distance[chosen], 2), np.repeat(product[chosen], 2),
                              np.repeat(half[chosen], 2))



NAN = float("nan")


@dataclass(frozen=True)
class ExponentialFit:
    """A fit of C(r) = A exp(−r/ξ): the amplitude A, the length ξ (σ), their standard errors, and the bins
    fitted (NaN values where no decay was fitted)."""

    amplitude: float
    amplitude_error: float
    length: float
    length_error: float
    n_bins: int


@dataclass(frozen=True)
class CorrelationBinRow:
    """One bin of ``spatial_correlation.csv``: C(r) ± its standard error over ``n_pairs`` pairs (r formatted
    to 4 significant digits, σ), and the measured check: C with one factor the measured share, C minus that
    ± its error, over ``n_pairs_checked`` pairs."""

    system: str
    kind: str
    r: str
    C: float
    standard_error: float
    n_pairs: int
    C_measured_factor: float
    C_minus_C_measured_factor: float
    difference_error: float
    n_pairs_checked: int


@dataclass(frozen=True)
class CorrelationLengthRow:
    """One system and kind of ``correlation_lengths.csv``: its state point and the fit of C(r)."""

    system: str
    kind: str
    concentration: float
    bjerrum_length: float
    amplitude: float
    amplitude_error: float
    length: float
    length_error: float
    n_bins: int


@dataclass(frozen=True)
class PanelConfidence:
    """How well one system's k are known: the median uncertainty of one confident k, the mean |k| (reduced
    Λ), and the percentage of ions with a k that are confident."""

    k_uncertainty_median: float
    k_mean_abs: float
    confident_percent: float


def fit_exponential(r: np.ndarray, correlation: np.ndarray, error: np.ndarray) -> ExponentialFit:
    """Weighted least-squares fit of A exp(−r/ξ): amplitude, length ξ (σ) and their standard errors.

    Bins with non-finite values or zero error are left out; nan when fewer than 3 remain, the fit fails,
    or ξ runs to a bound of [10⁻³, 10³]σ (no decay in the window).
    """
    from scipy.optimize import curve_fit

    usable = np.isfinite(correlation) & np.isfinite(error) & (error > 0)
    empty = ExponentialFit(NAN, NAN, NAN, NAN, int(usable.sum()))
    if usable.sum() < 3:
        return empty
    r, correlation, error = r[usable], correlation[usable], error[usable]
    start = (float(max(correlation[0], 1e-12)), float(max(np.ptp(r) / 3, 0.1)))

    def model(x, amplitude, length):
        return amplitude * np.exp(-x / length)

    try:
        values, covariance = curve_fit(model, r, correlation, p0=start, sigma=error, absolute_sigma=True,
                                       bounds=([-np.inf, 1e-3], [np.inf, 1e3]), maxfev=10_000)
    except (RuntimeError, ValueError):
        return empty
    errors = np.sqrt(np.diag(covariance))
    if not 1e-3 * 1.01 < values[1] < 1e3 * 0.99 or not np.all(np.isfinite(errors)):
        return empty  # the length ran to a bound: no decay (or no signal) in the window
    return ExponentialFit(float(values[0]), float(errors[0]), float(values[1]), float(errors[1]), int(len(r)))


#: Columns of the per-bin table.
BIN_COLUMNS = row_columns(CorrelationBinRow)
#: Columns of the table of fitted lengths.
LENGTH_COLUMNS = row_columns(CorrelationLengthRow)


class SpatialCorrelation(SystemAnalysis):
    """Eq. 3 per system (one snapshot in memory at a time) in :meth:`per_system`; the fits' lengths against
    concentration and the measured check over all systems in :meth:`conclude`. The C(r) panels need the
    unrounded curves, which :meth:`per_system` keeps in ``curves_`` (with the measured check's in ``checks_``,
    the panels' confidence in ``confidence_`` and the check's z per bin in ``check_z_``)."""

    name = "spatial-correlation"
    version = "1.4"
    Config = SpatialCorrelationConfig
    title = "Spatial correlation of local conductivity"
    paper_figure = "Fig. 6"
    tables = {"spatial_correlation.csv": BIN_COLUMNS, "correlation_lengths.csv": LENGTH_COLUMNS}
    systems_from = "local"
    system_needs = frozenset({"local"})
    needs = frozenset({"local_conductivities", "feature_stores", "trajectories"})
    requires = ("matplotlib", "scipy")
    description = "spatial correlation C(r) of local conductivity, like/unlike, exponential lengths (paper Fig. 6)"

    def prepare(self, inputs: AnalysisInputs, result: AnalysisResult) -> None:
        self.curves_: dict[str, dict[str, CorrelationHistogram]] = {}
        self.confidence_: dict[str, PanelConfidence] = {}
        self.checks_: dict[str, dict[str, BlockedCrossHistogram]] = {}
        self.check_z_: dict[str, np.ndarray] = {}
        result.notes += species_notes(inputs.transport, "like and unlike are by charge sign, so two cation species "
                                                        "(Li⁺ and Mg²⁺) count as like, and Δk is taken from the "
                                                        "mean of all cations (or anions)")

    def per_system(self, view: SystemView) -> dict[str, list[CorrelationBinRow] | list[CorrelationLengthRow]] | None:
        config: SpatialCorrelationConfig = self.config
        if not (view.has("features") and view.has("trajectories")):
            self.note(f"{view.name}: no feature store or trajectory, skipped")
            return None
        local = view.local()
        confident = local.confident(config.max_relative_uncertainty)
        histograms, crossed = self.correlate(np.where(confident, local.k, np.nan), view.inputs, view.name)
        self.curves_[view.name] = histograms
        if crossed is not None:
            self.checks_[view.name] = crossed
        self.confidence_[view.name] = PanelConfidence(
            local.typical_uncertainty(confident),
            float(np.mean(np.abs(local.k[confident]))) if confident.any() else float("nan"),
            100.0 * float(confident.sum()) / max(int(local.has_k.sum()), 1))
        spec = next((s for s in view.inputs.systems if s.name == view.name), None)
        bins, fits = [], []
        for kind in KINDS:
            h = histograms[kind]
            reach = (h.r >= config.fit_from) & (h.r <= (config.fit_to or config.r_max))
            window = reach & (h.count >= config.min_pairs)
            fit = fit_exponential(h.r[window], h.correlation[window], h.standard_error[window])
            fits.append(CorrelationLengthRow(view.name, kind, spec.concentration if spec else float("nan"),
                                             spec.bjerrum_length if spec else float("nan"), fit.amplitude,
                                             fit.amplitude_error, fit.length, fit.length_error, fit.n_bins))
            nan = np.full(h.n_bins, np.nan)
            check = crossed[kind] if crossed is not None else None
            cross, (difference, error), checked = ((check.crossed, check.difference(), check.count)
                                                   if check else (nan, (nan, nan), np.zeros(h.n_bins)))
            bins += [CorrelationBinRow(view.name, kind, f"{r:.4g}", c, e, int(n), x, d, de, int(nc))
                     for r, c, e, n, x, d, de, nc in zip(h.r, h.correlation, h.standard_error, h.count, cross,
                                                         difference, error, checked)]
            if check is not None:
                usable = reach & (check.count >= config.min_pairs) & np.isfinite(error) & (error > 0)
                self.check_z_[f"{view.name} {kind}"] = difference[usable] / error[usable]
        return {"spatial_correlation.csv": bins, "correlation_lengths.csv": fits}

    missing_reasons = {
        "*_length": "no exponential decay fitted in the fit window (fewer than 3 bins with enough pairs, or ξ ran "
                    "to a bound)",
        "*_length_error": "no exponential decay fitted in the fit window",
        "chi2_per_dof": "no bin of the fit window holds enough pairs with a measured share (n_bins 0)",
        "k_uncertainty_median": "no confident local k in this system", "k_mean_abs": "no local k in this system",
        "confident_percent": "no local k in this system"}

    def conclude(self, rows: dict[str, list], inputs: AnalysisInputs, result: AnalysisResult,
                 output_dir: Path) -> None:
        fits: list[CorrelationLengthRow] = rows["correlation_lengths.csv"]
        self._measured_numbers(result)
        for fit in fits:
            result.numbers.setdefault(fit.system, {})[f"{fit.kind}_length"] = fit.length
            result.numbers[fit.system][f"{fit.kind}_length_error"] = fit.length_error
        for name, values in self.confidence_.items():
            result.numbers.setdefault(name, {}).update(asdict(values))
        if self.curves_:
            result.figures += self._figures(self.curves_, fits, self.config, output_dir, self.confidence_,
                                            self.checks_)

    def _measured_numbers(self, result: AnalysisResult) -> None:
        """χ²/dof of C − C_lm over the fit window, per system and kind, and over all."""
        if not self.check_z_:
            result.notes.append("no measured attribution: C(r) is not checked against measurement")
            return
        agreement = agreement_numbers(np.concatenate(list(self.check_z_.values())), "n_bins")
        result.numbers["measured_agreement"] = {
            **agreement, "per_system_and_kind": {name: {"chi2_per_dof": chi2_per_dof(z), "n_bins": int(len(z))}
                                                 for name, z in self.check_z_.items()}}
        result.notes.append(f"Measured check: C(r) of the learned k against C_lm(r), one factor the measured "
                            f"share (open markers), over the fit window: χ²/dof {agreement['chi2_per_dof']:.2f} "
                            f"over {agreement['n_bins']} bins. Where it is near 1, the data support the learned "
                            "correlations.")

    def correlate(self, k: np.ndarray, inputs: AnalysisInputs, system: str
                  ) -> tuple[dict[str, CorrelationHistogram], dict[str, BlockedCrossHistogram] | None]:
        """Eq. 3 histograms of ``system`` over its snapshots (one frame in memory at a time), from ``k``
        ((n,) per environment of its store; NaN for those left out), and the measured check's histograms
        (None without an attribution)."""
        config: SpatialCorrelationConfig = self.config
        n_bins = int(np.ceil(config.r_max / config.bin_width))
        histograms = {kind: CorrelationHistogram(config.bin_width, n_bins) for kind in KINDS}
        shares = measured_shares(inputs, system)
        crossed = {kind: BlockedCrossHistogram(config.bin_width, n_bins) for kind in KINDS} if shares else None
        environments = inputs.environments(system)
        snapshots = sorted({(int(r), int(f)) for r, f in zip(environments["replica"], environments["frame"])})
        if config.max_snapshots is not None and len(snapshots) > config.max_snapshots:
            picks = np.round(np.linspace(0, len(snapshots) - 1, config.max_snapshots)).astype(int)
            snapshots = [snapshots[i] for i in picks]
        for replica in sorted({r for r, _ in snapshots}):
            frames = [f for r, f in snapshots if r == replica]
            for frame_index, frame in zip(frames, inputs.frames(system, replica, frames)):
                index = np.flatnonzero((environments["replica"] == replica) & (environments["frame"] == frame_index))
                index = index[np.isfinite(k[index])]
                if len(index) < 2:
                    continue
                ions = environments["ion_index"][index]
                measured = shares.measured[index] if shares is not None else None
                checked = measured is not None and bool(np.all(np.isfinite(measured)))
                add_snapshot(histograms, frame.positions[ions], environments["charge_sign"][index].astype(int),
                             k[index], frame.box, measured=measured if checked else None, crossed=crossed,
                             block=int(shares.blocks[index[0]]) if checked else 0)
        return histograms, crossed

    @staticmethod
    def _figures(curves: dict, fits: list[CorrelationLengthRow], config: SpatialCorrelationConfig, output_dir: Path,
                 confidence: dict[str, PanelConfidence], checks: dict | None = None) -> list[str]:
        plt = pyplot()
        shown = [n for n in (config.systems or list(curves)[:3]) if n in curves]
        fit_of = {(f.system, f.kind): f for f in fits}
        figure, axes = plt.subplots(1, len(shown) + 2, figsize=(3.4 * (len(shown) + 2), 3.0), squeeze=False)
        for ax, name in zip(axes[0], shown):
            for kind, colour in zip(KINDS, ("#1f77b4", "#d62728")):
                h = curves[name][kind]
                ax.errorbar(h.r, h.correlation, yerr=h.standard_error, fmt=".", ms=3, color=colour, label=kind)
                if checks and name in checks:
                    ax.plot(h.r, checks[name][kind].crossed, "o", mfc="none", ms=3, color=colour, lw=0,
                            label=f"{kind}, one factor measured")
                fit = fit_of[(name, kind)]
                if np.isfinite(fit.length):
                    r = h.r[h.r >= config.fit_from]
                    ax.plot(r, fit.amplitude * np.exp(-r / fit.length), color=colour, lw=0.8)
            ax.axhline(0.0, color="k", lw=0.5)
            known = confidence.get(name, PanelConfidence(NAN, NAN, NAN))
            ax.set_title(f"{name}\none k known to ±{known.k_uncertainty_median:.2g} "
                         f"(mean |k| {known.k_mean_abs:.2g}); "
                         f"{known.confident_percent:.0f} % of ions used", fontsize=7)
            ax.set_xlabel("r (σ)")
            ax.set_ylabel("C(r)")
            ax.legend(frameon=False, fontsize=7)
        for ax, kind in zip(axes[0][len(shown):], KINDS):
            chosen = [f for f in fits if f.kind == kind and np.isfinite(f.length)]
            for lb in sorted({f.bjerrum_length for f in chosen}):
                points = sorted((f for f in chosen if f.bjerrum_length == lb), key=lambda f: f.concentration)
                ax.errorbar([f.concentration for f in points], [f.length for f in points],
                            yerr=[f.length_error for f in points], fmt="o-", ms=3, label=f"l_B = {lb:g}")
            ax.set_xscale("log")
            ax.set_xlabel("c (σ⁻³)")
            ax.set_ylabel(f"{kind}-charge correlation length ξ (σ)")
            ax.legend(frameon=False, fontsize=7)
        figure.tight_layout()
        return save_figure(figure, output_dir, "spatial_correlation")
