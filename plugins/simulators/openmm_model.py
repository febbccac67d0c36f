"""The paper's electrolyte as an ``openmm.System`` (reduced units via :mod:`openmm_units`).

Forces, all with periodic boundaries:

- WCA between every pair: a ``CustomNonbondedForce`` 4ε[(σ/r)¹² − (σ/r)⁶] + ε cut at 2^(1/6)σ;
- Coulomb between ions by PME, the Ewald parameters set explicitly (α from the
  tolerance, a 2,3,5,7-smooth grid), in one of two ways that agree to the
  tolerance (:class:`CoulombSettings`):

  ``all-particles``
      a ``NonbondedForce`` holding every bead (solvent with zero charge and
      zero ε) computes both parts; its real-space loop runs over every pair
      within the real-space cutoff (3σ by default).
  ``ion-pairs``
      the ``NonbondedForce`` computes only the reciprocal part
      (``setIncludeDirectSpace(False)``); the real-space part erfc(αr)/r is a
      ``CustomBondForce`` over the explicit list of ion pairs (minimum image),
      with a cutoff up to half the box so that α and the grid are small. The
      solvent then costs nothing beyond WCA, and the CPU platform's shared
      neighbour list is built at the WCA cutoff instead of the Coulomb one.
      It pays n_ions²/2 pair terms per step, so it wins while ions are few
      (:func:`choose_coulomb_method`).

- harmonic bonds ½k(r − r0)² between bonded cation–anion pairs, which are
  excluded from each other's WCA and Coulomb terms (identical exclusions in
  both nonbonded forces, exceptions applied across periodic boundaries; with
  ``ion-pairs`` the reciprocal part's erf(αr)/r for the pair is subtracted in
  the pair list).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from core.api import Topology, ewald_parameters

from .openmm_units import charge_unit

#: OpenMM force groups, so energies can be evaluated term by term.
WCA_GROUP, COULOMB_GROUP, BOND_GROUP = 0, 1, 2


CoulombMethod = Literal["ion-pairs", "all-particles"]

#: ``ion-pairs`` is chosen while the ion pair list has at most this many terms per bead: measured on the
#: CPU platform (benchmarks/simulators.py), one ion-pair term costs about as much as this many beads'
#: share of the all-particle real-space loop (see :func:`choose_coulomb_method`).
ION_PAIR_TERMS_PER_PARTICLE = 10.0

#: The ``ion-pairs`` real-space cutoff when none is given, as a fraction of the box edge: just under
#: half, the longest that the minimum-image pair list computes exactly.
ION_PAIR_CUTOFF_FRACTION = 0.49
#: The ``all-particles`` real-space cutoff when none is given, σ.
ALL_PARTICLE_CUTOFF = 3.0


@dataclass(frozen=True)
class CoulombSettings:
    """PME settings: real-space cutoff (σ; ``None``: 3σ for ``all-particles``, 0.49·L for ``ion-pairs``),
    relative force error tolerance, and how the real-space part is computed (module docstring)."""

    cutoff: float | None = ALL_PARTICLE_CUTOFF
    tolerance: float = 5e-4
    method: CoulombMethod = "all-particles"

    def real_space_cutoff(self, box_length: float) -> float:
        """The real-space cutoff, σ, in a box of edge ``box_length`` σ."""
        if self.cutoff is not None:
            return self.cutoff
        return ION_PAIR_CUTOFF_FRACTION * box_length if self.method == "ion-pairs" else ALL_PARTICLE_CUTOFF


def choose_coulomb_method(n_particles: int, n_ions: int) -> CoulombMethod:
    """``ion-pairs`` while n_ions(n_ions − 1)/2 ≤ :data:`ION_PAIR_TERMS_PER_PARTICLE` · N, else ``all-particles``.

    >>> choose_coulomb_method(1000, 124), choose_coulomb_method(4000, 500)
    ('ion-pairs', 'all-particles')
    """
    return "ion-pairs" if n_ions * (n_ions - 1) / 2 <= ION_PAIR_TERMS_PER_PARTICLE * n_particles else "all-particles"


def pme_parameters(box_length: float, coulomb: CoulombSettings) -> tuple[float, int]:
    """(α in σ⁻¹, grid points per edge) for ``coulomb`` (see :func:`core.md.ewald.ewald_parameters`)."""
    return ewald_parameters(box_length, coulomb.real_space_cutoff(box_length), coulomb.tolerance)


def build_system(topology: Topology, *, bjerrum_length: float, kT: float, wca_cutoff: float, bond_k: float,
                 bond_r0: float, coulomb: CoulombSettings):
    """An ``openmm.System`` of ``topology`` in a cubic box of ``topology.box_length`` σ."""
    import openmm

    length = topology.box_length
    cutoff = coulomb.real_space_cutoff(length)
    if cutoff > length / 2:
        raise ValueError(f"Coulomb cutoff {cutoff}σ is longer than half the box ({length / 2:.3f}σ)")
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

    ion_pairs = coulomb.method == "ion-pairs"
    alpha, points = pme_parameters(length, coulomb)
    coulomb_force = openmm.NonbondedForce()
    coulomb_force.setNonbondedMethod(openmm.NonbondedForce.PME)
    # With ion pairs the NonbondedForce has no direct space; its cutoff then only sizes the CPU platform's
    # neighbour list, which every nonbonded force shares, so it is kept at the WCA cutoff.
    coulomb_force.setCutoffDistance(wca_cutoff if ion_pairs else cutoff)
    coulomb_force.setIncludeDirectSpace(not ion_pairs)
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
    if ion_pairs:
        for force in ion_pair_real_space(topology, alpha, cutoff, unit):
            system.addForce(force)
    if topology.bonds.size:
        system.addForce(bonds)
    return system


def ion_pair_real_space(topology: Topology, alpha: float, cutoff: float, charge_unit_value: float) -> list:
    """The Ewald real-space part over every ion pair: ``CustomBondForce`` objects in ``COULOMB_GROUP``.

    Per pair (minimum image, r in σ): k·q_i·q_j·erfc(αr)/r for r < ``cutoff``; for a bonded (excluded)
    pair instead −k·q_i·q_j·erf(αr)/r at any r, which removes what the reciprocal part adds for it.
    The two kinds are separate forces, so the many included pairs evaluate one special function each.
    """
    import openmm

    from .openmm_units import COULOMB_CONSTANT

    included = openmm.CustomBondForce(f"{COULOMB_CONSTANT!r}*qq*step({cutoff!r} - r)*erfc({alpha!r}*r)/r")
    excluded = openmm.CustomBondForce(f"-{COULOMB_CONSTANT!r}*qq*erf({alpha!r}*r)/r")
    for force in (included, excluded):
        force.addPerBondParameter("qq")
        force.setUsesPeriodicBoundaryConditions(True)
        force.setForceGroup(COULOMB_GROUP)
    valence = np.asarray(topology.valence, dtype=np.float64)
    ions = np.flatnonzero(valence != 0).tolist()
    bonded = {(min(i, j), max(i, j)) for i, j in topology.bonds.tolist()}
    for a, i in enumerate(ions):
        for j in ions[a + 1:]:
            qq = float(valence[i] * valence[j]) * charge_unit_value ** 2
            (excluded if (i, j) in bonded else included).addBond(i, j, [qq])
    return [force for force in (included, excluded) if force.getNumBonds()]


def make_platform(name: str, threads: int, precision: str):
    """(platform, properties) for ``name``; CPU gets ``threads``, GPU platforms ``precision``."""
    import openmm

    platform = openmm.Platform.getPlatformByName(name)
    properties: dict[str, str] = {}
    if name == "CPU":
        properties["Threads"] = str(max(1, threads))
        # Forces summed in a fixed order: a run is reproducible bit for bit, whatever the thread timing.
        properties["DeterministicForces"] = "true"
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
