"""The ``local-attribution`` analysis: learned local k against each ion's measured share of Λ, per environment bin.

The transport stage measures, for every ion at every frame, its Green–Kubo share of the current
(:mod:`core.transport.attribution`): a noisy but unbiased measurement whose mean over ions and frames is
Λ and whose mean over the environments of a bin is the local conductivity of that bin. Per system and
bin of the distance to the nearest unlike ion (contact below ``contact_distance``, free above, or the
edges of ``distance_bins``), this compares the mean learned k with the mean measured attribution ± its
standard error (environments grouped into blocks of frames at least one current window apart, since
the ions of a frame share its ΔM), on the systems a model was trained on and on the held-out ones.

Numbers: χ²/dof of learned against measured over all system-bins and over the held-out ones (only the
measurement's error enters: the learned bin mean is taken as exact); and for two bins the contact-minus-free
contrast of the learned and the measured k, pooled over systems by the measurement's inverse variance,
with how many standard errors apart they are. ``far_excess`` checks the attribution's cutoff: the bin's
mean of the distinct terms beyond it, less their mean over the system (zero within its error where
replacing them by their mean loses nothing). Bonded ions have no learned k and are left out. The learned
k is on the scale of the measurement when bonded ions count as zero (the default ``model.bonded_ions``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from pydantic import Field

from core.api import (AnalysisInputs, AnalysisResult, DistanceBinEdges, PluginConfig, SystemAnalysis, SystemView,
                      block_mean, chi2_per_dof, compare_groups, identity_line, pyplot, row_columns, save_figure)


@dataclass(frozen=True)
class LocalAttributionRow:
    """One system-bin of ``local_attribution.csv`` (reduced Λ): the mean learned k and the mean measured share
    ± its standard error over ``n_environments``, the share's self and distinct parts, the far part's excess
    (± s.e.), z of learned against measured, the flat k (the system's Λ) and its z, the error of the system's
    contact − free contrast, and the outer-fold members' k and z (NaN without them)."""

    system: str
    split: str | None
    bin: str
    n_environments: int
    learned: float
    measured: float
    measured_err: float
    measured_self: float
    measured_distinct: float
    far_excess: float
    far_excess_err: float
    z: float
    flat: float
    z_flat: float
    contrast_err: float
    learned_cross: float
    z_cross: float


#: Columns of ``local_attribution.csv``.
COLUMNS = row_columns(LocalAttributionRow)
#: Splits whose systems the main ensemble never trained on.
HELD_OUT = ("test", "external")


class LocalAttributionConfig(PluginConfig):
    """The environment bins."""

    distance_bins: DistanceBinEdges = Field(
        default=[1.5], min_length=1, description="inner edges (σ) of the bins of the distance to the nearest unlike "
                                                 "ion; the default [1.5] gives contact (< 1.5σ) and free")
    min_environments: int = Field(default=20, ge=2, description="bins with fewer environments are left out")


class LocalAttribution(SystemAnalysis):
    name = "local-attribution"
    version = "1.3"
    Config = LocalAttributionConfig
    title = "Local attribution: learned k against measured shares of Λ"
    table = "local_attribution.csv"
    columns = COLUMNS
    systems_from = "predictions"
    system_needs = frozenset({"prediction", "local", "features", "attribution"})
    requires = ("matplotlib",)
    description = "learned local k against each ion's measured Green–Kubo share of Λ, per environment bin"

    def bin_names(self) -> list[str]:
        edges = self.config.distance_bins
        if len(edges) == 1:
            return [f"contact (< {edges[0]:g}σ)", f"free (≥ {edges[0]:g}σ)"]
        bounds = [0.0, *edges, math.inf]
        return [f"{lo:g}–{hi:g}σ" for lo, hi in zip(bounds, bounds[1:])]

    missing_reasons = {
        "chi2_per_dof_held_out*": "no held-out system bin with enough environments",
        "chi2_per_dof_cross*": "no outer-fold k (split.outer_folds: 0) or no system bin with enough environments",
        "chi2_per_dof_*": "no system bin with enough environments",
        "contrast_held_out_*": "no held-out system with enough environments in both bins",
        "contrast_cross_*": "no outer-fold k, or no system with enough environments in both bins",
        "contrast_*": "no system with enough environments in both bins"}

    def per_system(self, view: SystemView) -> list[LocalAttributionRow]:
        """One row per bin: learned and measured means over the environments with both."""
        names = self.bin_names()
        environments = view.environments()
        attribution = view.inputs.attribution(view.name)
        shares = view.measured_shares()
        _, self_part, _, far = attribution.lookup(environments["replica"], environments["frame"],
                                                  environments["ion_index"])
        which = np.digitize(environments["nearest_unlike"], self.config.distance_bins)
        comparison = compare_groups(shares, which, len(names))
        usable = shares.usable
        flat = view.prediction.true.value if view.prediction is not None else float("nan")
        cross_k = view.local().k_cross
        crossed = None
        if cross_k is not None and np.any(np.isfinite(cross_k)):   # k of the members that never saw the system
            crossed = compare_groups(replace(shares, learned=np.where(usable_of(shares), cross_k, np.nan)),
                                     which, len(names))
        contrast_err = comparison.contrast(0, 1).measured_err if len(names) == 2 else float("nan")
        rows = []
        for number, name in enumerate(names):
            chosen = usable & (which == number)
            far_excess, far_error, _ = block_mean(far[chosen] - np.mean(far[usable]), shares.blocks[chosen])
            self_mean = float(np.mean(self_part[chosen])) if chosen.any() else float("nan")
            mean = float(comparison.measured[number])
            error = float(comparison.total_err[number])
            rows.append(LocalAttributionRow(
                view.name, view.split, name, int(comparison.n_environments[number]), float(comparison.learned[number]),
                mean, error, self_mean, mean - self_mean, far_excess, far_error, float(comparison.z[number]), flat,
                (flat - mean) / error if error > 0 else float("nan"), contrast_err,
                float(crossed.learned[number]) if crossed is not None else float("nan"),
                float(crossed.z[number]) if crossed is not None else float("nan")))
        return rows

    def conclude(self, rows: list[LocalAttributionRow], inputs: AnalysisInputs, result: AnalysisResult,
                 output_dir: Path) -> None:
        config: LocalAttributionConfig = self.config
        names = self.bin_names()
        kept = [r for r in rows if r.n_environments >= config.min_environments and np.isfinite(r.z)]
        held_out = [r for r in kept if r.split in HELD_OUT]
        result.numbers.update(agreement(kept, "all"))
        result.numbers.update(agreement(held_out, "held_out"))
        crossed = [replace(r, learned=r.learned_cross, z=r.z_cross) for r in kept if np.isfinite(r.z_cross)]
        result.numbers.update(agreement(crossed, "cross"))
        if len(names) == 2:
            result.numbers.update(contrast(kept, names))
            result.numbers.update(contrast(held_out, names, "held_out_"))
            result.numbers.update(contrast(crossed, names, "cross_"))
        result.notes.append("χ²/dof counts only the measurement's error (the learned bin mean is taken as exact); "
                            "measured errors are a delete-one-block jackknife (blocks of frames one current window "
                            "apart) that recomputes the far part's mean per valence. *_flat: the same figures for a "
                            "flat k (every ion its system's Λ), the baseline a learned k must beat. 'held out': the "
                            "test and external systems, which no member of the main ensemble saw; 'cross': every "
                            "system scored with the k of the outer-fold members that never saw it.")
        result.figures += self.figure(kept, names, output_dir)

    def figure(self, rows: list[LocalAttributionRow], names: list[str], output_dir: Path) -> list[str]:
        plt = pyplot()
        figure, axes = plt.subplots(figsize=(4.8, 4.4))
        for number, name in enumerate(names):
            for held_out in (False, True):
                chosen = [r for r in rows if r.bin == name and (r.split in HELD_OUT) == held_out]
                if not chosen:
                    continue
                axes.errorbar([r.measured for r in chosen], [r.learned for r in chosen],
                              xerr=[r.measured_err for r in chosen], fmt="o" if held_out else "s",
                              mfc="none" if not held_out else f"C{number}", color=f"C{number}", ms=5, lw=0.8,
                              label=f"{name}{', held out' if held_out else ''}")
        identity_line(axes, [v for r in rows for v in (r.measured, r.learned)], "k:")
        axes.set_xlabel("measured attribution (mean ± s.e., reduced Λ)")
        axes.set_ylabel("learned k (mean over the bin)")
        axes.legend(frameon=False, fontsize=7)
        figure.tight_layout()
        return save_figure(figure, output_dir, "local_attribution")


def agreement(rows: list[LocalAttributionRow], label: str) -> dict[str, float]:
    """χ²/dof of learned against measured over ``rows`` (one per system-bin), the flat k's, and how many."""
    z = np.array([r.z for r in rows], dtype=np.float64)
    flat = np.array([r.z_flat for r in rows], dtype=np.float64)
    return {f"chi2_per_dof_{label}": chi2_per_dof(z), f"chi2_per_dof_{label}_flat": chi2_per_dof(flat),
            f"n_system_bins_{label}": int(len(z))}


def contrast(rows: list[LocalAttributionRow], names: list[str], prefix: str = "") -> dict[str, float]:
    """First-bin-minus-second-bin contrast per system (its error the jackknife's of the whole contrast),
    pooled over systems by inverse variance: measured (± s.e.), learned (same weights), how many standard
    errors apart they are, and how far the flat k's contrast (zero) is from the measured one."""
    by_system: dict[str, dict[str, LocalAttributionRow]] = {}
    for row in rows:
        by_system.setdefault(row.system, {})[row.bin] = row
    measured, learned, variance = [], [], []
    for bins in by_system.values():
        if names[0] in bins and names[1] in bins and bins[names[0]].contrast_err > 0:
            first, second = bins[names[0]], bins[names[1]]
            measured.append(first.measured - second.measured)
            learned.append(first.learned - second.learned)
            variance.append(first.contrast_err ** 2)
    key = f"contrast_{prefix}"
    if not measured:
        return {f"{key}systems": 0}
    weights = 1.0 / np.array(variance)
    error = float(1.0 / math.sqrt(weights.sum()))
    pooled_measured = float(np.sum(weights * measured) / weights.sum())
    pooled_learned = float(np.sum(weights * learned) / weights.sum())
    return {f"{key}measured": pooled_measured, f"{key}measured_err": error, f"{key}learned": pooled_learned,
            f"{key}z": (pooled_learned - pooled_measured) / error, f"{key}flat_z": -pooled_measured / error,
            f"{key}learned_from_flat": pooled_learned / error, f"{key}systems": len(measured),
            f"{key}measured_negative": int(np.sum(np.array(measured) < 0))}


def usable_of(shares) -> np.ndarray:
    """(n_env,) bool: the environments of ``shares`` with a measurement and a main-ensemble k (the same
    environments are compared for the outer-fold k)."""
    return np.isfinite(shares.learned) & np.isfinite(shares.measured)
