"""The paper's electrolyte as an ``openmm.System`` (reduced units via :mod:`openmm_units`).

Forces, all with periodic boundaries:

- WCA between every pair: a ``CustomNonbondedForce`` 4ε[(σ/r)¹² − (σ/r)⁶] + ε cut at 2^(1/6)σ;
- Coulomb between ions: a ``NonbondedForce`` with PME (solvent has zero charge
  and zero ε), its real-space cutoff and relative error tolerance options,
  the Ewald parameters set explicitly (α from the tolerance, a 2,3,5,7-smooth grid);
- harmonic bonds ½k(r − r0)² between bonded cation–anion pairs, which are
  excluded from each other's WCA and Coulomb terms (identical exclusions in
  both nonbonded forces, exceptions applied across periodic boundaries).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.electrolyte import Topology
from core.ewald import ewald_parameters

from .openmm_units import charge_unit

#: OpenMM force groups, so energies can be evaluated term by term.
WCA_GROUP, COULOMB_GROUP, BOND_GROUP = 0, 1, 2


@dataclass(frozen=True)
class CoulombSettings:
    """PME settings: real-space cutoff, σ, and relative force error tolerance."""

    cutoff: float = 3.0
    tolerance: float = 5e-4


def pme_parameters(box_length: float, coulomb: CoulombSettings) -> tuple[float, int]:
    """(α in σ⁻¹, grid points per edge) for ``coulomb`` (see :func:`core.ewald.ewald_parameters`)."""
    return ewald_parameters(box_length, coulomb.cutoff, coulomb.tolerance)


def build_system(topology: Topology, *, bjerrum_length: float, kT: float, wca_cutoff: float, bond_k: float,
                 bond_r0: float, coulomb: CoulombSettings):
    """An ``openmm.System`` of ``topology`` in a cubic box of ``topology.box_length`` σ."""
    import openmm

    length = topology.box_length
    if coulomb.cutoff > length / 2:
        raise ValueError(f"Coulomb cutoff {coulomb.cutoff}σ is longer than half the box ({length / 2:.3f}σ)")
    system = openmm.System()
    system.setDefaultPeriodicBoxVectors(openmm.Vec3(length, 0, 0), openmm.Vec3(0, length, 0),
                                        openmm.Vec3(0, 0, length))
    for _ in range(topology.n_particles):
        system.addParticle(1.0)

    wca = openmm.CustomNonbondedForce("4*wca_epsilon*((wca_sigma/r)^12 - (wca_sigma/r)^6) + wca_epsilon")
    wca.addGlobalParameter("wca_epsilon", 1.0)
    wca.addGlobalParameter("wca_sigma", 1.0)
    wca.setNonbondedMethod(openmm.CustomNonbondedForce.CutoffPeriodic)
    wca.setCutoffDistance(wca_cutoff)
    wca.setUseSwitchingFunction(False)
    wca.setUseLongRangeCorrection(False)
    wca.setForceGroup(WCA_GROUP)

    coulomb_force = openmm.NonbondedForce()
    coulomb_force.setNonbondedMethod(openmm.NonbondedForce.PME)
    coulomb_force.setCutoffDistance(coulomb.cutoff)
    alpha, points = pme_parameters(length, coulomb)
    coulomb_force.setPMEParameters(alpha, points, points, points)
    coulomb_force.setEwaldErrorTolerance(coulomb.tolerance)
    coulomb_force.setUseDispersionCorrection(False)
    coulomb_force.setUseSwitchingFunction(False)
    coulomb_force.setExceptionsUsePeriodicBoundaryConditions(True)
    coulomb_force.setForceGroup(COULOMB_GROUP)

    unit = charge_unit(bjerrum_length, kT)
    for valence in topology.valence:
        wca.addParticle([])
        coulomb_force.addParticle(float(valence) * unit, 1.0, 0.0)

    bonds = openmm.HarmonicBondForce()
    bonds.setUsesPeriodicBoundaryConditions(True)
    bonds.setForceGroup(BOND_GROUP)
    for i, j in topology.bonds.tolist():
        bonds.addBond(i, j, bond_r0, bond_k)
        wca.addExclusion(i, j)
        coulomb_force.addException(i, j, 0.0, 1.0, 0.0)

    system.addForce(wca)
    system.addForce(coulomb_force)
    if topology.bonds.size:
        system.addForce(bonds)
    return system


def make_platform(name: str, threads: int, precision: str):
    """(platform, properties) for ``name``; CPU gets ``threads``, GPU platforms ``precision``."""
    import openmm

    platform = openmm.Platform.getPlatformByName(name)
    properties: dict[str, str] = {}
    if name == "CPU":
        properties["Threads"] = str(max(1, threads))
    elif name in ("CUDA", "OpenCL", "HIP"):
        properties["Precision"] = precision
    return platform, properties


def evaluate(system, positions: np.ndarray, platform: str = "Reference", groups: set[int] | None = None,
             threads: int = 1) -> tuple[float, np.ndarray]:
    """Potential energy (ε) and forces ((N, 3), ε/σ) of ``positions`` ((N, 3), σ) in ``system``."""
    import openmm

    platform_object, properties = make_platform(platform, threads, "double")
    context = openmm.Context(system, openmm.VerletIntegrator(0.001), platform_object, properties)
    context.setPositions(np.asarray(positions, dtype=np.float64))
    mask = sum(1 << g for g in groups) if groups is not None else -1
    state = context.getState(getEnergy=True, getForces=True, groups=mask)
    energy = state.getPotentialEnergy().value_in_unit(openmm.unit.kilojoule_per_mole)
    forces = state.getForces(asNumpy=True).value_in_unit(openmm.unit.kilojoule_per_mole / openmm.unit.nanometer)
    return float(energy), np.asarray(forces, dtype=np.float64)
