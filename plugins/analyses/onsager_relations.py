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
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from pydantic import Field

from core.datatypes import AnalysisInputs, AnalysisResult
from core.figures import pyplot, save_figure
from core.species import species_notes
from core.plugin_api import AnalysisPlugin, PluginConfig

#: (transport column, label) of the coefficients set against the negative fraction.
COEFFICIENTS = (("L_self_pp", "L_self^{++} / c"), ("L_pm", "L^{+-} / c"))


class OnsagerRelationsConfig(PluginConfig):
    """Which systems to include."""

    splits: list[str] | None = Field(default=None, description="prediction splits to include; null: every system")


def negative_percent(k: np.ndarray) -> float:
    """Percentage of finite entries of ``k`` below zero (nan if none is finite)."""
    finite = np.asarray(k, dtype=float)
    finite = finite[np.isfinite(finite)]
    return 100.0 * float(np.mean(finite < 0)) if len(finite) else float("nan")


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman rank correlation (nan below 3 points or without spread)."""
    from scipy.stats import spearmanr

    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(spearmanr(x, y).statistic)


class OnsagerRelations(AnalysisPlugin):
    name = "onsager-relations"
    version = "1.1"
    Config = OnsagerRelationsConfig
    needs = frozenset({"local_conductivities", "transport", "predictions"})
    requires = ("matplotlib", "scipy")
    install_hint = "pip install matplotlib scipy"
    description = "fraction of negative local conductivity vs L_self++/c and L+-/c (paper Figs. 7, 8)"

    def run(self, inputs: AnalysisInputs, output_dir: Path) -> AnalysisResult:
        config: OnsagerRelationsConfig = self.config
        result = AnalysisResult(title="Local conductivity and Onsager coefficients", paper_figure="Figs. 7, 8")
        split_of = {p["system"]: p["split"] for p in inputs.predictions}
        rows = []
        for row in inputs.transport:
            name = row["system"]
            if name not in inputs.local_conductivities or (config.splits is not None
                                                           and split_of.get(name) not in config.splits):
                continue
            fraction = negative_percent(inputs.local(name).k)
            # divided by the concentration Λ is per (measured from the files: N₊/V for the model, which the
            # recipe's nominal concentration rounds to a whole number of ions); labelled by the recipe's
            c = float(row.get("formula_concentration") or row["concentration"])
            out = {"system": name, "concentration": float(row["concentration"]),
                   "bjerrum_length": float(row["bjerrum_length"]),
                   "negative_percent": fraction}
            for column, _ in COEFFICIENTS:
                out[f"{column}_over_c"] = float(row[column]) / c
                out[f"{column}_over_c_std"] = float(row.get(f"{column}_std", float("nan"))) / c
            rows.append(out)
        fields = ["system", "concentration", "bjerrum_length", "negative_percent"] + [
            f"{column}_over_c{suffix}" for column, _ in COEFFICIENTS for suffix in ("", "_std")]
        with open(output_dir / "onsager_relations.csv", "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)
        result.tables.append("onsager_relations.csv")
        result.notes += species_notes(inputs.transport, "L_self^{++} and L^{+-} pool every cation species (and "
                                                        "every anion species); the transport table has the "
                                                        "matrix over the species")
        if len(rows) < 2:
            result.notes.append("fewer than two systems with local conductivities and transport: no correlations")
            return result
        fraction = np.array([r["negative_percent"] for r in rows])
        for column, label in COEFFICIENTS:
            values = np.array([r[f"{column}_over_c"] for r in rows])
            numbers = {"pearson_r": float(np.corrcoef(fraction, values)[0, 1]) if np.ptp(fraction) and np.ptp(values)
                       else float("nan")}
            for c in sorted({r["concentration"] for r in rows}):
                chosen = np.array([r["concentration"] == c for r in rows])
                numbers[f"spearman_at_c={c:g}"] = spearman(fraction[chosen], values[chosen])
            result.numbers[label] = numbers
        result.figures += self._figure(rows, output_dir)
        return result

    @staticmethod
    def _figure(rows: list[dict], output_dir: Path) -> list[str]:
        plt = pyplot()
        figure, axes = plt.subplots(1, 2, figsize=(8.4, 3.6))
        concentrations = sorted({r["concentration"] for r in rows})
        colours = plt.get_cmap("viridis")(np.linspace(0, 0.9, len(concentrations)))
        for ax, (column, label) in zip(axes, COEFFICIENTS):
            for c, colour in zip(concentrations, colours):
                points = sorted((r for r in rows if r["concentration"] == c), key=lambda r: r["bjerrum_length"])
                ax.errorbar([r["negative_percent"] for r in points], [r[f"{column}_over_c"] for r in points],
                            yerr=[r[f"{column}_over_c_std"] for r in points], fmt="o-", ms=3, lw=0.8,
                            color=colour, label=f"c = {c:g}")
            ax.set_xlabel("ions with k < 0 (%)")
            ax.set_ylabel(f"{label} (reduced)")
            ax.legend(frameon=False, fontsize=7)
        figure.tight_layout()
        return save_figure(figure, output_dir, "onsager_relations")
