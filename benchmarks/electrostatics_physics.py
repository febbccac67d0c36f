"""Physics preserved: OpenMM's ion-pair electrostatics against the all-particle PME it replaced.

Table 1. Replicas of one state point (default c = 0.035, l_B = 5.5, N = 1000)
are run through the pipeline with each ``coulomb_method`` (same seeds, so the
same starting placements); D₊, D₋ and Λ are fitted on one common window, pooled
over the replicas with their GLS errors, and the two methods compared:
difference / combined error (|z| ≲ 2 is agreement), and wall time.

Table 2. NVE energy drift with each method at the production tolerance: the
total energy's linear drift rate per particle per τ, and its max − min per
particle, over ``--nve-steps`` steps after a thermostatted equilibration.

    python benchmarks/electrostatics_physics.py                     # 8 replicas × 100 τ each (≈ 10 min, 2 cores)
    python benchmarks/electrostatics_physics.py --replicas 16 --steps 40000
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from pathlib import Path

import numpy as np
import yaml
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.datatypes import SimulationJob, SimulationSettings, SystemSpec  # noqa: E402
from core.transport.onsager import system_transport  # noqa: E402
from core.transport.replica_files import replica_positions

METHODS = ("all-particles", "ion-pairs")
COMPARED = (("D_p", "D₊ σ²/τ"), ("D_m", "D₋ σ²/τ"), ("molar_conductivity", "Λ"),
            ("molar_conductivity_ne", "Λ_NE"))


def simulate(method: str, args: argparse.Namespace, console: Console) -> tuple[list[Path], float]:
    """Trajectories of the replicas with ``method`` (run or reused), and the simulate wall time, s."""
    from core.recipe.loader import load_recipe
    from core.execution.pipeline import run_recipe

    recipe = {"name": f"coulomb-{method}",
              "systems": {"replicas": args.replicas, "n_particles": args.particles, "density": 0.8, "seed": 7,
                          "grid": [{"concentration": [args.concentration], "bjerrum_length": [args.bjerrum_length]}]},
              "simulation": {"plugin": "openmm", "options": {"coulomb_method": method}, "steps": args.steps,
                             "equilibration_steps": 4000, "write_period": 100},
              "executor": {"kind": "local"}}
    workdir = Path(args.workdir) / method
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    summary = run_recipe(load_recipe(path), workdir, only="simulate", console=console)
    if summary.failed:
        raise SystemExit(f"{len(summary.failed)} simulations failed; see {workdir}/manifest.json")
    done = sorted((o for o in summary.outcomes if o.step == "simulate" and o.ok), key=lambda o: o.label)
    task_seconds = sum(json.loads((Path(o.path) / "artifact.json").read_text())["wall_time"] for o in done)
    return [Path(o.path) / "trajectory.gsd" for o in done], task_seconds


def nve_drift(method: str, args: argparse.Namespace) -> tuple[float, float, float]:
    """(drift rate ε per particle per τ, max − min ε per particle, mean kT) over ``args.nve_steps`` NVE steps."""
    from plugins.simulators.openmm_simulator import OpenMMConfig, OpenMMSimulator

    system = SystemSpec("nve", args.concentration, args.bjerrum_length, 0.0, args.particles, 0.8, 1, 3)
    settings = SimulationSettings(steps=args.nve_steps, equilibration_steps=4000, write_period=100, timestep=0.005,
                                  kT=1.0, wca_cutoff=2 ** (1 / 6), thermostat_tau=0.5, bond_k=100.0, bond_r0=1.0,
                                  min_ions=1)
    with tempfile.TemporaryDirectory() as directory:
        job = SimulationJob(system, 0, 3, settings, Path(directory) / "unused.gsd")
        session, _ = OpenMMSimulator(OpenMMConfig(coulomb_method=method, thermostat="none")).prepare(job, 2)
        times, totals, temperatures = [], [], []
        for block in range(args.nve_steps // 100):
            session.run(100)
            kinetic = session.kinetic_energy()
            times.append((block + 1) * 100 * settings.timestep)
            totals.append(session.potential_energy() + kinetic)
            temperatures.append(2 * kinetic / (3 * args.particles - 3))
    totals = np.array(totals) / args.particles
    rate = float(np.polyfit(times, totals, 1)[0])
    return rate, float(totals.max() - totals.min()), float(np.mean(temperatures))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", default="runs/electrostatics")
    parser.add_argument("--replicas", type=int, default=8)
    parser.add_argument("--particles", type=int, default=1000)
    parser.add_argument("--concentration", type=float, default=0.035)
    parser.add_argument("--bjerrum-length", type=float, default=5.5)
    parser.add_argument("--steps", type=int, default=20000)
    parser.add_argument("--window", type=float, nargs=2, default=(2.0, 20.0), help="common fit window, τ")
    parser.add_argument("--nve-steps", type=int, default=20000)
    args = parser.parse_args()
    console = Console(width=150)

    results, walls = {}, {}
    for method in METHODS:
        paths, walls[method] = simulate(method, args, console)
        curves = [replica_positions(path).curves() for path in paths]
        results[method] = system_transport(curves, fit_window=tuple(args.window)).row
    table = Table(title=f"{args.replicas} replicas × {args.steps * 0.005:g} τ, N = {args.particles}, "
                        f"c = {args.concentration}, l_B = {args.bjerrum_length}, window {args.window} τ")
    for column in ("quantity", *METHODS, "difference / error"):
        table.add_column(column, justify="right")
    for key, label in COMPARED:
        cells, values, errors = [], [], []
        for method in METHODS:
            value, error = results[method][key], results[method][f"{key}_err"]
            cells.append(f"{value:.4g} ± {error:.2g}")
            values.append(value)
            errors.append(error)
        table.add_row(label, *cells, f"{(values[1] - values[0]) / math.hypot(*errors):+.2f}")
    table.add_row("simulate task time (sum over replicas), s", *[f"{walls[m]:.0f}" for m in METHODS],
                  f"{walls[METHODS[0]] / walls[METHODS[1]]:.2f}× faster")
    console.print(table)

    drift = Table(title=f"NVE, {args.nve_steps} steps of dt = 0.005 after equilibration, ewald_tolerance 5e-4")
    for column in ("method", "drift ε / particle / τ", "max − min ε / particle", "mean kT"):
        drift.add_column(column, justify="right")
    for method in METHODS:
        rate, spread, temperature = nve_drift(method, args)
        drift.add_row(method, f"{rate:+.2e}", f"{spread:.2e}", f"{temperature:.3f}")
    console.print(drift)


if __name__ == "__main__":
    main()
