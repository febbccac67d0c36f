"""The OpenMM all-particle PME real-space cutoff (and the grid it implies) that is fastest at a fixed accuracy.

For each cutoff, at one ``ewald_tolerance``, builds the model at c = 0.05,
l_B = 10, times production steps, and measures the Coulomb forces' RMS error
against a tight reference (tolerance 10⁻⁶) on the same configuration. Prints
steps/s relative to the first cutoff, measured in the same process.

    python benchmarks/coulomb_settings.py --n 4000 --cutoffs 2 2.5 3 3.5 4
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from core.datatypes import SimulationJob, SimulationSettings, SystemSpec
from core.md.electrolyte import build_topology
from plugins.simulators.openmm_model import COULOMB_GROUP, CoulombSettings, build_system, evaluate, pme_parameters
from plugins.simulators.openmm_simulator import OpenMMConfig, OpenMMSimulator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--cutoffs", type=float, nargs="+", default=[2.0, 2.5, 3.0, 3.5, 4.0])
    parser.add_argument("--tolerance", type=float, default=5e-4)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    system = SystemSpec("bench", 0.05, 10.0, 0.0, args.n, 0.8, 1, 0)
    settings = SimulationSettings(steps=args.steps, equilibration_steps=200, write_period=args.steps, timestep=0.005,
                                  kT=1.0, wca_cutoff=2 ** (1 / 6), thermostat_tau=0.5, bond_k=100.0, bond_r0=1.0,
                                  min_ions=1)
    topology = build_topology(system)
    job = SimulationJob(system, 0, 1, settings, Path(tempfile.mkdtemp()) / "unused.gsd")
    session, _ = OpenMMSimulator(OpenMMConfig()).prepare(job, args.threads)
    positions = session.unwrapped_positions()
    model = dict(bjerrum_length=10.0, kT=1.0, wca_cutoff=2 ** (1 / 6), bond_k=100.0, bond_r0=1.0)
    reference_cutoff = min(4.0, system.box_length / 2)
    _, reference = evaluate(build_system(topology, **model, coulomb=CoulombSettings(reference_cutoff, 1e-6)),
                            positions, "CPU", {COULOMB_GROUP}, args.threads)
    scale = np.sqrt(np.mean(np.sum(reference ** 2, axis=1)))
    table = Table(title=f"OpenMM PME at tolerance {args.tolerance:g}, N = {args.n}, c = 0.05, l_B = 10, "
                        f"{args.threads} threads")
    for column in ("cutoff σ", "grid", "α σ⁻¹", "RMS force error (rel.)", "steps/s", "speed vs first"):
        table.add_column(column, justify="right")
    first = None
    for cutoff in args.cutoffs:
        if cutoff > system.box_length / 2:
            continue
        coulomb = CoulombSettings(cutoff, args.tolerance)
        _, forces = evaluate(build_system(topology, **model, coulomb=coulomb), positions, "CPU", {COULOMB_GROUP},
                             args.threads)
        error = np.sqrt(np.mean(np.sum((forces - reference) ** 2, axis=1))) / scale
        plugin = OpenMMSimulator(OpenMMConfig(coulomb_method="all-particles", coulomb_cutoff=cutoff,
                                              ewald_tolerance=args.tolerance))
        timed, _ = plugin.prepare(job, args.threads, equilibrate=False)
        timed.context.setPositions(positions)
        timed.run(50)
        started = time.perf_counter()
        timed.run(args.steps)
        rate = args.steps / (time.perf_counter() - started)
        first = first or rate
        alpha, grid = pme_parameters(system.box_length, coulomb)
        table.add_row(f"{cutoff:g}", str(grid), f"{alpha:.3f}", f"{error:.2e}", f"{rate:.1f}", f"{rate / first:.2f}")
    Console().print(table)


if __name__ == "__main__":
    main()
