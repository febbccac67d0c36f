"""The ``onsager-relations`` analysis (the paper's Figs. 7, 8): local conductivity against Onsager coefficients.

Per system: the percentage of ions whose ensemble-mean local conductivity k
is negative (bonded ions, which have none, left out), against
L_self^{++}/c (ideal, uncorrelated cation motion; Fig. 7) and against
L^{+-}/c (cation–anion correlation; Fig. 8), both from the transport stage
(reduced units, with their replica standard deviations as error bars). c is the
concentration Λ is per, measured from the trajectories (``formula_concentration``:
N₊/V for the model, which the recipe's nominal concentration rounds to whole
ions, 4 % apart at c = 0.01 with 1000 beads); systems are labelled and grouped
by the recipe's concentration.
Systems of one concentration are joined in order of Bjerrum length; the
Pearson correlation over all systems and the Spearman correlation within each
concentration (three or more systems) are reported.

Measured check: the fraction of k below zero is the model's statement (one
noisy measured share per environment does not fix the sign of k in one
environment). What the data fix is the mean of k over a group of environments,
so each system also gets the near-minus-far contrast of k (near: an unlike ion
within ``contact_distance``) from the learned k and from the measured shares
(± its frame-block error; the far part's common error cancels), z between them,
and the Pearson correlation of each contrast with L_self^{++}/c and L^{+-}/c.
Where the learned contrast agrees with the measured one, the relation of the
local field to the Onsager coefficients is the data's; the third panel shows both.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from pydantic import Field

from core.api import (AnalysisInputs, AnalysisResult, PluginConfig, SystemAnalysis, SystemView, agreement_numbers,
                      compare_groups, negative_percent, pyplot, row_columns, save_figure, species_notes)

#: (:class:`SystemTransport` field and table column, label) of the coefficients set against the negative fraction.
COEFFICIENTS = (("L_self_pp", "L_self^{++} / c"), ("L_pm", "L^{+-} / c"))


class OnsagerRelationsConfig(PluginConfig):
    """Which systems to include."""

    splits: list[str] | None = Field(default=None, description="prediction splits to include; null: every system")
    contact_distance: float = Field(default=1.6, gt=0, description="near: an unlike ion within this distance, σ "
                                                                    "(the measured check's contrast)")
    min_environments: int = Field(default=20, ge=2, description="the contrast needs this many near and far")

NAN = float("nan")


@dataclass(frozen=True)
class OnsagerRelationsRow:
    """One system of ``onsager_relations.csv``: the percentage of its k below zero, its L_self^{++} and
    L^{+-} over c with their replica std (reduced), and the measured check's near-minus-far contrast of
    mean k, learned and measured ± s.e., and z (NaN where not checked)."""

    system: str
    concentration: float
    bjerrum_length: float
    negative_percent: float
    L_self_pp_over_c: float
    L_self_pp_over_c_std: float
    L_pm_over_c: float
    L_pm_over_c_std: float
    contrast_learned: float = NAN
    contrast_measured: float = NAN
    contrast_measured_err: float = NAN
    contrast_z: float = NAN

    def over_c(self, coefficient: str) -> tuple[float, float]:
        """(value, std) of one of :data:`COEFFICIENTS` over c."""
        return getattr(self, f"{coefficient}_over_c"), getattr(self, f"{coefficient}_over_c_std")


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman rank correlation (nan below 3 points or without spread)."""
    from scipy.stats import spearmanr

    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(spearmanr(x, y).statistic)


