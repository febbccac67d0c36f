"""Transport numbers of an atomistic trajectory in SI units: D in m²/s, κ in S/m, Λ in S m²/mol.

The coefficients are first computed in the file's own units (lengths ``length_unit``, times
``time_unit``, kT = 1, e = 1), then converted with the temperature:

    D  [m²/s]      = D_file · ℓ² / τ
    κ  [S/m]       = κ_file · e² / (k_B T) / (ℓ τ)          (κ_file = slope / (6 V) in 1/(ℓ τ))
    Λ  [S m²/mol]  = κ [S/m] / (c_file / (N_A ℓ³))           (c per formula unit, or per equivalent)

with ℓ and τ the file's length and time units in metres and seconds.
"""

from __future__ import annotations

from typing import Any

ELEMENTARY_CHARGE = 1.602176634e-19  # C
BOLTZMANN = 1.380649e-23             # J/K
AVOGADRO = 6.02214076e23             # 1/mol

#: Length units, m.
LENGTH_UNITS = {"angstrom": 1e-10, "nm": 1e-9, "bohr": 5.29177210903e-11, "m": 1.0}
#: Time units, s.
TIME_UNITS = {"fs": 1e-15, "ps": 1e-12, "ns": 1e-9, "s": 1.0}

#: Row keys converted, by kind; each one's ``_err`` and ``_std`` are converted alike.
DIFFUSION = ("D_p", "D_m", "D_s")
CONDUCTIVITY = ("kappa", "kappa_green_kubo")
MOLAR = ("molar_conductivity", "molar_conductivity_ne", "molar_conductivity_equivalent",
         "late_molar_conductivity", "molar_conductivity_sem", "molar_conductivity_relaxed", "window_bias")


def factors(temperature: float, length_unit: str, time_unit: str) -> dict[str, float]:
    """Multipliers from file units (kT = 1) to SI: ``diffusion``, ``conductivity``, ``molar`` (Λ, given c in 1/ℓ³)."""
    length, time = LENGTH_UNITS[length_unit], TIME_UNITS[time_unit]
    conductivity = ELEMENTARY_CHARGE ** 2 / (BOLTZMANN * temperature) / (length * time)
    return {"diffusion": length ** 2 / time, "conductivity": conductivity,
            "molar": conductivity * AVOGADRO * length ** 3}


def to_si(row: dict[str, Any], temperature: float, length_unit: str, time_unit: str) -> dict[str, Any]:
    """A copy of a transport row (file units, kT = 1) with D, κ and Λ (and their errors) in SI units."""
    scale = factors(temperature, length_unit, time_unit)
    converted = dict(row)
    for keys, factor in ((DIFFUSION, scale["diffusion"]), (CONDUCTIVITY, scale["conductivity"]),
                         (MOLAR, scale["molar"])):
        for key in keys:
            for name in (key, f"{key}_err", f"{key}_std"):
                if isinstance(converted.get(name), float):
                    converted[name] = converted[name] * factor
    converted["units"] = {"D": "m^2/s", "kappa": "S/m", "molar_conductivity": "S m^2/mol",
                          "temperature_K": temperature, "length_unit": length_unit, "time_unit": time_unit}
    return converted
