"""Simulator throughput: particle-steps per second per engine, and the plugin's overhead.

For each installed engine and particle count (c = 0.05, l_B = 10), times
(a) the bare engine loop — the prepared session advanced in blocks of the
write period, nothing else — and (b) the plugin's production loop with the
same settings (frames written to GSD, blow-up checks, checkpoints). Prints a
table with particle-steps/s and the overhead ratio (b)/(a) − 1 measured in
the same process.

    python benchmarks/simulators.py                 # N = 4000 (a few minutes on 2 cores)
    python benchmarks/simulators.py --sizes 4000 40000 --steps 2000 --write-period 500
"""

from __future__ import annotations

import argparse
import importlib.util
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from core.datatypes import SimulationJob, SimulationSettings, SystemSpec, TaskContext
from core.electrolyte import build_topology
from core.production import ProductionOptions, run_production
from core.registry import get_registry

ENGINES = {"openmm": ("openmm", {"platform": "CPU"}), "hoomd": ("hoomd", {"device": "auto"})}


def measure(name: str, options: dict, n_particles: int, steps: int, threads: int,
            write_period: int) -> tuple[float, float]:
    """(bare seconds, plugin seconds) for ``steps`` production steps at ``n_particles``."""
    system = SystemSpec("bench", 0.05, 10.0, 0.0, n_particles, 0.8, 1, 0)
    settings = SimulationSettings(steps=steps, equilibration_steps=0, write_period=write_period,
                                  timestep=0.005, kT=1.0, wca_cutoff=2 ** (1 / 6), thermostat_tau=0.5, bond_k=100.0,
                                  bond_r0=1.0, min_ions=1)
    plugin = get_registry().instantiate("simulator", name, options)
    with tempfile.TemporaryDirectory() as directory:
        job = SimulationJob(system, 0, 1, settings, Path(directory) / "out.gsd")
        session = plugin.prepare(job, threads)
        session = session[0] if isinstance(session, tuple) else session
        session.run(settings.write_period)  # warm-up
        started = time.perf_counter()
        for _ in range(steps // settings.write_period):
            session.run(settings.write_period)
        bare = time.perf_counter() - started
        context = TaskContext(threads, Path(directory), "bench")
        started = time.perf_counter()
        run_production(session, job, context, build_topology(system), ProductionOptions(), 0, {"engine": name})
        with_plugin = time.perf_counter() - started
    return bare, with_plugin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[4000])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--write-period", type=int, default=100, help="steps between frames (default 100)")
    args = parser.parse_args()
    table = Table(title=f"simulators, c = 0.05, l_B = 10, {args.steps} steps, a frame every {args.write_period}, "
                        f"{args.threads} threads")
    for column in ("engine", "N", "bare steps/s", "bare particle-steps/s", "plugin steps/s", "plugin overhead"):
        table.add_column(column, justify="right")
    for label, (module, options) in ENGINES.items():
        if importlib.util.find_spec(module) is None:
            table.add_row(label, "-", "not installed", "", "", "")
            continue
        for size in args.sizes:
            bare, with_plugin = measure(label, options, size, args.steps, args.threads, args.write_period)
            table.add_row(label, str(size), f"{args.steps / bare:.1f}", f"{size * args.steps / bare:.3g}",
                          f"{args.steps / with_plugin:.1f}", f"{with_plugin / bare - 1:+.1%}")
    Console().print(table)


if __name__ == "__main__":
    main()