class OnsagerRelations(SystemAnalysis):
    name = "onsager-relations"
    version = "1.4"
    Config = OnsagerRelationsConfig
    title = "Local conductivity and Onsager coefficients"
    paper_figure = "Figs. 7, 8"
    table = "onsager_relations.csv"
    columns = row_columns(OnsagerRelationsRow)
    systems_from = "transport"
    system_needs = frozenset({"transport", "local"})
    needs = frozenset({"local_conductivities", "transport", "predictions"})
    requires = ("matplotlib", "scipy")
    description = "fraction of negative local conductivity vs L_self++/c and L+-/c (paper Figs. 7, 8)"

    def per_system(self, view: SystemView) -> OnsagerRelationsRow:
        transport = view.transport
        fraction = negative_percent(view.local().k)
        # divided by the concentration Λ is per (measured from the files: N₊/V for the model, which the
        # recipe's nominal concentration rounds to a whole number of ions); labelled by the recipe's
        measured = transport.formula_concentration
        c = float(measured if np.isfinite(measured) and measured else transport.concentration)
        self_pp, pm = transport.L_self_pp, transport.L_pm
        row = OnsagerRelationsRow(view.name, float(transport.concentration), float(transport.bjerrum_length), fraction,
                                  float(self_pp.value) / c, float(self_pp.std) / c, float(pm.value) / c,
                                  float(pm.std) / c)
        return self.contrast(view, row)

    missing_reasons = {
        "spearman_at_c=*": "fewer than 3 systems at this concentration, or no spread",
        "pearson_r*": "fewer than 3 systems with a finite value, or no spread",
        "chi2_per_dof": "no system could be checked against measurement",
        "contrast_*": "too few environments near or far, or no measured attribution"}

    def conclude(self, rows: list[OnsagerRelationsRow], inputs: AnalysisInputs, result: AnalysisResult,
                 output_dir: Path) -> None:
        result.notes += species_notes(inputs.transport, "L_self^{++} and L^{+-} pool every cation species (and "
                                                        "every anion species); the transport table has the "
                                                        "matrix over the species")
        if len(rows) < 2:
            result.notes.append("fewer than two systems with local conductivities and transport: no correlations")
            return
        fraction = np.array([r.negative_percent for r in rows])
        for column, label in COEFFICIENTS:
            values = np.array([r.over_c(column)[0] for r in rows])
            numbers = {"pearson_r": float(np.corrcoef(fraction, values)[0, 1]) if np.ptp(fraction) and np.ptp(values)
                       else float("nan")}
            for c in sorted({r.concentration for r in rows}):
                chosen = np.array([r.concentration == c for r in rows])
                numbers[f"spearman_at_c={c:g}"] = spearman(fraction[chosen], values[chosen])
            for which, contrast in (("learned", np.array([r.contrast_learned for r in rows])),
                                    ("measured", np.array([r.contrast_measured for r in rows]))):
                finite = np.isfinite(contrast)
                numbers[f"pearson_r_contrast_{which}"] = (
                    float(np.corrcoef(contrast[finite], values[finite])[0, 1])
                    if finite.sum() >= 3 and np.ptp(contrast[finite]) and np.ptp(values[finite]) else float("nan"))
            result.numbers[label] = numbers
        agreement = agreement_numbers([r.contrast_z for r in rows], "n_systems")
        if agreement["n_systems"]:
            result.numbers["measured_agreement"] = agreement
            result.notes.append(
                f"Measured check: the percentage of k < 0 is the model's; the near-minus-far contrast of k is the "
                f"data's too. Learned and measured contrasts agree within 2 s.e. in {agreement['within_2_se']} of "
                f"{agreement['n_systems']} systems (χ²/dof {agreement['chi2_per_dof']:.2f}); the Pearson r of each "
                "contrast with the coefficients is in the numbers, and the third panel shows both against L^{+-}/c.")
        else:
            result.notes.append("no measured attribution: the local field is not checked against measurement")
        result.figures += self._figure(rows, output_dir)

    def contrast(self, view: SystemView, row: OnsagerRelationsRow) -> OnsagerRelationsRow:
        """``row`` with the near-minus-far mean k, learned and measured ± s.e., and z (left NaN without an
        attribution or enough environments in either group)."""
        shares = view.measured_shares()
        if shares is None:
            return row
        far = view.environments()["nearest_unlike"] >= self.config.contact_distance
        comparison = compare_groups(shares, far.astype(int), 2)
        if not comparison.kept(self.config.min_environments).all():
            return row
        contrast = comparison.contrast(0, 1)
        return replace(row, contrast_learned=contrast.learned, contrast_measured=contrast.measured,
                       contrast_measured_err=contrast.measured_err, contrast_z=contrast.z)

    @staticmethod
    def _figure(rows: list[OnsagerRelationsRow], output_dir: Path) -> list[str]:
        plt = pyplot()
        figure, axes = plt.subplots(1, 3, figsize=(12.6, 3.6))
        concentrations = sorted({r.concentration for r in rows})
        colours = plt.get_cmap("viridis")(np.linspace(0, 0.9, len(concentrations)))
        for ax, (column, label) in zip(axes, COEFFICIENTS):
            for c, colour in zip(concentrations, colours):
                points = sorted((r for r in rows if r.concentration == c), key=lambda r: r.bjerrum_length)
                ax.errorbar([r.negative_percent for r in points], [r.over_c(column)[0] for r in points],
                            yerr=[r.over_c(column)[1] for r in points], fmt="o-", ms=3, lw=0.8,
                            color=colour, label=f"c = {c:g}")
            ax.set_xlabel("ions with k < 0 (%)")
            ax.set_ylabel(f"{label} (reduced)")
            ax.legend(frameon=False, fontsize=7)
        checked = [r for r in rows if np.isfinite(r.contrast_measured)]
        coupling = [r.L_pm_over_c for r in checked]
        axes[2].errorbar(coupling, [r.contrast_measured for r in checked],
                         yerr=[r.contrast_measured_err for r in checked], fmt="o", ms=4, mfc="none", lw=0.8,
                         label="measured")
        axes[2].plot(coupling, [r.contrast_learned for r in checked], "x", ms=5, label="learned")
        axes[2].axhline(0.0, color="k", lw=0.5)
        axes[2].set_xlabel("L^{+-} / c (reduced)")
        axes[2].set_ylabel("near − far mean k (reduced)")
        axes[2].legend(frameon=False, fontsize=7)
        figure.tight_layout()
        return save_figure(figure, output_dir, "onsager_relations")
