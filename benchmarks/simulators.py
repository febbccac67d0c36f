"""Simulator throughput: simulated τ per core-hour per engine and option, against today's default, same process.

Table 1 (options). For each installed engine, N and c (l_B = 10), each of the
engine's Coulomb options is prepared (placement, minimisation, a short
equilibration) and its bare engine loop timed. Columns: steps/s, simulated τ per
core-hour (steps/s · dt · 3600 / threads), the speed against the engine's
reference option (the default before ion-pair electrostatics) measured in the same
run, and the RMS Coulomb force error against a full Ewald sum (OpenMM's Reference
platform, tolerance 10⁻⁷) relative to the RMS force, on the same configuration.
HOOMD's options: ``all-particles`` is its stock PPPM; ``ion-pairs`` puts only the
ions on the mesh and gives the real-space term a BVH list of ion pairs.

Table 2 (process layout, ``--layout``). One OpenMM replica on 1 thread, one
replica on 2 threads, and two replicas in two processes at once on 1 thread each:
aggregate steps/s and τ per core-hour, to choose the threads per simulation.

Table 3 (plugin overhead, ``--overhead``). The plugin's production loop
(frames written to GSD, blow-up checks, checkpoints) against the bare loop.

    python benchmarks/simulators.py                                  # N = 1000 and 4000, c = 0.01 and 0.05
    python benchmarks/simulators.py --sizes 1000 --layout --overhead
"""

from __future__ import annotations

import argparse
import importlib.util
import multiprocessing
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from core.datatypes import SimulationJob, SimulationSettings, SystemSpec, TaskContext
from core.md.electrolyte import build_topology
from core.md.production_loop import ProductionOptions, run_production
from core.plugin_system.registry import get_registry

#: Per engine: the module it needs, and its options by label; the first is the reference ("before").
ENGINE_OPTIONS: dict[str, tuple[str, dict[str, dict[str, Any]]]] = {
    "openmm": ("openmm", {
        "all-particles (before)": {"platform": "CPU", "coulomb_method": "all-particles"},
        "ion-pairs": {"platform": "CPU", "coulomb_method": "ion-pairs"},
        "auto (default)": {"platform": "CPU"},
    }),
    "hoomd": ("hoomd", {
        "all-particles (before)": {"device": "CPU", "coulomb_method": "all-particles"},
        "ion-pairs": {"device": "CPU", "coulomb_method": "ion-pairs"},
        "auto (default)": {"device": "CPU"},
    }),
}
BJERRUM_LENGTH = 10.0
TIMESTEP = 0.005


def job_for(n_particles: int, concentration: float, steps: int, write_period: int, directory: Path) -> SimulationJob:
    system = SystemSpec("bench", concentration, BJERRUM_LENGTH, 0.0, n_particles, 0.8, 1, 0)
    settings = SimulationSettings(steps=steps, equilibration_steps=200, write_period=write_period,
                                  timestep=TIMESTEP, kT=1.0, wca_cutoff=2 ** (1 / 6), thermostat_tau=0.5,
                                  bond_k=100.0, bond_r0=1.0, min_ions=1)
    return SimulationJob(system, 0, 1, settings, directory / "out.gsd")


def prepared(engine: str, options: dict[str, Any], job: SimulationJob, threads: int):
    plugin = get_registry().instantiate("simulator", engine, options)
    session = plugin.prepare(job, threads)
    return plugin, session[0] if isinstance(session, tuple) else session


