"""Physics preserved: the same electrolyte from two simulator configurations, state point by state point.

By default the lammps plugin (the recipes' engine) against the openmm plugin's ion-pair electrostatics
(the engine it replaced, issue 38), at c = 0.05 and l_B = 2.5, 5 and 10 (N = 1000). ``--configs`` picks
others (e.g. ``openmm-all-particles openmm-ion-pairs``, the comparison that introduced ion pairs).

Table 1, per state point. Replicas are run through the pipeline with each configuration (same seeds,
so the same starting placements); D₊, D₋ and Λ are fitted on one common window, pooled over the
replicas with their GLS errors, and compared: difference / combined error (|z| ≲ 2 is agreement). Also
the contact-pair lifetime (``core.features.lifetime``; mean ± s.e. over replicas) and the simulate time.

Table 2. Temperature and energy: the mean kT over a Nosé–Hoover run, then the NVE energy drift per
particle per τ and its max − min, over ``--nve-steps`` steps after the same equilibration.

    python benchmarks/electrostatics_physics.py                       # 8 replicas × 100 τ per state point
    python benchmarks/electrostatics_physics.py --bjerrum-lengths 5 --replicas 16 --steps 40000
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

#: The simulator configurations that can be compared: (plugin, options).
CONFIGS = {"openmm-ion-pairs": ("openmm", {"coulomb_method": "ion-pairs"}),
           "openmm-all-particles": ("openmm", {"coulomb_method": "all-particles"}),
           "lammps": ("lammps", {}),
           "lammps-all-particles": ("lammps", {"coulomb_method": "all-particles"})}
COMPARED = (("D_p", "D₊ σ²/τ"), ("D_m", "D₋ σ²/τ"), ("molar_conductivity", "Λ"),
            ("molar_conductivity_ne", "Λ_NE"))


def simulate(name: str, bjerrum_length: float, args: argparse.Namespace,
             console: Console) -> tuple[list[Path], float]:
    """Trajectories of the replicas with configuration ``name`` at ``bjerrum_length`` (run or reused), and
    the production loops' time summed over them, s."""
    from core.recipe.loader import load_recipe
    from core.execution.pipeline import run_recipe

    plugin, options = CONFIGS[name]
    recipe = {"name": f"physics-{name}",
              "systems": {"replicas": args.replicas, "n_particles": args.particles, "density": 0.8, "seed": 7,
                          "grid": [{"concentration": [args.concentration], "bjerrum_length": [bjerrum_length]}]},
              "simulation": {"plugin": plugin, "options": options, "steps": args.steps,
                             "equilibration_steps": 4000, "write_period": 100},
              "executor": {"kind": "local"}}
    workdir = Path(args.workdir) / f"lB{bjerrum_length:g}" / name
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    summary = run_recipe(load_recipe(path), workdir, only="simulate", console=console)
    if summary.failed:
        raise SystemExit(f"{len(summary.failed)} simulations failed; see {workdir}/manifest.json")
    done = sorted((o for o in summary.outcomes if o.stage == "simulate" and o.ok), key=lambda o: o.label)
    task_seconds = sum(json.loads((Path(o.path) / "artifact.json").read_text())["result"]["simulator"]
                       ["production_seconds"] for o in done)
    return [Path(o.path) / "trajectory.gsd" for o in done], task_seconds


