"""Reference values of Λ at three state points, and how the label estimators do on precise.yaml-sized runs.

Simulates (or reuses, from ``--workdir``) long replicas of c = 0.04 σ⁻³ at l_B = 2.5, 5.5 and 10σ (N = 1000,
the grid points of ``recipes/precise.yaml``'s weak, middle and strong coupling) through the pipeline's own
simulate stage, with the settings of ``recipes/precise.yaml``, then, in this process:

1. **Reference Λ per state point** from all replicas pooled: the running slope of the charge MSD over
   windows [t0, 3 t0] (Einstein, GLS), and the relaxation-aware estimators over the whole run.
2. **Estimators on precise-sized runs.** Each replica is cut into segments of ``--segment`` τ (500 by
   default, a precise.yaml replica); each estimator is applied to every segment: its mean against the
   reference (bias) and its reported error against the scatter over segments.

    python benchmarks/transport_references.py                       # 6 × 1000 τ per state point
    python benchmarks/transport_references.py --workdir runs/references --replicas 6 --steps 200000
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import yaml
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

#: The reference state points: (concentration σ⁻³, Bjerrum length σ).
STATE_POINTS = ((0.04, 2.5), (0.04, 5.5), (0.04, 10.0))
#: Which all-data estimate is the reference: the relaxation-aware GLS over [1 τ, T/2] of the long runs.
REFERENCE = "relaxation_half"
#: Start of the windows [t0, 3 t0] of the running slope, τ.
RUNNING_STARTS = (0.5, 1, 2, 4, 8, 16, 32, 64)


def charge_msd(positions) -> np.ndarray:
    """(T,) the origin-averaged MSD of M = Σ z_i r_i, σ², lag 0 … T − 1 frames."""
    from core.transport.correlation import displacement_correlation

    return displacement_correlation(charge_coordinate(positions))


def charge_coordinate(positions) -> np.ndarray:
    """(T, 3) M = Σ z_i r_i in the centre-of-mass frame, σ."""
    return positions.z_plus * positions.cations.sum(axis=1) + positions.z_minus * positions.anions.sum(axis=1)


def segment(positions, first: int, last: int):
    """The frames [first, last) of a replica as a replica of its own."""
    return dataclasses.replace(positions, cations=positions.cations[first:last], anions=positions.anions[first:last],
                               currents=None, solvent=None)


def to_molar(slope: float, positions, kT: float = 1.0) -> float:
    """Λ per formula unit from a charge-MSD slope (σ²/τ): slope / (6 kT N₊) for a 1:1 salt."""
    return slope / (6.0 * kT * positions.cations.shape[1])


def einstein(replicas: list, **options) -> tuple[float, float, dict]:
    """Today's default: GLS over the automatic window (``core.transport.onsager.system_transport``)."""
    from core.transport.onsager import system_transport

    row = system_transport([r.curves() for r in replicas], **options).row
    return row["molar_conductivity"], row["molar_conductivity_err"], row


def relaxation(replicas: list, start: float, end_fraction: float = 0.25) -> tuple[float, float, object]:
    """The relaxation-aware GLS over [start, end_fraction × run length]."""
    from core.transport.relaxation import relaxed_slope

    msds = [charge_msd(r) for r in replicas]
    length = (min(len(m) for m in msds) - 1) * replicas[0].frame_interval
    fit = relaxed_slope(msds, replicas[0].frame_interval, (start, end_fraction * length))
    return to_molar(fit.slope, replicas[0]), to_molar(fit.slope_err, replicas[0]), fit


def spectral(replicas: list, model: str = "pade") -> tuple[float, float, object]:
    """STACIE's autocorrelation integral of the charge current J = ΔM/Δt (positions only), all replicas and
    components as sequences of one spectrum; κ = ∫⟨J_x J_x⟩ dt / (V kT), Λ = κ / c."""
    import stacie

    sequences = []
    for r in replicas:
        current = np.diff(charge_coordinate(r), axis=0) / r.frame_interval
        sequences += [current[:, k] for k in range(3)]
    length = min(len(s) for s in sequences)
    spectrum = stacie.compute_spectrum(np.array([s[:length] for s in sequences]), prefactors=1.0 / replicas[0].volume,
                                       timestep=replicas[0].frame_interval)
    chosen = stacie.PadeModel([0, 2], [2]) if model == "pade" else stacie.ExpPolyModel([0, 1, 2])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = stacie.estimate_acint(spectrum, chosen)
    concentration = replicas[0].cations.shape[1] / replicas[0].volume
    return result.acint / concentration, result.acint_std / concentration, result


