"""What local attribution adds to the transport stage's time, on a run's own trajectories.

For every system of a finished run (default: the quickstart's), in this process: what the transport stage
does without attribution (reading the trajectories, correlations, fit, the diagnostic figure) as the
baseline, then the attribution (with the default 3σ cutoff and without one). Imports are warmed up first.
Prints one row per system and the total ratios.

    python -m core run recipes/quickstart.yaml && python benchmarks/attribution.py [--workdir runs/quickstart]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from core.storage.layout import TRAJECTORY_FILE
from core.stages.transport import diagnostic_figure
from core.transport.attribution import system_attribution
from core.transport.onsager import system_transport
from core.transport.replica_files import replica_positions


def trajectories(workdir: Path) -> dict[str, list[Path]]:
    """System -> its replicas' first-segment trajectories in a run's work directory."""
    found: dict[str, list[Path]] = {}
    for record in sorted((workdir / "simulate").glob("*/artifact.json")):
        artifact = json.loads(record.read_text())
        if (record.parent / TRAJECTORY_FILE).is_file():
            found.setdefault(artifact["system"], []).append(record.parent / TRAJECTORY_FILE)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=Path("runs/quickstart"))
    parser.add_argument("--cutoff", type=float, default=3.0)
    args = parser.parse_args()
    systems = trajectories(args.workdir)
    if not systems:
        raise SystemExit(f"{args.workdir}: no simulate artifacts (run a recipe first)")
    table = Table(title=f"attribution cost against the transport stage, {args.workdir}")
    for column in ("system", "ions", "frames", "transport stage s", f"attribution ({args.cutoff:g}σ) ×",
                   "attribution (no cutoff) ×"):
        table.add_column(column, justify="left" if column == "system" else "right")
    totals = [0.0, 0.0, 0.0]
    import scipy.spatial  # noqa: F401  (warm imports: the stage's process has them loaded after its first task)

    from core.analysis.figures import pyplot

    pyplot()
    figures = Path(tempfile.mkdtemp())
    for name, paths in systems.items():
        started = time.perf_counter()
        positions = [replica_positions(p) for p in paths]
        curves = [p.curves() for p in positions]
        result = system_transport(curves)
        diagnostic_figure(result.curves, curves[0].formula_units, 1.0, name, figures, result.transport.molar_conductivity)
        baseline = time.perf_counter() - started
        timings = []
        for cutoff in (args.cutoff, None):
            started = time.perf_counter()
            system_attribution(positions, plateau_start=result.window.t0, formula_units=curves[0].formula_units,
                               cutoff=cutoff)
            timings.append(time.perf_counter() - started)
        for index, value in enumerate((baseline, *timings)):
            totals[index] += value
        table.add_row(name, str(curves[0].n_cations + curves[0].n_anions), str(curves[0].n_frames),
                      f"{baseline:.2f}", f"{timings[0] / baseline:.3f}", f"{timings[1] / baseline:.3f}")
    table.add_row("all", "", "", f"{totals[0]:.2f}", f"{totals[1] / totals[0]:.3f}", f"{totals[2] / totals[0]:.3f}")
    Console(width=160).print(table)


if __name__ == "__main__":
    main()
