"""Calibration of Λ's uncertainty on many replicas of one small state point, and Λ's error against run length.

Simulates (or reuses) ``--replicas`` independent replicas of one system through the pipeline's own
simulate stage (OpenMM, cached in ``--workdir``), then, all in this process:

1. **Predicted against empirical error.** Each replica on its own gets Λ ± σ (GLS over the system's
   window, :mod:`core.transport.onsager`); the RMS of the predicted σ is set against the scatter of the
   single-replica Λ across replicas (whose own relative uncertainty is 1/√(2(n−1))).
2. **Coverage.** z_r = (Λ_r − Λ_rest) / √(σ_r² + σ_rest²), with Λ_rest the pooled estimate of the other
   replicas: the fraction with |z| ≤ 1 and ≤ 2 (68 % and 95 % if the errors are right).
3. **Estimators.** The scatter over replicas of today's estimator (v2: ordinary least squares over each
   replica's own window, the decade whose MSD slope is closest to 1 within half the run), of OLS over the
   new common window, and of GLS over it (the new default); variance ratios against today's.
4. **Error against simulated time.** Every replica truncated to shorter runs: predicted and empirical
   relative error of a single replica's Λ, and the fitted law rel_err = A·(t/τ)^(−1/2), i.e. the simulated
   time a target needs (divide by the replicas to spread it over).
5. **Window bias.** Λ pooled over all replicas for windows [t0, 3 t0]: the running slope of the charge
   MSD, which falls towards Λ long after the self MSD is linear.

    python benchmarks/transport_calibration.py                 # 16 × 250 τ of N = 1000: ~35 min on 2 cores
    python benchmarks/transport_calibration.py --workdir runs/calibration --replicas 16 --steps 50000
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
import yaml
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.transport.gls import ols_line  # noqa: E402
from core.transport.curves import ReplicaCurves  # noqa: E402
from core.transport.onsager import system_transport
from core.transport.replica_files import replica_positions


def simulate(args: argparse.Namespace, console: Console) -> list[Path]:
    """Run (or reuse) the replicas through the pipeline; their trajectory files in replica order."""
    from core.recipe.loader import load_recipe
    from core.execution.pipeline import run_recipe

    recipe = {"name": "calibration",
              "systems": {"replicas": args.replicas, "n_particles": args.particles, "density": 0.8, "seed": 7,
                          "grid": [{"concentration": [args.concentration], "bjerrum_length": [args.bjerrum_length]}]},
              "simulation": {"plugin": "openmm", "steps": args.steps, "equilibration_steps": 4000,
                             "write_period": 100},
              "executor": {"kind": "local"}}
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "calibration.yaml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    summary = run_recipe(load_recipe(path), workdir, only="simulate", console=console)
    if summary.failed:
        raise SystemExit(f"{len(summary.failed)} simulations failed; see {workdir}/manifest.json")
    done = sorted((o for o in summary.outcomes if o.step == "simulate" and o.ok), key=lambda o: o.label)
    return [Path(o.path) / "trajectory.gsd" for o in done]


def old_estimate(curves: ReplicaCurves, kT: float = 1.0) -> float:
    """Today's (v2) Λ of one replica: OLS over its own decade whose self-MSD log-log slope is closest to 1."""
    times, msd = curves.lag_times, curves.ion_msd
    t_min, t_max = times[0], times[-1] * 0.5
    best = None
    for t0 in np.geomspace(t_min, t_max / 10, num=max(2, int(8 * np.log10(t_max / (t_min * 10))) + 2)):
        inside = (times >= t0) & (times <= 10 * t0)
        if inside.sum() < 3:
            continue
        deviation = abs(np.polyfit(np.log(times[inside]), np.log(msd[inside]), 1)[0] - 1)
        if best is None or deviation < best[0]:
            best = (deviation, inside)
    inside = best[1]
    slope = ols_line(times[inside], curves.correlations["charge"][1:][inside])[0]
    return slope / (6 * kT * curves.volume) / (curves.n_cations / curves.volume)


def ols_estimate(curves: ReplicaCurves, window: tuple[float, float], kT: float = 1.0) -> float:
    times = curves.lag_times
    inside = (times >= window[0] - 1e-9) & (times <= window[1] + 1e-9)
    slope = ols_line(times[inside], curves.correlations["charge"][1:][inside])[0]
    return slope / (6 * kT * curves.n_cations)


def leave_one_out_z(values: np.ndarray, errors: np.ndarray) -> np.ndarray:
    z = []
    for index in range(len(values)):
        rest = np.delete(np.arange(len(values)), index)
        weights = 1 / errors[rest] ** 2
        pooled, pooled_err = np.sum(weights * values[rest]) / weights.sum(), 1 / math.sqrt(weights.sum())
        z.append((values[index] - pooled) / math.hypot(errors[index], pooled_err))
    return np.array(z)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", default="runs/calibration")
    parser.add_argument("--replicas", type=int, default=16)
    parser.add_argument("--particles", type=int, default=1000)
    parser.add_argument("--concentration", type=float, default=0.035)
    parser.add_argument("--bjerrum-length", type=float, default=5.5)
    parser.add_argument("--steps", type=int, default=50000)
    parser.add_argument("--lengths", type=float, nargs="+", default=[25, 50, 100, 175, 250], help="run lengths, τ")
    args = parser.parse_args()
    console = Console()
    paths = simulate(args, console)
    report(paths, args.lengths, console)


