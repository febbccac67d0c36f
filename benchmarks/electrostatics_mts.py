"""Multiple time stepping for the electrostatics, against the current default, side by side (issue 38).

Builds the model at N = 1000, c = 0.05, l_B = 5 (one thread, CPU platform, the plugin's Coulomb settings,
so each force evaluation has the default's accuracy), equilibrates once, then times from the same state:

- the WCA-only ceiling (the Coulomb and bond forces removed);
- plain OpenMM PME (``coulomb_method: all-particles``, every bead in the real-space loop);
- the default (``ion-pairs``, OpenMM's Nosé–Hoover integrator);
- a rRESPA Nosé–Hoover ``CustomIntegrator``: the Coulomb force group (reciprocal and real-space part) every
  n inner steps of dt = 0.005 τ, WCA and bonds every inner step, the thermostat at the outer step;
  and the same without thermostat (NVE), whose energy drift per particle measures the splitting's error.

Prints steps/s (inner steps, 0.005 τ each) and ratios against the default and the ceiling, measured in
this process. A prototype: the integrator is not in the plugin (docs/benchmarks.md says why).

    python benchmarks/electrostatics_mts.py [--bjerrum 5] [--steps 2400]
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
from plugins.simulators.openmm_model import BOND_GROUP, COULOMB_GROUP, WCA_GROUP, make_platform
from plugins.simulators.openmm_simulator import OpenMMConfig, OpenMMSimulator
from plugins.simulators.openmm_units import temperature_kelvin


def respa_integrator(n_inner: int, dt: float, kT: float, n_particles: int, tau: float, thermostat: bool):
    """rRESPA velocity Verlet (Coulomb group outer, WCA and bonds inner) with a Nosé–Hoover thermostat
    (one variable ξ, mass Q = N_f kT τ², half steps around the outer step) or none (NVE)."""
    import openmm

    integrator = openmm.CustomIntegrator(n_inner * dt)
    integrator.addGlobalVariable("inner", dt)
    if thermostat:
        n_dof = 3 * n_particles - 3
        for name, value in (("kT", kT), ("ndf", n_dof), ("Q", n_dof * kT * tau ** 2), ("xi", 0.0), ("ke", 0.0)):
            integrator.addGlobalVariable(name, value)

    def thermostat_half_step() -> None:
        integrator.addComputeSum("ke", "0.5*m*v*v")
        integrator.addComputeGlobal("xi", "xi + 0.5*dt*(2*ke - ndf*kT)/Q")

    if thermostat:
        thermostat_half_step()
        integrator.addComputePerDof("v", "v*exp(-0.5*dt*xi)")
    integrator.addComputePerDof("v", f"v + 0.5*dt*f{COULOMB_GROUP}/m")
    for _ in range(n_inner):
        for group in (WCA_GROUP, BOND_GROUP):
            integrator.addComputePerDof("v", f"v + 0.5*inner*f{group}/m")
        integrator.addComputePerDof("x", "x + inner*v")
        for group in (WCA_GROUP, BOND_GROUP):
            integrator.addComputePerDof("v", f"v + 0.5*inner*f{group}/m")
    integrator.addComputePerDof("v", f"v + 0.5*dt*f{COULOMB_GROUP}/m")
    if thermostat:
        integrator.addComputePerDof("v", "v*exp(-0.5*dt*xi)")
        thermostat_half_step()
    return integrator


def main() -> None:
    import openmm

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bjerrum", type=float, default=5.0)
    parser.add_argument("--steps", type=int, default=2400, help="inner steps timed per option")
    args = parser.parse_args()
    spec = SystemSpec("bench", 0.05, args.bjerrum, 0.0, 1000, 0.8, 1, 0)
    settings = SimulationSettings(steps=500, equilibration_steps=2000, write_period=500, timestep=0.005, kT=1.0,
                                  wca_cutoff=2 ** (1 / 6), thermostat_tau=0.5, bond_k=100.0, bond_r0=1.0, min_ions=1)
    job = SimulationJob(spec, 0, 1, settings, Path(tempfile.mkdtemp()) / "unused.gsd")
    default = OpenMMSimulator(OpenMMConfig())
    session, system = default.prepare(job, 1)
    state = session.context.getState(getPositions=True, getVelocities=True)
    temperature = temperature_kelvin(1.0)
    kT = openmm.unit.MOLAR_GAS_CONSTANT_R.value_in_unit(openmm.unit.kilojoule_per_mole / openmm.unit.kelvin) \
        * temperature
    n = system.getNumParticles()

    def copy_keeping(keep) -> "openmm.System":
        copy = openmm.XmlSerializer.deserialize(openmm.XmlSerializer.serialize(system))
        for index in reversed(range(copy.getNumForces())):
            if not keep(copy.getForce(index)):
                copy.removeForce(index)
        return copy

    def timed(model, integrator, inner_per_step: int = 1) -> tuple[float, "openmm.Context"]:
        platform, properties = make_platform("CPU", 1, "double")
        context = openmm.Context(model, integrator, platform, properties)
        context.setState(state)
        integrator.step(max(1, 200 // inner_per_step))
        start = time.perf_counter()
        integrator.step(args.steps // inner_per_step)
        return args.steps / (time.perf_counter() - start), context

    def drift(n_inner: int) -> float:
        """NVE energy drift, kT per particle per τ, over 20 samples of 4000 inner steps."""
        integrator = respa_integrator(n_inner, settings.timestep, kT, n, settings.thermostat_tau, False)
        _, context = timed(system, integrator, n_inner)
        energies = []
        for _ in range(20):
            integrator.step(200 // n_inner)
            s = context.getState(getEnergy=True)
            energies.append((s.getKineticEnergy() + s.getPotentialEnergy()).value_in_unit(
                openmm.unit.kilojoule_per_mole) / kT / n)
        times = np.arange(20) * 200 * settings.timestep
        return float(np.polyfit(times, energies, 1)[0])

    rows = [("WCA only (ceiling)", *timed(copy_keeping(lambda f: isinstance(f, openmm.CustomNonbondedForce)),
                                         openmm.VerletIntegrator(settings.timestep))[:1], float("nan")),
            ("plain OpenMM PME (all-particles)",
             timed(OpenMMSimulator(OpenMMConfig(coulomb_method="all-particles")).prepare(job, 1, equilibrate=False)[1],
                   default._production_integrator(temperature, settings))[0], float("nan")),
            ("default (ion-pairs, Nosé–Hoover)",
             timed(system, default._production_integrator(temperature, settings))[0], float("nan"))]
    for n_inner in (2, 3, 4):
        rate, _ = timed(system, respa_integrator(n_inner, settings.timestep, kT, n, settings.thermostat_tau, True),
                        n_inner)
        rows.append((f"rRESPA Nosé–Hoover, Coulomb every {n_inner}", rate, drift(n_inner)))
    ceiling, reference = rows[0][1], rows[2][1]
    table = Table(title=f"OpenMM CPU, one thread, N = 1000, c = 0.05, l_B = {args.bjerrum:g} (inner steps/s)")
    for column in ("option", "steps/s", "vs default", "of ceiling", "NVE drift kT/particle/τ"):
        table.add_column(column, justify="right")
    for name, rate, energy_drift in rows:
        table.add_row(name, f"{rate:.0f}", f"{rate / reference:.2f}", f"{rate / ceiling:.2f}",
                      "" if np.isnan(energy_drift) else f"{energy_drift:.1e}")
    Console().print(table)


if __name__ == "__main__":
    main()
