"""The transport stage: Onsager coefficients of every replica of one system, and their statistics."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from typing import Any

from core.datatypes import TaskContext
from core.layout import ATTRIBUTION_FILE, TRAJECTORY_FILE, TRANSPORT_FIGURE_STEM, TRANSPORT_RESULT_FILE
from core.transport.attribution import save_attribution, summary, system_attribution
from core.transport.onsager import TransportCurves, replica_positions, replica_row, system_transport
from core.tasks import TransportTask


def run(task: TransportTask, inputs: dict[str, Path], output_dir: Path, context: TaskContext) -> dict[str, Any]:
    """Onsager coefficients of every replica of ``task``'s system, pooled, with the diagnostic figure."""
    config = task.config
    # times from each file's own localcond/timestep (an imported trajectory's is its frame interval, not the
    # recipe's simulation.timestep)
    positions = [replica_positions([inputs[key] / TRAJECTORY_FILE for key in chain],
                                   include_solvent=config.include_solvent) for chain in task.segments]
    curves = [p.curves() for p in positions]
    result = system_transport(curves, kT=task.kT, fit_window=config.fit_window,
                              slope_tolerance=config.slope_tolerance, min_decades=config.min_decades,
                              max_window_fraction=config.max_window_fraction)
    system = task.spec
    row = {"system": system.name, "concentration": system.concentration, "bjerrum_length": system.bjerrum_length,
           "paired_fraction": system.paired_fraction, "test_only": system.test_only, **result.row}
    if config.attribution:   # each ion's share of Λ at every frame, for learners and the local-attribution analysis
        attribution = system_attribution(positions, fit_start=result.window.t0, formula_units=curves[0].formula_units,
                                         kT=task.kT, cutoff=config.attribution_cutoff)
        save_attribution(attribution, output_dir / ATTRIBUTION_FILE)
        row.update(summary(attribution))
    first = result.replicas[0]
    diagnostic_figure(result.curves, first.concentration * first.volume, task.kT, system.name, output_dir, row)
    (output_dir / TRANSPORT_RESULT_FILE).write_text(json.dumps({"system": row, "replicas": [replica_row(r) for r in
                                                                                             result.replicas]},
                                                               indent=1))
    return {"molar_conductivity": row["molar_conductivity"], "molar_conductivity_err": row["molar_conductivity_err"],
            "diffusive": row["diffusive"]}


def diagnostic_figure(curves: list[TransportCurves], formula_units: float, kT: float, name: str,
                      output_dir: Path, row: dict[str, Any] | None = None) -> list[str]:
    """Per replica: the ion MSD (log-log, with t¹) and the running Einstein Λ(t), the fit window shaded.

    The running Λ(t) = < |Σ z Δr|² >(t) / (6 kT V c t) with c V = ``formula_units`` (what Λ is per: formula
    units of a salt, equivalents of a mixture); on the diffusive
    plateau it is the fitted Λ. With the system ``row``, the pooled Λ ± its uncertainty is drawn
    as a band over the fit window.
    """
    from core.figures import pyplot, save_figure

    plt = pyplot()
    figure, (msd_axes, lambda_axes) = plt.subplots(1, 2, figsize=(8.4, 3.4))
    for index, curve in enumerate(curves):
        colour = f"C{index % 10}"
        t = curve.lag_times
        msd_axes.loglog(t, curve.ion_msd, color=colour, lw=0.9, label=f"replica {index}")
        lambda_axes.semilogx(t, curve.charge / (6.0 * kT * formula_units * t), color=colour, lw=0.9)
    for axes in (msd_axes, lambda_axes):
        axes.axvspan(*curves[0].window, color="C0", alpha=0.12)
    t = curves[0].lag_times
    reference = curves[0].ion_msd[len(t) // 2] * t / t[len(t) // 2]
    msd_axes.loglog(t, reference, "k:", lw=0.8, label="∝ t")
    msd_axes.set_xlabel("t (τ)")
    msd_axes.set_ylabel("MSD per ion (σ²)")
    msd_axes.legend(frameon=False, fontsize=7)
    lambda_axes.set_xlabel("t (τ)")
    lambda_axes.set_ylabel("running Λ(t) (reduced)")
    lambda_axes.axhline(0.0, color="k", lw=0.5)
    if row is not None and np.isfinite(row.get("molar_conductivity_err", np.nan)):
        value, error = row["molar_conductivity"], row["molar_conductivity_err"]
        window = curves[0].window
        lambda_axes.fill_between(window, value - error, value + error, color="k", alpha=0.25, lw=0,
                                 label=f"Λ = {value:.3g} ± {error:.2g} (pooled)")
        lambda_axes.hlines(value, *window, color="k", lw=1.2)
        lambda_axes.legend(frameon=False, fontsize=7)
    figure.suptitle(f"{name}: fit window shaded", fontsize=9)
    figure.tight_layout()
    return save_figure(figure, output_dir, TRANSPORT_FIGURE_STEM)
