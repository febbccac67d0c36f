"""Transport numbers of an atomistic trajectory in SI units: D in m²/s, κ in S/m, Λ in S m²/mol.

The coefficients are first computed in the file's own units (lengths ``length_unit``, times
``time_unit``, kT = 1, e = 1), then converted with the temperature:

    D  [m²/s]      = D_file · ℓ² / τ
    κ  [S/m]       = κ_file · e² / (k_B T) / (ℓ τ)          (κ_file = slope / (6 V) in 1/(ℓ τ))
    Λ  [S m²/mol]  = κ [S/m] / (c_file / (N_A ℓ³))           (c per formula unit, or per equivalent)

with ℓ and τ the file's length and time units in metres and seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from core.results import Estimate, SystemTransport
from core.transport.onsager import ReplicaTransport

ELEMENTARY_CHARGE = 1.602176634e-19  # C
BOLTZMANN = 1.380649e-23             # J/K
AVOGADRO = 6.02214076e23             # 1/mol

#: Length units, m.
LENGTH_UNITS = {"angstrom": 1e-10, "nm": 1e-9, "bohr": 5.29177210903e-11, "m": 1.0}
#: Time units, s.
TIME_UNITS = {"fs": 1e-15, "ps": 1e-12, "ns": 1e-9, "s": 1.0}


@dataclass(frozen=True)
class SiFactors:
    """Multipliers from a file's units (lengths ℓ, times τ, kT = 1, e = 1) to SI, at ``temperature`` (K):
    ``diffusion`` (ℓ²/τ to m²/s), ``conductivity`` (to S/m) and ``molar`` (Λ with c in 1/ℓ³, to S m²/mol)."""

    diffusion: float
    conductivity: float
    molar: float
    temperature: float
    length_unit: str
    time_unit: str

    @property
    def units(self) -> dict[str, str | float]:
        """What the converted numbers are in (Onsager coefficients and times stay in the file's units)."""
        return {"D": "m^2/s", "kappa": "S/m", "molar_conductivity": "S m^2/mol",
                "L": f"file units (1/({self.length_unit} {self.time_unit} kT))", "times": self.time_unit,
                "temperature_K": self.temperature, "length_unit": self.length_unit, "time_unit": self.time_unit}


def factors(temperature: float, length_unit: str, time_unit: str) -> SiFactors:
    """The multipliers from file units (kT = 1) to SI at ``temperature`` (K)."""
    length, time = LENGTH_UNITS[length_unit], TIME_UNITS[time_unit]
    conductivity = ELEMENTARY_CHARGE ** 2 / (BOLTZMANN * temperature) / (length * time)
    return SiFactors(length ** 2 / time, conductivity, conductivity * AVOGADRO * length ** 3, temperature,
                     length_unit, time_unit)


def _scaled(estimate: Estimate, factor: float) -> Estimate:
    return Estimate(estimate.value * factor, estimate.err * factor, estimate.std * factor)


def system_to_si(transport: SystemTransport, si: SiFactors) -> SystemTransport:
    """``transport`` (file units) with every D (a mixture's species' too), κ and Λ (the label check's and the
    attribution's too) in SI, with their errors and scatters."""
    d, m = si.diffusion, si.molar
    check, attribution = transport.label_check, transport.attribution
    return replace(
        transport, D_p=_scaled(transport.D_p, d), D_m=_scaled(transport.D_m, d), D_s=_scaled(transport.D_s, d),
        kappa=_scaled(transport.kappa, si.conductivity),
        kappa_green_kubo=_scaled(transport.kappa_green_kubo, si.conductivity),
        molar_conductivity=_scaled(transport.molar_conductivity, m),
        molar_conductivity_ne=_scaled(transport.molar_conductivity_ne, m),
        molar_conductivity_equivalent=_scaled(transport.molar_conductivity_equivalent, m),
        species=tuple(replace(s, diffusion=_scaled(s.diffusion, d)) for s in transport.species),
        window=replace(transport.window, late_molar_conductivity=_scaled(transport.window.late_molar_conductivity, m)),
        label_check=None if check is None else replace(
            check, molar_conductivity_relaxed=_scaled(check.molar_conductivity_relaxed, m),
            window_bias=_scaled(check.window_bias, m)),
        attribution=None if attribution is None else replace(
            attribution, molar_conductivity=_scaled(attribution.molar_conductivity, m),
            self_part=_scaled(attribution.self_part, m)))


def replica_to_si(replica: ReplicaTransport, si: SiFactors) -> ReplicaTransport:
    """One replica's numbers (file units) with every D (a mixture's species' ``D_a`` too), κ and Λ, and their
    errors, in SI."""
    r, d, k, m = replica, si.diffusion, si.conductivity, si.molar
    species = {key: value * d if key.startswith("D_") else value for key, value in r.species_values.items()}
    return replace(
        r, D_p=r.D_p * d, D_p_err=r.D_p_err * d, D_m=r.D_m * d, D_m_err=r.D_m_err * d, D_s=r.D_s * d,
        D_s_err=r.D_s_err * d, kappa=r.kappa * k, kappa_err=r.kappa_err * k, kappa_green_kubo=r.kappa_green_kubo * k,
        molar_conductivity=r.molar_conductivity * m, molar_conductivity_err=r.molar_conductivity_err * m,
        molar_conductivity_ne=r.molar_conductivity_ne * m, molar_conductivity_ne_err=r.molar_conductivity_ne_err * m,
        molar_conductivity_equivalent=r.molar_conductivity_equivalent * m,
        molar_conductivity_equivalent_err=r.molar_conductivity_equivalent_err * m, species_values=species)