def running_slope(replicas: list) -> list[tuple[float, float, float]]:
    """(t0, Λ, error) over windows [t0, 3 t0], GLS pooled over ``replicas``."""
    out = []
    length = min(r.cations.shape[0] for r in replicas) * replicas[0].frame_interval
    for t0 in RUNNING_STARTS:
        if 3 * t0 > 0.5 * length:
            break
        value, error, _ = einstein(replicas, fit_window=(t0, 3 * t0))
        out.append((t0, value, error))
    return out


def reference_table(states: dict, console: Console) -> dict:
    """Per state point, all replicas pooled: the running slope and every estimator over the whole runs."""
    references = {}
    for state, replicas in states.items():
        name = f"c = {state[0]:g}, l_B = {state[1]:g}"
        total = sum(r.cations.shape[0] - 1 for r in replicas) * replicas[0].frame_interval
        table = Table(title=f"{name}: {len(replicas)} replicas, {total:g} τ in all; Λ pooled over them")
        for column in ("estimator", "Λ", "±", "notes"):
            table.add_column(column, justify="right")
        for t0, value, error in running_slope(replicas):
            table.add_row(f"straight line \\[{t0:g}, {3 * t0:g}] τ", f"{value:.4f}", f"{error:.4f}", "")
        default, default_err, row = einstein(replicas)
        table.add_row("default (automatic window)", f"{default:.4f}", f"{default_err:.4f}",
                      f"[{row['fit_t0']:.3g}, {row['fit_t1']:.3g}] τ, converged {row['collective_converged']}")
        relaxed, relaxed_err = row["molar_conductivity_relaxed"], row["molar_conductivity_relaxed_err"]
        table.add_row("relaxation GLS \\[t_d, T/4] (transport's column)", f"{relaxed:.4f}", f"{relaxed_err:.4f}",
                      f"τ_r {row['relaxation_time']:.3g} τ, resolved {row['relaxation_resolved']}, "
                      f"label_status {row['label_status']!r}")
        late, late_err, fit = relaxation(replicas, 1.0, end_fraction=0.5)
        table.add_row("relaxation GLS \\[1 τ, T/2]", f"{late:.4f}", f"{late_err:.4f}",
                      f"τ_r {fit.relaxation_time:.3g} τ (log-spread {fit.relaxation_time_spread:.2f}), "
                      f"χ²/dof {fit.chi2 / fit.dof:.2f}")
        entry = {"default": (default, default_err), "relaxation": (relaxed, relaxed_err),
                 "relaxation_half": (late, late_err), "relaxation_time": row["relaxation_time"],
                 "label_status": row["label_status"]}
        for model in ("pade", "exppoly"):
            value, error, result = spectral(replicas, model)
            table.add_row(f"STACIE {model}", f"{value:.4f}", f"{error:.4f}", f"f_cut {result.fcut:.3g}/τ")
            entry[f"stacie_{model}"] = (value, error)
        console.print(table)
        references[state] = entry
    return references