def bare_steps_per_second(session, steps: int, block: int) -> float:
    """Steps/s of the engine loop alone, after one block of warm-up."""
    session.run(block)
    started = time.perf_counter()
    for _ in range(max(1, steps // block)):
        session.run(block)
    return max(1, steps // block) * block / (time.perf_counter() - started)


def coulomb_force_error(engine: str, job: SimulationJob, positions: np.ndarray, plugin) -> float:
    """RMS Coulomb force error of ``plugin`` against a full Ewald sum, relative to the RMS force."""
    import openmm

    from plugins.simulators.openmm_model import COULOMB_GROUP, CoulombSettings, build_system, evaluate

    topology = build_topology(job.system)
    positions = positions - topology.box_length * np.round(positions / topology.box_length)
    model = dict(bjerrum_length=job.system.bjerrum_length, kT=1.0, wca_cutoff=2 ** (1 / 6), bond_k=100.0,
                 bond_r0=1.0)
    reference_system = build_system(topology, **model, coulomb=CoulombSettings(topology.box_length / 2 - 0.01, 1e-7))
    for force in reference_system.getForces():
        if isinstance(force, openmm.NonbondedForce):
            force.setNonbondedMethod(openmm.NonbondedForce.Ewald)
    _, reference = evaluate(reference_system, positions, "Reference", {COULOMB_GROUP})
    if engine == "hoomd":
        from plugins.simulators.hoomd_simulator import evaluate as hoomd_evaluate

        _, forces = hoomd_evaluate(topology, positions, bjerrum_length=job.system.bjerrum_length,
                                   settings=job.settings, config=plugin.config, which=("coulomb",))
    else:
        _, forces = evaluate(build_system(topology, **model, coulomb=plugin.coulomb_settings(topology)), positions,
                             "CPU", {COULOMB_GROUP})
    return float(np.sqrt(np.mean(np.sum((forces - reference) ** 2, axis=1)) / np.mean(np.sum(reference ** 2, axis=1))))


def options_table(args: argparse.Namespace, console: Console) -> None:
    table = Table(title=f"simulators: l_B = {BJERRUM_LENGTH:g}, dt = {TIMESTEP}, {args.steps} steps, "
                        f"{args.threads} thread(s)")
    for column in ("engine", "option", "N", "c σ⁻³", "ions", "steps/s", "τ per core-hour", "vs before",
                   "Coulomb force error"):
        table.add_column(column, justify="right")
    for engine, (module, choices) in ENGINE_OPTIONS.items():
        if importlib.util.find_spec(module) is None:
            table.add_row(engine, "not installed", *[""] * 7)
            continue
        for size in args.sizes:
            for concentration in args.concentrations:
                reference = None
                for label, options in choices.items():
                    with tempfile.TemporaryDirectory() as directory:
                        job = job_for(size, concentration, args.steps, args.block, Path(directory))
                        plugin, session = prepared(engine, options, job, args.threads)
                        rate = bare_steps_per_second(session, args.steps, args.block)
                        error = (f"{coulomb_force_error(engine, job, session.unwrapped_positions(), plugin):.1e}"
                                 if importlib.util.find_spec("openmm") is not None else "-")
                    reference = reference or rate
                    ions = 2 * job.system.n_ion_pairs
                    table.add_row(engine, label, str(size), f"{concentration:g}", str(ions), f"{rate:.0f}",
                                  f"{rate * TIMESTEP * 3600 / args.threads:,.0f}", f"{rate / reference:.2f}×", error)
                    console.print(f"  {engine} {label} N={size} c={concentration:g}: {rate:.0f} steps/s")
    console.print(table)


def _replica_rate(arguments: tuple[int, float, int, int, int]) -> float:
    size, concentration, steps, block, threads = arguments
    with tempfile.TemporaryDirectory() as directory:
        job = job_for(size, concentration, steps, block, Path(directory))
        _, session = prepared("openmm", {"platform": "CPU"}, job, threads)
        return bare_steps_per_second(session, steps, block)


def layout_table(args: argparse.Namespace, console: Console) -> None:
    if importlib.util.find_spec("openmm") is None:
        return
    table = Table(title="process layout: OpenMM (default options), aggregate over the replicas that run at once")
    for column in ("N", "c σ⁻³", "layout", "cores", "steps/s (all replicas)", "τ per core-hour", "vs 1×1"):
        table.add_column(column, justify="right")
    context = multiprocessing.get_context("spawn")
    for size in args.sizes:
        for concentration in args.concentrations:
            one = _replica_rate((size, concentration, args.steps, args.block, 1))
            two_threads = _replica_rate((size, concentration, args.steps, args.block, 2))
            with context.Pool(2) as pool:
                two_processes = sum(pool.map(_replica_rate, [(size, concentration, args.steps, args.block, 1)] * 2))
            for label, rate, cores in (("1 replica × 1 thread", one, 1), ("1 replica × 2 threads", two_threads, 2),
                                       ("2 replicas × 1 thread", two_processes, 2)):
                per_core_hour = rate * TIMESTEP * 3600 / cores
                table.add_row(str(size), f"{concentration:g}", label, str(cores), f"{rate:.0f}",
                              f"{per_core_hour:,.0f}", f"{per_core_hour / (one * TIMESTEP * 3600):.2f}×")
    console.print(table)


def overhead_table(args: argparse.Namespace, console: Console) -> None:
    table = Table(title=f"plugin overhead: production loop (GSD frame every {args.block} steps, checks, "
                        "checkpoints) against the bare loop")
    for column in ("engine", "N", "bare steps/s", "plugin steps/s", "plugin overhead"):
        table.add_column(column, justify="right")
    for engine, (module, choices) in ENGINE_OPTIONS.items():
        if importlib.util.find_spec(module) is None:
            continue
        options = list(choices.values())[-1]
        for size in args.sizes:
            with tempfile.TemporaryDirectory() as directory:
                job = job_for(size, 0.05, args.steps, args.block, Path(directory))
                _, session = prepared(engine, options, job, args.threads)
                bare = bare_steps_per_second(session, args.steps, args.block)
                context = TaskContext(args.threads, Path(directory), "bench")
                started = time.perf_counter()
                run_production(session, job, context, build_topology(job.system), ProductionOptions(), 0,
                               {"engine": engine})
                with_plugin = args.steps / (time.perf_counter() - started)
            table.add_row(engine, str(size), f"{bare:.0f}", f"{with_plugin:.0f}", f"{bare / with_plugin - 1:+.1%}")
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 4000])
    parser.add_argument("--concentrations", type=float, nargs="+", default=[0.01, 0.05])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--block", type=int, default=100, help="steps per engine call and between frames")
    parser.add_argument("--layout", action="store_true", help="also measure the process layout (table 2)")
    parser.add_argument("--overhead", action="store_true", help="also measure the plugin overhead (table 3)")
    parser.add_argument("--no-options", action="store_true", help="skip table 1")
    args = parser.parse_args()
    console = Console(width=170)
    if not args.no_options:
        options_table(args, console)
    if args.layout:
        layout_table(args, console)
    if args.overhead:
        overhead_table(args, console)


if __name__ == "__main__":
    main()
