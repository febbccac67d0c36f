"""What the shared input check (core/md/trajectory_checks.py, and the GSD index scan) adds to reading trajectories for
transport, and what NoJump unwrapping (core/md/unwrap.py) adds where a file has no image flags.

For every replica trajectory of a finished run (default: the quickstart's), in this process: what the transport
stage does (reading with the checks, correlations, fit, the diagnostic figure; imports warm), and the checks
alone on the same frames. Prints the ratio per system and in total.

    python -m core run recipes/quickstart.yaml && python benchmarks/input_checks.py [--workdir runs/quickstart]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).parent))
from attribution import trajectories  # noqa: E402  (the benchmark next to this one)

from core.analysis.figures import pyplot  # noqa: E402
from core.stages.transport import diagnostic_figure  # noqa: E402
from core.md.trajectory import read_frames  # noqa: E402
from core.md.trajectory import gsd_contents  # noqa: E402
from core.md.trajectory_checks import checked_frames  # noqa: E402
from core.transport.onsager import system_transport  # noqa: E402
from core.transport.replica_files import replica_positions
from core.md.unwrap import nojump_frames  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=Path("runs/quickstart"))
    args = parser.parse_args()
    systems = trajectories(args.workdir)
    if not systems:
        raise SystemExit(f"{args.workdir}: no simulate artifacts (run a recipe first)")
    table = Table(title=f"shared input check against the transport stage, {args.workdir}")
    for column in ("system", "transport stage s", "checks s", "checks / stage", "NoJump s (files without images)",
                   "NoJump / stage"):
        table.add_column(column, justify="left" if column == "system" else "right")
    totals = [0.0, 0.0, 0.0]
    pyplot()
    figures = Path(tempfile.mkdtemp())
    for name, paths in systems.items():
        started = time.perf_counter()
        curves = [replica_positions(p).curves() for p in paths]
        result = system_transport(curves)
        diagnostic_figure(result.curves, curves[0].formula_units, 1.0, name, figures, result.transport.molar_conductivity)
        whole = time.perf_counter() - started
        frames = [list(read_frames(p)) for p in paths]          # read once, so only the checks are timed below
        started = time.perf_counter()
        for path, replica in zip(paths, frames):
            gsd_contents(path)                                   # the index scan: frame count, what each frame holds
            for _ in checked_frames(replica, path):
                pass
        checks = time.perf_counter() - started
        started = time.perf_counter()                            # what a file without image flags adds
        for path, replica in zip(paths, frames):
            for _ in nojump_frames(replica, path):
                pass
        nojump = time.perf_counter() - started
        totals[0] += whole
        totals[1] += checks
        totals[2] += nojump
        table.add_row(name, f"{whole:.3f}", f"{checks:.4f}", f"{checks / whole:.3f}", f"{nojump:.4f}",
                      f"{nojump / whole:.3f}")
    table.add_row("all", f"{totals[0]:.3f}", f"{totals[1]:.4f}", f"{totals[1] / totals[0]:.3f}", f"{totals[2]:.4f}",
                  f"{totals[2] / totals[0]:.3f}")
    Console(width=140).print(table)


if __name__ == "__main__":
    main()
