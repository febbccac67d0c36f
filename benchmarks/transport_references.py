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
import sys
from pathlib import Path

import yaml
from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

#: The reference state points: (concentration σ⁻³, Bjerrum length σ).
STATE_POINTS = ((0.04, 2.5), (0.04, 5.5), (0.04, 10.0))


def simulate(workdir: Path, replicas: int, steps: int, console: Console) -> dict[tuple[float, float], list[Path]]:
    """Run (or reuse) the replicas through the pipeline; each state point's trajectories in replica order."""
    from core.pipeline import run_recipe
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
    found: dict[tuple[float, float], list[Path]] = {}
    for outcome in sorted((o for o in summary.outcomes if o.step == "simulate" and o.ok), key=lambda o: o.label):
        for state in STATE_POINTS:
            if f"c{state[0]:g}_lB{state[1]:g}_" in outcome.label:
                found.setdefault(state, []).append(Path(outcome.path) / "trajectory.gsd")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", default="runs/references")
    parser.add_argument("--replicas", type=int, default=6)
    parser.add_argument("--steps", type=int, default=200_000, help="production steps per replica (dt = 0.005 τ)")
    parser.add_argument("--segment", type=float, default=500.0, help="length of a precise-sized replica, τ")
    parser.add_argument("--simulate-only", action="store_true")
    args = parser.parse_args()
    console = Console()
    paths = simulate(Path(args.workdir), args.replicas, args.steps, console)
    if args.simulate_only:
        for state, files in paths.items():
            console.print(f"c = {state[0]:g}, l_B = {state[1]:g}: {len(files)} replicas")
        return


if __name__ == "__main__":
    main()
