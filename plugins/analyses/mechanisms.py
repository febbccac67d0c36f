"""The ``mechanisms`` analysis (beyond the paper): which environments carry the current, measured and learned.

Per system, Λ = Σ_c Λ_c over classes of ion environments (:func:`core.api.decompose`; derivation in
docs/transport.md, "Mechanism-resolved conductivity"): every ion at every frame with a measured share is given
the class of its configuration there (``kind: cluster``: the size and net charge of its unlike-ion cluster;
``shell``: the number of unlike ions in its first shell; ``cutoff``: one for every system, the median over
the systems of their unlike RDF's first minimum, unless given), and Λ_c is the mean over ions and frames of the shares of the ions in c. The classes partition the
measured Λ (the mean share) exactly, with the full covariance from frame blocks.

Beside it, the learned decomposition: the model's k over the featurised environments, summed over the same
classes (each environment classified at its own frame), divided by all environments (bonded ions count as
zero, as in the model's system mean), so that the classes partition the predicted Λ. ``learned_cross`` uses
the k of the outer-fold members that never saw the system. z = (learned − measured) / measured error (only
the measurement's error: the learned class mean is taken as exact); an empty class is 0 in both, z 0. Beside
it, a flat k's (every ion its system's Λ label, so Λ_c = fraction_c × Λ): the baseline a learned k must beat.

Figure: per concentration, the measured contributions stacked by class against l_B, with each class's error,
and the learned ones beside them (hatched). Classes holding under 1 % of the ions in every system are shown
together as "other".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field, field_validator

from core.api import (AnalysisInputs, AnalysisResult, PluginConfig, SystemAnalysis, SystemView,
                      chi2_per_dof, class_members, decompose, first_minimum, pyplot, row_columns, save_figure)

#: Classes under this fraction of the ions in every system are drawn as "other".
MINOR_FRACTION = 0.01


@dataclass(frozen=True)
class MechanismRow:
    """One system-class of ``mechanisms.csv`` (reduced Λ): the fraction of ion-frames in the class, its measured
    contribution ± block standard error and its self part, the learned contributions (main ensemble and
    outer-fold members; NaN without them), z, a flat k's contribution (every ion its system's Λ: the fraction
    × Λ) and its z, whether the class is empty, and the cutoff used (σ)."""

    system: str
    split: str | None
    concentration: float
    bjerrum_length: float
    mechanism: str
    fraction: float
    measured: float
    measured_err: float
    measured_self: float
    learned: float
    learned_cross: float
    z: float
    flat: float
    z_flat: float
    empty: bool
    cutoff: float


class MechanismsConfig(PluginConfig):
    """The classes and how many frames are classified."""

    kind: Literal["cluster", "shell"] = Field(
        default="cluster", description="cluster: size and net charge of unlike-ion clusters; shell: unlike ions in "
                                       "the first shell")
    cutoff: float | Literal["auto"] = Field(
        default="auto", description="σ: unlike ions closer than this are in contact; 'auto': the median over the "
                                    "systems of their unlike RDF's first minimum (one cutoff, so classes compare)")
    max_frames: int = Field(default=1000, ge=2, description="frames with a share classified per system (evenly "
                                                            "strided; all where fewer)")

    @field_validator("cutoff")
    @classmethod
    def _positive_cutoff(cls, cutoff: float | str) -> float | str:
        if cutoff != "auto" and not (isinstance(cutoff, (int, float)) and math.isfinite(cutoff) and cutoff > 0):
            raise ValueError("cutoff must be 'auto' or a positive number of σ")
        return cutoff


class Mechanisms(SystemAnalysis):
    name = "mechanisms"
    version = "1.3"
    Config = MechanismsConfig
    title = "Mechanisms: which environments carry the current"
    table = "mechanisms.csv"
    columns = row_columns(MechanismRow)
    systems_from = "transport"
    system_needs = frozenset({"transport", "attribution", "trajectories"})
    requires = ("matplotlib", "scipy")
    description = "Λ split exactly over classes of ion environments (clusters or first shells), measured and learned"

    missing_reasons = {
        "learned*": "no local k for this system (no prediction, or no features)",
        "chi2_per_dof*": "no system-class with both a measured error and a learned k"}

    def prepare(self, inputs: AnalysisInputs, result: AnalysisResult) -> None:
        """One cutoff for every system: the given one, or the median of the systems' RDF first minima."""
        self._cutoff = None if self.config.cutoff == "auto" else float(self.config.cutoff)
        if self._cutoff is None:
            minima = []
            for view in self.views(inputs):
                try:
                    minima.append(first_minimum(inputs.positions(view.name)))
                except ValueError as exc:
                    result.notes.append(f"{view.name}: {exc}")
            if minima:
                self._cutoff = float(np.median(minima))
                result.numbers["cutoff"] = self._cutoff
                result.numbers["cutoff_range"] = [float(min(minima)), float(max(minima))]

    def per_system(self, view: SystemView) -> list[MechanismRow]:
        config: MechanismsConfig = self.config
        if getattr(self, "_cutoff", None) is None:
            self.note(f"{view.name}: no unlike RDF minimum to take the cutoff from; left out (give options.cutoff)")
            return []
        positions = view.inputs.positions(view.name)
        attribution = view.inputs.attribution(view.name)
        counted = sum(int(np.isfinite(r.total[:len(p.ions), 0]).sum()) for p, r in zip(positions, attribution.replicas))
        if any(len(p.ions) < len(r.total) for p, r in zip(positions, attribution.replicas)):
            self.note(f"{view.name}: an extended run; only its first segment's frames are classified (the analyses "
                      "read the first segment), so its measured classes sum to the mean share over those frames")
        stride = max(1, math.ceil(counted / config.max_frames))
        try:
            result = decompose(positions, attribution, kind=config.kind, cutoff=self._cutoff, stride=stride)
        except ValueError as exc:
            self.note(f"{view.name}: {exc}; left out")
            return []
        names = [c.name for c in result.classes]
        learned = self._learned(view, positions, names, result.cutoff)
        transport = view.transport
        rows = []
        for number, c in enumerate(result.classes):
            main, cross = (learned[0][number], learned[1][number]) if learned is not None else (math.nan, math.nan)
            error = c.contribution.err
            flat = c.fraction * transport.molar_conductivity.value

            def z_of(value: float) -> float:
                return 0.0 if c.empty else ((value - c.contribution.value) / error if error > 0 else math.nan)

            rows.append(MechanismRow(view.name, view.split, transport.concentration, transport.bjerrum_length, c.name,
                                     c.fraction, c.contribution.value, error, c.self_part.value, main, cross,
                                     z_of(main), flat, z_of(flat), c.empty, result.cutoff))
        return rows

    def _learned(self, view: SystemView, positions, names: list[str], cutoff: float
                 ) -> tuple[np.ndarray, np.ndarray] | None:
        """(main, outer-fold) learned contributions per class, or None without local k."""
        if not (view.has("local") and view.has("features")):
            return None
        environments = view.environments()
        local = view.local()
        main = np.nan_to_num(np.asarray(local.k, dtype=np.float64))
        cross = None
        if local.k_cross is not None and np.any(np.isfinite(local.k_cross)):
            cross = np.nan_to_num(np.asarray(local.k_cross, dtype=np.float64))
        column = np.full(len(environments["replica"]), -1)
        for replica in np.unique(environments["replica"]):
            p = positions[int(replica)]
            where = {int(index): ion for ion, index in enumerate(p.ion_index)}
            rows = np.flatnonzero(environments["replica"] == replica)
            for frame in np.unique(environments["frame"][rows]):
                chosen = rows[environments["frame"][rows] == frame]
                members = class_members(self.config.kind, cutoff, p.ions[int(frame)], p.ion_valence, p.box, names)
                column[chosen] = members[[where[int(i)] for i in environments["ion_index"][chosen]]]
        inside = column >= 0

        def summed(k: np.ndarray | None) -> np.ndarray:
            if k is None:
                return np.full(len(names), np.nan)
            return np.bincount(column[inside], weights=k[inside], minlength=len(names)) / len(column)

        return summed(main), summed(cross)

    def conclude(self, rows: list[MechanismRow], inputs: AnalysisInputs, result: AnalysisResult,
                 output_dir: Path) -> None:
        if not rows:
            return
        z = np.array([r.z for r in rows if not r.empty and math.isfinite(r.z)])
        cross = np.array([(r.learned_cross - r.measured) / r.measured_err for r in rows
                          if not r.empty and r.measured_err > 0 and math.isfinite(r.learned_cross)])
        flat = np.array([r.z_flat for r in rows if not r.empty and math.isfinite(r.z_flat)])
        result.numbers.update({"chi2_per_dof_learned": chi2_per_dof(z), "chi2_per_dof_learned_cross": chi2_per_dof(cross),
                               "chi2_per_dof_flat": chi2_per_dof(flat),
                               "n_system_classes": int(len(z)),
                               "classes": sorted({r.mechanism for r in rows}),
                               "empty_system_classes": int(sum(r.empty for r in rows))})
        found = ("the median of the systems' unlike RDF first minima, "
                 f"{result.numbers['cutoff_range'][0]:.3g}–{result.numbers['cutoff_range'][1]:.3g} σ"
                 if "cutoff_range" in result.numbers else "given")
        result.notes.append(f"classes: {self.config.kind}, unlike ions within {rows[0].cutoff:.3g} σ ({found}); "
                            "the measured contributions sum to each system's mean share exactly, the learned ones to "
                            "its predicted Λ; χ²/dof counts only the measurement's error; *_flat: a flat k (every ion its "
                            "system's Λ), the baseline a learned k must beat.")
        result.figures += self.figure(rows, output_dir)

    @staticmethod
    def figure(rows: list[MechanismRow], output_dir: Path) -> list[str]:
        plt = pyplot()
        concentrations = sorted({r.concentration for r in rows})
        major = [name for name in dict.fromkeys(r.mechanism for r in rows)
                 if max(r.fraction for r in rows if r.mechanism == name) >= MINOR_FRACTION]
        colours = {name: f"C{number % 10}" for number, name in enumerate(major + ["other"])}
        figure, axes = plt.subplots(1, len(concentrations), figsize=(3.0 * len(concentrations) + 2.2, 3.6),
                                    sharey=True, squeeze=False)
        labelled: set[str] = set()
        for panel, concentration in zip(axes[0], concentrations):
            systems = sorted({(r.bjerrum_length, r.system) for r in rows if r.concentration == concentration})
            for position, (bjerrum, system) in enumerate(systems):
                chosen = [r for r in rows if r.system == system]
                for offset, column, hatch in ((-0.2, "measured", None), (0.2, "learned", "//")):
                    bottom_positive = bottom_negative = 0.0
                    for name in major + ["other"]:
                        part = [r for r in chosen if (r.mechanism == name) or (name == "other" and r.mechanism not in major)]
                        value = float(np.nansum([getattr(r, column) for r in part]))
                        if not part or not math.isfinite(value) or value == 0.0:
                            continue
                        bottom = bottom_positive if value >= 0 else bottom_negative
                        panel.bar(position + offset, value, 0.38, bottom=bottom, color=colours[name], hatch=hatch,
                                  edgecolor="white" if hatch is None else "k", lw=0.3,
                                  label=name if (column == "measured" and name not in labelled) else None)
                        if column == "measured":
                            labelled.add(name)
                        if column == "measured":
                            error = math.sqrt(sum(r.measured_err ** 2 for r in part))
                            panel.errorbar(position + offset, bottom + value, yerr=error, color="k", lw=0.6,
                                           capsize=1.5)
                        if value >= 0:
                            bottom_positive += value
                        else:
                            bottom_negative += value
            panel.set_xticks(range(len(systems)), [f"{b:g}" for b, _ in systems])
            panel.set_xlabel("l_B (σ)")
            panel.set_title(f"c = {concentration:g} σ⁻³", fontsize=9)
            panel.axhline(0, color="k", lw=0.5)
        axes[0][0].set_ylabel("Λ_c (reduced)")
        handles, labels = [], []
        for panel in axes[0]:
            for handle, label in zip(*panel.get_legend_handles_labels()):
                handles.append(handle)
                labels.append(label)
        figure.legend(handles, labels, frameon=False, fontsize=7, loc="center right",
                      title="left: measured\nright (hatched): learned", title_fontsize=7)
        figure.tight_layout(rect=(0, 0, 1 - 1.9 / (3.0 * len(concentrations) + 2.2), 1))
        return save_figure(figure, output_dir, "mechanisms")
