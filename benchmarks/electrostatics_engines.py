"""Electrostatics by engine and method, side by side at a fixed force accuracy (issue 38).

Builds the model at N = 1000, c = 0.05, l_B = 5 (one thread, CPU), equilibrates once with the openmm
plugin, and from that configuration:

- measures each option's Coulomb forces against a full Ewald sum (OpenMM's Reference platform, plain
  Ewald at tolerance 10⁻⁸): relative RMS force error, the issue's accuracy criterion (≤ 10⁻⁴);
- times production steps from that state: the openmm plugin's integrator steps, the lammps plugin's
  session runs in chunks of 100 steps (its production loop's frame interval), each after 200 warm-up steps.

Options: the WCA-only ceilings of both engines (Coulomb and bonds removed); plain OpenMM PME
(``all-particles``: every bead in the real-space loop and on the mesh); the openmm plugin's ``ion-pairs``;
the lammps plugin's ``all-particles`` (lj/cut/coul/long, pppm) and ``ion-pairs`` (coul/long on the ions,
pppm/cg) at several cutoffs and orders. Prints steps/s and ratios, all measured in this process.

    python benchmarks/electrostatics_engines.py [--bjerrum 5] [--steps 3000]
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
from core.md.electrolyte import Topology, build_topology
from plugins.simulators.lammps_model import CoulombSettings as LAMMPSCoulomb
from plugins.simulators.lammps_model import evaluate as lammps_evaluate
from plugins.simulators.lammps_simulator import LAMMPSConfig, LAMMPSSimulator
from plugins.simulators.openmm_model import COULOMB_GROUP, CoulombSettings, build_system, evaluate, make_platform
from plugins.simulators.openmm_simulator import OpenMMConfig, OpenMMSimulator
from plugins.simulators.openmm_units import temperature_kelvin


def full_ewald_forces(topology: Topology, positions: np.ndarray, model: dict) -> np.ndarray:
    """Coulomb forces of a plain Ewald sum (OpenMM Reference, tolerance 10⁻⁸), ε/σ."""
    import openmm

    system = build_system(topology, **model, coulomb=CoulombSettings(topology.box_length / 2 - 0.01, 1e-8,
                                                                    "all-particles"))
    for force in system.getForces():
        if isinstance(force, openmm.NonbondedForce):
            force.setNonbondedMethod(openmm.NonbondedForce.Ewald)
    return evaluate(system, positions, "Reference", groups={COULOMB_GROUP})[1]


def relative_error(forces: np.ndarray, reference: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.sum((forces - reference) ** 2, axis=1)))
                 / np.sqrt(np.mean(np.sum(reference ** 2, axis=1))))


def main() -> None:
    import openmm

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bjerrum", type=float, default=5.0)
    parser.add_argument("--steps", type=int, default=3000, help="steps timed per option")
    args = parser.parse_args()
    spec = SystemSpec("bench", 0.05, args.bjerrum, 0.0, 1000, 0.8, 1, 0)
    settings = SimulationSettings(steps=500, equilibration_steps=2000, write_period=100, timestep=0.005, kT=1.0,
                                  wca_cutoff=2 ** (1 / 6), thermostat_tau=0.5, bond_k=100.0, bond_r0=1.0, min_ions=1)
    job = SimulationJob(spec, 0, 1, settings, Path(tempfile.mkdtemp()) / "unused.gsd")
    topology = build_topology(spec)
    model = dict(bjerrum_length=args.bjerrum, kT=1.0, wca_cutoff=settings.wca_cutoff, bond_k=settings.bond_k,
                 bond_r0=settings.bond_r0)
    openmm_default = OpenMMSimulator(OpenMMConfig())
    session, system = openmm_default.prepare(job, 1)
    state = session.context.getState(getPositions=True, getVelocities=True)
    positions = session.unwrapped_positions()
    reference = full_ewald_forces(topology, positions, model)
    uncharged = Topology(topology.typeid, np.zeros_like(topology.valence), topology.bonds, topology.box_length)

    velocities = session.velocities()

    def place(instance) -> None:
        """Put the openmm-equilibrated positions and velocities into a LAMMPS instance (one process)."""
        n = topology.n_particles
        ids = np.asarray(instance.numpy.extract_atom("id"))[:n] - 1
        image = np.floor(positions / topology.box_length).astype(np.int64)
        packed = ((image[:, 2] + 512) << 20) | ((image[:, 1] + 512) << 10) | (image[:, 0] + 512)
        np.asarray(instance.numpy.extract_atom("x"))[:n] = (positions - image * topology.box_length)[ids]
        np.asarray(instance.numpy.extract_atom("image"))[:n] = packed[ids]
        np.asarray(instance.numpy.extract_atom("v"))[:n] = velocities[ids]

    def openmm_rate(model_system, integrator) -> float:
        platform, properties = make_platform("CPU", 1, "double")
        context = openmm.Context(model_system, integrator, platform, properties)
        context.setState(state)
        integrator.step(200)
        start = time.perf_counter()
        integrator.step(args.steps)
        return args.steps / (time.perf_counter() - start)

    def lammps_rate(config: LAMMPSConfig, charged: bool = True) -> float:
        plugin = LAMMPSSimulator(config)
        lammps_session = plugin.prepare(job, 1, equilibrate=False)
        if not charged:
            lammps_session.instance.commands_string("kspace_style none\nset group all charge 0.0\n"
                                                    f"pair_style lj/cut {settings.wca_cutoff!r}\n"
                                                    "pair_coeff * * 1.0 1.0\npair_modify shift yes")
        place(lammps_session.instance)
        lammps_session.run(200)
        start = time.perf_counter()
        for _ in range(args.steps // 100):
            lammps_session.run(100)
        rate = 100 * (args.steps // 100) / (time.perf_counter() - start)
        lammps_session.close()
        return rate

    def openmm_error(method: str) -> float:
        coulomb = openmm_default.coulomb_settings(topology)
        coulomb = CoulombSettings(coulomb.cutoff, coulomb.tolerance, method)
        return relative_error(evaluate(build_system(topology, **model, coulomb=coulomb), positions, "CPU",
                                       {COULOMB_GROUP})[1], reference)

    def lammps_error(config: LAMMPSConfig) -> float:
        coulomb = LAMMPSSimulator(config).coulomb_settings(topology)
        return relative_error(lammps_evaluate(topology, positions, **model, coulomb=coulomb, which=("coulomb",))[1],
                              reference)

    temperature = temperature_kelvin(1.0)
    wca_only = openmm.XmlSerializer.deserialize(openmm.XmlSerializer.serialize(system))
    for index in reversed(range(wca_only.getNumForces())):
        if not isinstance(wca_only.getForce(index), openmm.CustomNonbondedForce):
            wca_only.removeForce(index)
    plain = OpenMMSimulator(OpenMMConfig(coulomb_method="all-particles")).prepare(job, 1, equilibrate=False)[1]
    rows = [("openmm", "WCA only (ceiling)", openmm_rate(wca_only, openmm.VerletIntegrator(settings.timestep)),
             float("nan")),
            ("openmm", "plain PME (all-particles)",
             openmm_rate(plain, openmm_default._production_integrator(temperature, settings)),
             openmm_error("all-particles")),
            ("openmm", "ion-pairs (its default)",
             openmm_rate(system, openmm_default._production_integrator(temperature, settings)),
             openmm_error("ion-pairs")),
            ("lammps", "WCA only (ceiling)", lammps_rate(LAMMPSConfig(), charged=False), float("nan"))]
    options = [("all-particles, 3σ, order 5", LAMMPSConfig(coulomb_method="all-particles", pppm_order=5)),
               ("ion-pairs, 3σ, order 5", LAMMPSConfig(coulomb_cutoff=3.0, pppm_order=5)),
               ("ion-pairs, 0.49 L, order 5", LAMMPSConfig(pppm_order=5)),
               ("ion-pairs, 0.49 L, order 7 (default)", LAMMPSConfig())]
    for name, config in options:
        rows.append(("lammps", name, lammps_rate(config), lammps_error(config)))
    openmm_ceiling, plain_rate, lammps_ceiling = rows[0][2], rows[1][2], rows[3][2]
    table = Table(title=f"CPU, one thread, N = 1000, c = 0.05, l_B = {args.bjerrum:g}: steps/s at dt = 0.005 τ")
    for column in ("engine", "option", "Coulomb force error (rel. RMS)", "steps/s", "vs plain OpenMM PME",
                   "of OpenMM WCA ceiling", "of own WCA ceiling"):
        table.add_column(column, justify="right")
    for engine, name, rate, error in rows:
        own = openmm_ceiling if engine == "openmm" else lammps_ceiling
        table.add_row(engine, name, "" if np.isnan(error) else f"{error:.1e}", f"{rate:.0f}",
                      f"{rate / plain_rate:.2f}", f"{rate / openmm_ceiling:.2f}", f"{rate / own:.2f}")
    Console(width=180).print(table)


if __name__ == "__main__":
    main()