def report(paths: list[Path], lengths: list[float], console: Console) -> None:
    """Print the five tables for the replicas in ``paths``."""
    positions = [replica_positions(path) for path in paths]
    full = [p.curves() for p in positions]
    n = len(full)
    system = system_transport(full)
    window = (system.window.t0, system.window.t1)
    console.print(f"{n} replicas of {full[0].run_length:g} τ; system window [{window[0]:.3g}, {window[1]:.3g}] τ "
                  f"(diffusive: {system.window.diffusive}); pooled Λ = {system.row['molar_conductivity']:.4g} ± "
                  f"{system.row['molar_conductivity_err']:.2g}")

    singles = [system_transport([c], fit_window=window).row for c in full]
    values = np.array([r["molar_conductivity"] for r in singles])
    errors = np.array([r["molar_conductivity_err"] for r in singles])
    scatter = values.std(ddof=1)
    table = Table(title="1–2. One replica's predicted error against the scatter over replicas")
    for column in ("quantity", "value"):
        table.add_column(column, justify="right")
    table.add_row("RMS predicted σ(Λ) of one replica", f"{math.sqrt(np.mean(errors ** 2)):.4g}")
    table.add_row("empirical std of Λ over replicas", f"{scatter:.4g} ± {scatter / math.sqrt(2 * (n - 1)):.2g}")
    table.add_row("ratio predicted / empirical", f"{math.sqrt(np.mean(errors ** 2)) / scatter:.2f}")
    z = leave_one_out_z(values, errors)
    table.add_row("coverage of the 68 % interval (|z| ≤ 1)", f"{np.mean(np.abs(z) <= 1):.2f}")
    table.add_row("coverage of the 95 % interval (|z| ≤ 2)", f"{np.mean(np.abs(z) <= 2):.2f}")
    table.add_row("std of z (1 if calibrated)", f"{z.std(ddof=1):.2f}")
    console.print(table)

    old = np.array([old_estimate(c) for c in full])
    ols = np.array([ols_estimate(c, window) for c in full])
    table = Table(title="3. Single-replica Λ estimators: scatter over replicas")
    for column in ("estimator", "mean Λ", "std over replicas", "variance / today's"):
        table.add_column(column, justify="right")
    for label, sample in (("today (v2): OLS, own window per replica", old), ("OLS over the system window", ols),
                          ("GLS over the system window (new)", values)):
        table.add_row(label, f"{sample.mean():.4g}", f"{sample.std(ddof=1):.4g}",
                      f"{sample.var(ddof=1) / old.var(ddof=1):.2f}")
    console.print(table)

    table = Table(title="4. Relative error of one replica's Λ against its simulated time")
    for column in ("run (τ)", "predicted rel. error", "empirical rel. error", "window (τ)"):
        table.add_column(column, justify="right")
    law = []
    for length in lengths:
        frames = int(round(length / full[0].frame_interval)) + 1
        if frames > full[0].n_frames:
            continue
        cut = [p.curves(frames) for p in positions]
        pooled = system_transport(cut)
        rows = [system_transport([c], fit_window=(pooled.window.t0, pooled.window.t1)).row for c in cut]
        lam = np.array([r["molar_conductivity"] for r in rows])
        predicted = math.sqrt(np.mean(np.array([r["molar_conductivity_err"] for r in rows]) ** 2)) / abs(lam.mean())
        empirical = lam.std(ddof=1) / abs(lam.mean())
        law.append((cut[0].run_length, predicted))
        table.add_row(f"{cut[0].run_length:g}", f"{predicted:.3f}", f"{empirical:.3f} ± "
                      f"{empirical / math.sqrt(2 * (n - 1)):.2f}", f"[{pooled.window.t0:.3g}, {pooled.window.t1:.3g}]")
    console.print(table)
    if law:
        t, e = np.array(law).T
        amplitude = float(np.exp(np.mean(np.log(e) + 0.5 * np.log(t))))
        console.print(f"fit: relative error of Λ ≈ {amplitude:.2f} · (t/τ)^(−1/2) for one system at this state "
                      f"point; 10 % needs {(amplitude / 0.1) ** 2:.0f} τ, 5 % {(amplitude / 0.05) ** 2:.0f} τ of "
                      "simulated time (summed over replicas).")

    table = Table(title="5. Λ pooled over all replicas for windows [t0, 3 t0]")
    for column in ("t0 (τ)", "Λ", "± error", "self-MSD log-log slope"):
        table.add_column(column, justify="right")
    for t0 in (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0):
        if 3 * t0 > 0.5 * full[0].run_length:
            continue
        result = system_transport(full, fit_window=(t0, 3 * t0))
        table.add_row(f"{t0:g}", f"{result.row['molar_conductivity']:.4g}", f"{result.row['molar_conductivity_err']:.2g}",
                      f"{result.window.loglog_slope:.3f}")
    console.print(table)


if __name__ == "__main__":
    main()
