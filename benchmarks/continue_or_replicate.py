"""Continue replicas or add new ones? Λ's precision and bias per CPU-hour at equal production time.

From the replicas of ``benchmarks/transport_calibration.py`` (default: 16 × 250 τ at c = 0.035, l_B = 5.5,
N = 1000; run or reused in ``--workdir``), each strategy spends the same production time per system,
``--total`` τ (default 500), as disjoint groups of replicas:

- ``k × T`` for k = 2, 4, 8 replicas of T = total / k each (the first T of each replica);

and every group gets the system's transport (automatic window, GLS, pooled over its replicas). Columns:
the mean Λ over the groups, their scatter, the mean predicted error, the window, and the cost in steps
including each new replica's unrecorded equilibration (``--equilibration`` steps). "Precision per cost"
is 1 / (error² × cost), relative to the first row, from the predicted errors (the scatter of a few
groups is itself uncertain by ±50 %). "Λ − reference" compares with all replicas pooled over their
full length, the least biased estimate here.

    python benchmarks/continue_or_replicate.py --workdir runs/calibration
    python benchmarks/continue_or_replicate.py --trajectories runs/calibration/simulate/*/trajectory.gsd
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from core.transport.onsager import system_transport  # noqa: E402
from core.transport.replica_files import replica_positions
from transport_calibration import simulate  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", default="runs/calibration")
    parser.add_argument("--replicas", type=int, default=16)
    parser.add_argument("--particles", type=int, default=1000)
    parser.add_argument("--concentration", type=float, default=0.035)
    parser.add_argument("--bjerrum-length", type=float, default=5.5)
    parser.add_argument("--steps", type=int, default=50000)
    parser.add_argument("--total", type=float, default=500.0, help="production time per system, τ")
    parser.add_argument("--equilibration", type=int, default=4000, help="steps a new replica costs first")
    parser.add_argument("--timestep", type=float, default=0.005)
    parser.add_argument("--counts", type=int, nargs="+", default=[2, 4, 8], help="replicas per system")
    parser.add_argument("--trajectories", type=Path, nargs="+",
                        help="use these replica trajectories (one state point) instead of running the recipe")
    args = parser.parse_args()
    console = Console(width=160)
    paths = args.trajectories or simulate(args, console)
    positions = [replica_positions(path) for path in paths]
    reference = system_transport([p.curves() for p in positions]).row
    table = Table(title=f"{len(paths)} replicas of {positions[0].frame_interval * (positions[0].cations.shape[0] - 1):g} τ; "
                        f"{args.total:g} τ of production per system; reference Λ (all pooled) "
                        f"{reference['molar_conductivity']:.4f} ± {reference['molar_conductivity_err']:.4f}")
    for column in ("strategy", "groups", "window τ", "mean Λ", "Λ − reference", "scatter of Λ", "mean error",
                   "cost (steps)", "precision per cost"):
        table.add_column(column, justify="right")
    first = None
    for count in args.counts:
        length = args.total / count
        frames = int(round(length / positions[0].frame_interval)) + 1
        if frames > positions[0].cations.shape[0]:
            table.add_row(f"{count} × {length:g} τ", "-", "replicas too short", *[""] * 6)
            continue
        groups = len(positions) // count
        if groups < 1:
            continue
        rows = [system_transport([p.curves(frames) for p in positions[g * count:(g + 1) * count]]).row
                for g in range(groups)]
        values = np.array([r["molar_conductivity"] for r in rows])
        errors = np.array([r["molar_conductivity_err"] for r in rows])
        windows = sorted({(round(r["fit_t0"], 2), round(r["fit_t1"], 1)) for r in rows})
        cost = count * (length / args.timestep + args.equilibration)
        precision = 1.0 / (np.mean(errors) ** 2 * cost)
        first = first or precision
        table.add_row(f"{count} × {length:g} τ", str(groups), ", ".join(f"[{a:g}, {b:g}]" for a, b in windows),
                      f"{values.mean():.4f}", f"{values.mean() - reference['molar_conductivity']:+.4f}",
                      f"{values.std(ddof=1):.4f}" if groups > 1 else "-", f"{np.mean(errors):.4f}",
                      f"{cost:,.0f}", f"{precision / first:.2f}")
    console.print(table)
    console.print("A longer replica allows a later window (it may end at a quarter of the run), which the charge "
                  "MSD needs to stop falling; more, shorter replicas buy a smaller error from an earlier, more "
                  f"biased window. Equilibration adds {args.equilibration} steps per replica.")


if __name__ == "__main__":
    main()
