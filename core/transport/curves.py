"""The displacement correlations of one trajectory (:class:`ReplicaCurves`), before any fit: from unwrapped
positions relative to the centre of mass to the correlation functions the Onsager fit reads
(:mod:`core.transport.onsager`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from core.md.species import IonSpecies, charge_balance
from core.transport.correlation import displacement_correlation, time_correlation

#: Displacement correlations of a replica: name -> (walker A, walker B, independent walkers).
#: Capital walkers are collective sums (P = Σ r₊, M = Σ r₋, S = Σ r_s, Q = P − M); lower-case ones
#: are the sums of independent per-ion MSDs (the self terms).
CORRELATIONS: dict[str, tuple[str, str]] = {
    "pp": ("P", "P"), "mm": ("M", "M"), "pm": ("P", "M"), "charge": ("Q", "Q"),
    "self_pp": ("p", "p"), "self_mm": ("m", "m"),
    "ss": ("S", "S"), "ps": ("P", "S"), "ms": ("M", "S"), "self_ss": ("s", "s"),
}
SOLVENT_CORRELATIONS = ("ss", "ps", "ms", "self_ss")
#: With more than two ionic species (a mixture), per species a and pair a <= b the correlations
#: ``X:a:b`` (collective walkers Xa = Σ_{i∈a} r_i and Xb) and ``x:a`` (the self term of species a).


def walkers(name: str) -> tuple[str, str]:
    """The two walkers whose displacement correlation ``name`` is (see :data:`CORRELATIONS`)."""
    if name in CORRELATIONS:
        return CORRELATIONS[name]
    kind, *labels = name.split(":")
    if kind == "X":
        return f"X{labels[0]}", f"X{labels[1]}"
    if kind == "x":
        return f"x{labels[0]}", f"x{labels[0]}"
    raise KeyError(f"unknown displacement correlation {name!r}")


def stoichiometry(z_plus: float, z_minus: float) -> tuple[float, float]:
    """(ν₊, ν₋) of the formula unit: the smallest integers with ν₊ z₊ + ν₋ z₋ = 0 (valences integer)."""
    if float(z_plus).is_integer() and float(z_minus).is_integer():
        common = math.gcd(int(z_plus), int(-z_minus))
        return -z_minus / common, z_plus / common
    return 1.0, -z_plus / z_minus  # non-integer valences: one cation per formula unit



@dataclass(frozen=True)
class ReplicaCurves:
    """The displacement correlations of one trajectory, before any fit.

    correlations: name (see :data:`CORRELATIONS`, and :func:`walkers` for a mixture's per-species
    names) -> (T,) values at lags 0 … T−1 frames, σ².
    current: (T,) < J(0)·J(t) > at lags 0 … T−1, or (0,) without velocities.
    frame_interval: τ between frames (uniform). volume: σ³.
    z_plus, z_minus: the two species' valences; NaN for a mixture (more than two species).
    species: the ionic species (cations first), in the order of the ``X:a:b`` names.
    """

    source: str
    n_frames: int
    frame_interval: float
    n_cations: int
    n_anions: int
    n_solvent: int
    volume: float
    correlations: dict[str, np.ndarray] = field(repr=False)
    current: np.ndarray = field(repr=False)
    z_plus: float = 1.0
    z_minus: float = -1.0
    species: tuple[IonSpecies, ...] = ()

    @property
    def mixture(self) -> bool:
        """More than one cation or anion species: Λ is then per equivalent."""
        return len(self.species) > 2

    @property
    def formula_units(self) -> float:
        """What Λ is per, in the box: formula units M_ν₊X_ν₋ (N₊ / ν₊, ν₊ = |z₋| / gcd(z₊, |z₋|)) of a salt
        of two species; equivalents Σ z_a N_a over the cation species of a mixture."""
        if self.mixture:
            return charge_balance(self.species)
        return self.n_cations / stoichiometry(self.z_plus, self.z_minus)[0]

    @property
    def lag_times(self) -> np.ndarray:
        """(T−1,) lag times of lags 1 … T−1, τ."""
        return self.frame_interval * np.arange(1, self.n_frames)

    @property
    def ion_msd(self) -> np.ndarray:
        """(T−1,) mean-squared displacement per ion at lags 1 … T−1, σ²."""
        return (self.correlations["self_pp"][1:] + self.correlations["self_mm"][1:]) / (self.n_cations + self.n_anions)

    @property
    def run_length(self) -> float:
        """Simulated time the trajectory spans, τ."""
        return (self.n_frames - 1) * self.frame_interval


def curves_from_positions(cations: np.ndarray, anions: np.ndarray, frame_interval: float, volume: float, *,
                          solvent: np.ndarray | None = None, currents: np.ndarray | None = None,
                          source: str = "arrays", valences: tuple[float, float] = (1.0, -1.0),
                          species: tuple[IonSpecies, ...] = (), cation_species: np.ndarray | None = None,
                          anion_species: np.ndarray | None = None) -> ReplicaCurves:
    """The displacement correlations of unwrapped positions relative to the system's centre of mass.

    ``cations`` (T, N₊, 3), ``anions`` (T, N₋, 3), ``solvent`` (T, N_s, 3) or None, σ; ``currents`` (T, 3)
    the charge current J(t) or None; ``frame_interval`` τ; ``volume`` σ³; ``valences`` (z₊, z₋) of a
    salt of two species. A mixture (``species`` of more than two) also needs ``cation_species`` (N₊,) and
    ``anion_species`` (N₋,), each ion's index into ``species``; its charge correlation is then
    Σ_ab z_a z_b C_ab over the species' collective walkers.
    """
    total_p, total_m = cations.sum(axis=1), anions.sum(axis=1)
    correlations = {"self_pp": displacement_correlation(cations), "self_mm": displacement_correlation(anions),
                    "pp": displacement_correlation(total_p), "mm": displacement_correlation(total_m),
                    "pm": displacement_correlation(total_p, total_m)}
    z_plus, z_minus = valences
    if len(species) > 2:
        z_plus, z_minus = float("nan"), float("nan")
        correlations.update(_species_correlations(cations, anions, species, cation_species, anion_species))
    else:
        if species:
            z_plus, z_minus = species[0].valence, species[1].valence
        correlations["charge"] = (z_plus ** 2 * correlations["pp"] + z_minus ** 2 * correlations["mm"]
                                  + 2.0 * z_plus * z_minus * correlations["pm"])
    n_solvent = 0
    if solvent is not None and solvent.shape[1]:
        n_solvent = solvent.shape[1]
        total_s = solvent.sum(axis=1)
        correlations.update(ss=displacement_correlation(total_s), ps=displacement_correlation(total_p, total_s),
                            ms=displacement_correlation(total_m, total_s), self_ss=displacement_correlation(solvent))
    current = time_correlation(currents) if currents is not None else np.zeros(0)
    return ReplicaCurves(source, cations.shape[0], frame_interval, cations.shape[1], anions.shape[1], n_solvent,
                         volume, correlations, current, float(z_plus), float(z_minus), tuple(species))


def _species_correlations(cations: np.ndarray, anions: np.ndarray, species: tuple[IonSpecies, ...],
                          cation_species: np.ndarray | None, anion_species: np.ndarray | None
                          ) -> dict[str, np.ndarray]:
    """A mixture's ``x:a`` (self) and ``X:a:b`` (collective, a <= b) correlations, and ``charge``."""
    if cation_species is None or anion_species is None:
        raise ValueError("a mixture of more than two ionic species needs each ion's species")
    members = []
    for number in range(len(species)):
        members.append(np.concatenate([cations[:, cation_species == number], anions[:, anion_species == number]],
                                      axis=1))
    totals = [m.sum(axis=1) for m in members]
    out: dict[str, np.ndarray] = {}
    charge = np.zeros(cations.shape[0])
    for a, first in enumerate(species):
        out[f"x:{a}"] = displacement_correlation(members[a])
        for b in range(a, len(species)):
            out[f"X:{a}:{b}"] = displacement_correlation(totals[a], totals[b])
            charge += (1.0 if a == b else 2.0) * first.valence * species[b].valence * out[f"X:{a}:{b}"]
    out["charge"] = charge
    return out
