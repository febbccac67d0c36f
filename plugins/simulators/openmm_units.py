"""The one place where reduced Lennard-Jones units meet OpenMM's units.

OpenMM works in nm, kJ/mol, amu, ps and e. Mapping σ → 1 nm, ε → 1 kJ/mol and
m → 1 amu makes τ = sqrt(m σ² / ε) = 1 ps, so lengths, energies, masses, times
and velocities carry over as plain numbers. Two things do not:

- temperature: kT (in ε) is T = kT / R kelvin, R = 0.00831446261815324 kJ mol⁻¹ K⁻¹
  (kT = 1 → 120.272355 K);
- charge: OpenMM's Coulomb energy is f·q_i·q_j / r with f = 138.935… kJ mol⁻¹ nm e⁻²,
  while the model's is kT·l_B·z_i·z_j / r, so q = z·sqrt(kT·l_B / f).

>>> round(temperature_kelvin(1.0), 6)
120.272355
>>> round(charge_unit(bjerrum_length=138.93545764438198, kT=1.0), 12)
1.0
"""

from __future__ import annotations

import math

#: OpenMM's ONE_4PI_EPS0, kJ mol⁻¹ nm e⁻² (openmm 8.x; checked against the installed engine in the tests).
COULOMB_CONSTANT = 138.93545764438198
#: Molar gas constant, kJ mol⁻¹ K⁻¹ (CODATA 2018, as in openmm.unit).
MOLAR_GAS_CONSTANT = 0.00831446261815324
#: σ in nm, ε in kJ/mol, m in amu, τ in ps: all 1 by this mapping.
LENGTH_NM = 1.0
ENERGY_KJ_PER_MOL = 1.0
MASS_AMU = 1.0
TIME_PS = 1.0


def temperature_kelvin(kT: float) -> float:
    """OpenMM temperature, K, of thermal energy ``kT`` in ε."""
    return kT * ENERGY_KJ_PER_MOL / MOLAR_GAS_CONSTANT


def charge_unit(bjerrum_length: float, kT: float) -> float:
    """OpenMM charge, e, of a unit valence: sqrt(kT·l_B / f) (l_B in σ, kT in ε)."""
    return math.sqrt(kT * ENERGY_KJ_PER_MOL * bjerrum_length * LENGTH_NM / COULOMB_CONSTANT)