def segment_table(states: dict, segment_length: float, references: dict, console: Console) -> dict:
    """Every estimator on precise-sized runs (2 segments of ``segment_length`` τ from different replicas)."""
    summary = {}
    for state, replicas in states.items():
        frames = int(round(segment_length / replicas[0].frame_interval)) + 1
        pieces = [[segment(r, k * (frames - 1), k * (frames - 1) + frames)
                   for k in range((r.cations.shape[0] - 1) // (frames - 1))] for r in replicas]
        runs = []   # pair the k-th segment of replica i with the k-th of replica i + 1
        for k in range(min(len(p) for p in pieces)):
            for i in range(0, len(pieces) - 1, 2):
                runs.append([pieces[i][k], pieces[i + 1][k]])
        estimates: dict[str, list[tuple[float, float]]] = {"default": [], "relaxation": [],
                                                           "relaxation, resolved only": [], "stacie_pade": []}
        statuses, biases = Counter(), []
        for run in runs:
            value, error, row = einstein(run)
            estimates["default"].append((value, error))
            relaxed = (row["molar_conductivity_relaxed"], row["molar_conductivity_relaxed_err"])
            estimates["relaxation"].append(relaxed)
            if row["relaxation_resolved"]:
                estimates["relaxation, resolved only"].append(relaxed)
            estimates["stacie_pade"].append(spectral(run, "pade")[:2])
            statuses[row["label_status"]] += 1
            biases.append((row["window_bias"], row["window_bias_err"], row["molar_conductivity_err"]))
        reference, reference_err = references[state][REFERENCE]
        table = Table(title=f"c = {state[0]:g}, l_B = {state[1]:g}: {len(runs)} runs of 2 × {segment_length:g} τ "
                            f"against the reference {reference:.4f} ± {reference_err:.4f} ({REFERENCE}, all data); "
                            f"label_status: {dict(statuses)}")
        for column in ("estimator", "mean Λ", "bias %", "± %", "scatter %", "RMS reported %", "ratio"):
            table.add_column(column, justify="right")
        summary[state] = {}
        for name, values in estimates.items():
            if len(values) < 2:
                continue
            values = np.array(values, dtype=float)
            finite = np.all(np.isfinite(values), axis=1)
            values = values[finite]
            mean, scatter = values[:, 0].mean(), values[:, 0].std(ddof=1)
            reported = math.sqrt(float(np.mean(values[:, 1] ** 2)))
            bias = 100 * (mean / reference - 1)
            bias_err = 100 * math.hypot(scatter / math.sqrt(len(values)) / reference, reference_err * mean / reference ** 2)
            table.add_row(name, f"{mean:.4f}", f"{bias:+.1f}", f"{bias_err:.1f}", f"{100 * scatter / reference:.1f}",
                          f"{100 * reported / reference:.1f}", f"{reported / scatter:.2f}")
            summary[state][name] = {"mean": mean, "bias_percent": bias, "bias_err_percent": bias_err,
                                    "scatter": scatter, "reported": reported, "n": int(len(values))}
        summary[state]["label_status"] = dict(statuses)
        summary[state]["window_bias_mean"] = float(np.nanmean([b for b, _, _ in biases]))
        console.print(f"  window_bias over the runs: mean {summary[state]['window_bias_mean']:+.4f} (the default's "
                      f"mean − reference: {summary[state]['default']['mean'] - reference:+.4f}); label_status "
                      f"{dict(statuses)} of {len(runs)}")
        console.print(table)
    return summary


def simulate(workdir: Path, replicas: int, steps: int, console: Console) -> dict[tuple[float, float], list[Path]]:
    """Run (or reuse) the replicas through the pipeline; each state point's trajectories in replica order."""
    from core.execution.pipeline import run_recipe
    from core.recipe.loader import load_recipe

    recipe = {"name": "transport-references",
              "systems": {"replicas": replicas, "n_particles": 1000, "density": 0.8, "seed": 31,
                          "grid": [{"concentration": [STATE_POINTS[0][0]],
                                    "bjerrum_length": [lb for _, lb in STATE_POINTS]}]},
              "simulation": {"plugin": "openmm", "steps": steps, "equilibration_steps": 4000, "write_period": 100},
              "executor": {"kind": "local"}}
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "references.yaml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    summary = run_recipe(load_recipe(path), workdir, only="simulate", console=console)
    if summary.failed:
        raise SystemExit(f"{len(summary.failed)} simulations failed; see {workdir}/manifest.json")
    return existing(workdir)


def existing(workdir: Path) -> dict[tuple[float, float], list[Path]]:
    """The finished replicas in ``workdir`` (those with their artifact record), per state point."""
    found: dict[tuple[float, float], list[Path]] = {}
    for state in STATE_POINTS:
        pattern = f"c{state[0]:g}_lB{state[1]:g}_*.r*"
        done = [d for d in sorted((workdir / "simulate").glob(pattern))
                if d.is_dir() and (d / "artifact.json").is_file() and (d / "trajectory.gsd").is_file()]
        if done:
            found[state] = [d / "trajectory.gsd" for d in done]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", default="runs/references")
    parser.add_argument("--replicas", type=int, default=6)
    parser.add_argument("--steps", type=int, default=200_000, help="production steps per replica (dt = 0.005 τ)")
    parser.add_argument("--segment", type=float, default=500.0, help="length of a precise-sized replica, τ")
    parser.add_argument("--simulate-only", action="store_true")
    parser.add_argument("--use-existing", action="store_true",
                        help="analyse the replicas already simulated in --workdir, simulate nothing")
    args = parser.parse_args()
    console = Console(width=150)
    paths = existing(Path(args.workdir)) if args.use_existing else simulate(Path(args.workdir), args.replicas,
                                                                             args.steps, console)
    if args.simulate_only:
        for state, files in paths.items():
            console.print(f"c = {state[0]:g}, l_B = {state[1]:g}: {len(files)} replicas")
        return
    from core.transport.replica_files import replica_positions

    states = {state: [replica_positions(path) for path in files] for state, files in paths.items()}
    references = reference_table(states, console)
    summary = segment_table(states, args.segment, references, console)
    out = Path(args.workdir) / "references.json"
    out.write_text(json.dumps({f"c{s[0]:g}_lB{s[1]:g}": {"reference": references[s], "segments": summary[s]}
                               for s in states}, indent=1))
    console.print(f"written: {out}")


if __name__ == "__main__":
    main()
