"""The transport stage: Onsager coefficients of every replica of one system, and their statistics."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
from typing import Any

from core.datatypes import TaskContext
from core.storage.layout import ATTRIBUTION_FILE, TRAJECTORY_FILE, TRANSPORT_FIGURE_STEM, write_transport
from core.results import Estimate
from core.errors import UserError
from core.transport.attribution import save_attribution, shared_horizon, summary, system_attribution
from core.transport.onsager import TransportCurves, system_transport
from core.transport.replica_files import replica_positions
from core.transport.window import FitWindowError
from core.execution.tasks import TransportTask


def run(task: TransportTask, inputs: dict[str, Path], output_dir: Path, context: TaskContext) -> dict[str, Any]:
    """Onsager coefficients of every replica of ``task``'s system, pooled, with the diagnostic figure."""
    config = task.config
    # times from each file's own localcond/timestep (an imported trajectory's is its frame interval, not the
    # recipe's simulation.timestep)
    positions = [replica_positions([inputs[key] / TRAJECTORY_FILE for key in chain],
                                   include_solvent=config.include_solvent) for chain in task.segments]
    curves = [p.curves() for p in positions]
    try:
        result = system_transport(curves, kT=task.kT, fit_window=config.fit_window,
                                  slope_tolerance=config.slope_tolerance, min_decades=config.min_decades,
                                  max_window_fraction=config.max_window_fraction)
    except FitWindowError as exc:
        raise FitWindowError(f"transport.fit_window {list(config.fit_window)}: {exc}") from exc
    system = task.spec
    transport = replace(result.transport, system=system.name, concentration=system.concentration,
                        bjerrum_length=system.bjerrum_length, paired_fraction=system.paired_fraction,
                        test_only=system.test_only)
    if config.attribution:   # each ion's share of Λ at every frame, for learners and the local-attribution analysis
        horizon = config.attribution_horizon
        if horizon == "auto":   # trajectories the recipe does not make: from this system's shortest replica
            horizon = shared_horizon(min(c.run_length for c in curves), fit_window=config.fit_window,
                                     max_window_fraction=config.max_window_fraction, min_decades=config.min_decades)
        try:
            attribution = system_attribution(positions, plateau_start=float(horizon),
                                             formula_units=curves[0].formula_units, kT=task.kT,
                                             cutoff=config.attribution_cutoff)
        except ValueError as exc:
            raise UserError(f"transport.attribution_horizon: {exc}") from exc
        save_attribution(attribution, output_dir / ATTRIBUTION_FILE)
        transport = replace(transport, attribution=summary(attribution))
    first = result.replicas[0]
    diagnostic_figure(result.curves, first.concentration * first.volume, task.kT, system.name, output_dir,
                      transport.molar_conductivity)
    write_transport(output_dir, transport, result.replicas)
    return {"molar_conductivity": transport.molar_conductivity.value,
            "molar_conductivity_err": transport.molar_conductivity.err, "diffusive": transport.window.diffusive}


def diagnostic_figure(curves: list[TransportCurves], formula_units: float, kT: float, name: str,
                      output_dir: Path, label: Estimate | None = None) -> list[str]:
    """Per replica: the ion MSD (log-log, with t¹) and the running Einstein Λ(t), the fit window shaded.

    The running Λ(t) = < |Σ z Δr|² >(t) / (6 kT V c t) with c V = ``formula_units`` (what Λ is per: formula
    units of a salt, equivalents of a mixture); on the diffusive
    plateau it is the fitted Λ. With the system's ``label`` (pooled Λ), Λ ± its standard error is drawn
    as a band over the fit window.
    """
    from core.analysis.figures import pyplot, save_figure

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
    if label is not None and np.isfinite(label.err):
        value, error = label.value, label.err
        window = curves[0].window
        lambda_axes.fill_between(window, value - error, value + error, color="k", alpha=0.25, lw=0,
                                 label=f"Λ = {value:.3g} ± {error:.2g} (pooled)")
        lambda_axes.hlines(value, *window, color="k", lw=1.2)
        lambda_axes.legend(frameon=False, fontsize=7)
    figure.suptitle(f"{name}: fit window shaded", fontsize=9)
    figure.tight_layout()
    return save_figure(figure, output_dir, TRANSPORT_FIGURE_STEM)