def temperature_and_drift(name: str, bjerrum_length: float, args: argparse.Namespace) -> tuple[float, float, float]:
    """(mean kT over a Nosé–Hoover run; NVE drift, ε per particle per τ; NVE max − min, ε per particle)."""
    from core.plugin_system.registry import get_registry

    plugin_name, options = CONFIGS[name]
    system = SystemSpec("nve", args.concentration, bjerrum_length, 0.0, args.particles, 0.8, 1, 3)
    settings = SimulationSettings(steps=args.nve_steps, equilibration_steps=4000, write_period=100, timestep=0.005,
                                  kT=1.0, wca_cutoff=2 ** (1 / 6), thermostat_tau=0.5, bond_k=100.0, bond_r0=1.0,
                                  min_ions=1)
    n_dof = 3 * args.particles - 3
    outcome = []
    for thermostat in ("nose-hoover", "none"):
        plugin = get_registry().instantiate("simulator", plugin_name, {**options, "thermostat": thermostat})
        with tempfile.TemporaryDirectory() as directory:
            job = SimulationJob(system, 0, 3, settings, Path(directory) / "unused.gsd")
            session = plugin.session(job, 2, None)
            times, totals, temperatures = [], [], []
            for block in range(args.nve_steps // 100):
                session.run(100)
                kinetic = session.kinetic_energy()
                times.append((block + 1) * 100 * settings.timestep)
                totals.append((session.potential_energy() + kinetic) / args.particles)
                temperatures.append(2 * kinetic / n_dof)
        outcome.append((np.array(times), np.array(totals), float(np.mean(temperatures))))
    (_, _, temperature), (times, totals, _) = outcome
    return temperature, float(np.polyfit(times, totals, 1)[0]), float(totals.max() - totals.min())


def lifetimes(paths: list[Path]) -> tuple[float, float]:
    """Mean and standard error over replicas of the contact-pair lifetime, τ (replicas beyond the frames
    read are left out)."""
    from core.features.lifetime import pair_lifetime

    values = [value for value in (pair_lifetime(path)[0] for path in paths) if value is not None]
    if not values:
        return math.nan, math.nan
    return float(np.mean(values)), float(np.std(values, ddof=1) / math.sqrt(len(values))) if len(values) > 1 \
        else math.nan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", default="runs/electrostatics")
    parser.add_argument("--replicas", type=int, default=8)
    parser.add_argument("--particles", type=int, default=1000)
    parser.add_argument("--concentration", type=float, default=0.05)
    parser.add_argument("--bjerrum-lengths", type=float, nargs="+", default=[2.5, 5.0, 10.0])
    parser.add_argument("--configs", nargs=2, choices=sorted(CONFIGS), default=["openmm-ion-pairs", "lammps"],
                        help="reference, then candidate")
    parser.add_argument("--steps", type=int, default=20000)
    parser.add_argument("--window", type=float, nargs=2, default=(2.0, 20.0), help="common fit window, τ")
    parser.add_argument("--nve-steps", type=int, default=20000)
    args = parser.parse_args()
    console = Console(width=150)
    configs = tuple(args.configs)

    for bjerrum_length in args.bjerrum_lengths:
        results, walls, lives = {}, {}, {}
        for name in configs:
            paths, walls[name] = simulate(name, bjerrum_length, args, console)
            curves = [replica_positions(path).curves() for path in paths]
            results[name] = system_transport(curves, fit_window=tuple(args.window)).row
            lives[name] = lifetimes(paths)
        table = Table(title=f"{args.replicas} replicas × {args.steps * 0.005:g} τ, N = {args.particles}, "
                            f"c = {args.concentration}, l_B = {bjerrum_length:g}, window {args.window} τ")
        for column in ("quantity", *configs, "difference / error"):
            table.add_column(column, justify="right")
        for key, label in COMPARED:
            values = [results[name][key] for name in configs]
            errors = [results[name][f"{key}_err"] for name in configs]
            table.add_row(label, *[f"{v:.4g} ± {e:.2g}" for v, e in zip(values, errors)],
                          f"{(values[1] - values[0]) / math.hypot(*errors):+.2f}")
        (life_a, err_a), (life_b, err_b) = lives[configs[0]], lives[configs[1]]
        table.add_row("contact-pair lifetime τ", f"{life_a:.3g} ± {err_a:.2g}", f"{life_b:.3g} ± {err_b:.2g}",
                      f"{(life_b - life_a) / math.hypot(err_a, err_b):+.2f}")
        table.add_row("production time (sum over replicas), s", *[f"{walls[n]:.0f}" for n in configs],
                      f"{walls[configs[0]] / walls[configs[1]]:.2f}× faster")
        console.print(table)

        energy = Table(title=f"l_B = {bjerrum_length:g}: Nosé–Hoover mean kT, then NVE over {args.nve_steps} steps "
                             "of dt = 0.005 after equilibration")
        for column in ("configuration", "mean kT (NVT)", "NVE drift ε / particle / τ", "NVE max − min ε / particle"):
            energy.add_column(column, justify="right")
        for name in configs:
            temperature, rate, spread = temperature_and_drift(name, bjerrum_length, args)
            energy.add_row(name, f"{temperature:.4f}", f"{rate:+.2e}", f"{spread:.2e}")
        console.print(energy)

if __name__ == "__main__":
    main()
