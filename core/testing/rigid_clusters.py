"""Electrolytes of rigid ion clusters with an exactly known conductivity per class (issue 43's known answer).

Units that never break: free cations and anions, neutral cation–anion pairs, and charged triples (two
cations around an anion, +1; two anions around a cation, −1), each moving as an independent Brownian walker
with its own D (σ²/τ), without rotating, in a periodic cube. Their charge current is Σ_u q_u v_u, so

    Λ = (1 / (kT N₊)) Σ_u q_u² D_u,

pairs carry none of it, and every ion's share has the exact mean E[k_i] = n_ions z_i q_u D_u / (kT N₊)
(the share of ion i of unit u, :mod:`core.transport.attribution`): its own valence times its unit's charge
and diffusivity. Where a unit is, at a frame, is independent of its displacements (uniform positions,
independent increments), so an ion's class at a frame — which depends only on the configuration — is
independent of its share: the exact contribution of class c is

    Λ_c = (1 / n_ions) Σ_i f_ic E[k_i],

f_ic the fraction of the counted frames ion i spends in class c (units that come within the cutoff of each
other by chance form larger clusters for a while, and are counted there). ``expected_contributions`` gives it
from ``class_fractions``, the classes a decomposition assigns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RigidClusters:
    """``n_free`` free ions of each sign, ``n_pairs`` neutral pairs, ``n_triples`` triples of each charge, in a
    cube of ``box_length`` σ; D of each kind (σ²/τ); partners ``bond`` σ apart; kT = 1."""

    n_free: int = 20
    n_pairs: int = 20
    n_triples: int = 8
    box_length: float = 20.0
    d_free: float = 0.1
    d_pair: float = 0.05
    d_triple: float = 0.04
    bond: float = 1.0

    def __post_init__(self) -> None:
        if min(self.n_free, self.n_pairs, self.n_triples) < 0 or not self.box_length > 4 * self.bond > 0:
            raise ValueError("counts must be >= 0 and the box longer than four bonds")

    @property
    def units(self) -> list[tuple[list[int], list[int], float]]:
        """Per unit: (its cation columns, its anion columns, D), cations numbered first, then anions."""
        n_cations = self.n_free + self.n_pairs + 3 * self.n_triples
        cation, anion = iter(range(n_cations)), iter(range(n_cations, 2 * n_cations))
        units: list[tuple[list[int], list[int], float]] = []
        units += [([next(cation)], [], self.d_free) for _ in range(self.n_free)]
        units += [([], [next(anion)], self.d_free) for _ in range(self.n_free)]
        units += [([next(cation)], [next(anion)], self.d_pair) for _ in range(self.n_pairs)]
        units += [([next(cation), next(cation)], [next(anion)], self.d_triple) for _ in range(self.n_triples)]
        units += [([next(cation)], [next(anion), next(anion)], self.d_triple) for _ in range(self.n_triples)]
        return units

    @property
    def n_cations(self) -> int:
        return self.n_free + self.n_pairs + 3 * self.n_triples

    @property
    def molar_conductivity(self) -> float:
        """Λ = Σ_u q_u² D_u / (kT N₊) (reduced units)."""
        return (2 * self.n_free * self.d_free + 2 * self.n_triples * self.d_triple) / self.n_cations

    def mean_shares(self) -> np.ndarray:
        """(n_ions,) E[k_i] of every ion (cations first)."""
        n_ions = 2 * self.n_cations
        out = np.zeros(n_ions)
        for cations, anions, d in self.units:
            charge = len(cations) - len(anions)
            out[cations] = n_ions * charge * d / self.n_cations
            out[anions] = -n_ions * charge * d / self.n_cations
        return out

    def positions(self, duration: float, interval: float, rng: np.random.Generator) -> np.ndarray:
        """(frames, n_ions, 3) unwrapped positions, σ, frames every ``interval`` τ over ``duration`` τ."""
        frames = int(round(duration / interval)) + 1
        out = np.empty((frames, 2 * self.n_cations, 3))
        for cations, anions, d in self.units:
            centre = rng.uniform(0, self.box_length, 3) + np.cumsum(
                np.vstack([np.zeros(3), rng.normal(0, math.sqrt(2 * d * interval), (frames - 1, 3))]), axis=0)
            axis = rng.normal(size=3)
            axis *= self.bond / np.linalg.norm(axis)
            if len(cations) == 1 and len(anions) == 1:          # a pair: ±bond/2
                out[:, cations[0]], out[:, anions[0]] = centre + axis / 2, centre - axis / 2
            elif len(cations) + len(anions) == 3:                # a linear triple around its odd ion
                middle, ends = (anions, cations) if len(cations) == 2 else (cations, anions)
                out[:, middle[0]], out[:, ends[0]], out[:, ends[1]] = centre, centre + axis, centre - axis
            else:
                out[:, (cations or anions)[0]] = centre
        return out


def class_fractions(positions, attribution, kind, cutoff: float, names: list[str]) -> np.ndarray:
    """(n_ions, C) the fraction of the frames with a share that each ion spends in each class of ``names``
    (``kind`` and ``cutoff`` as :func:`core.transport.mechanisms.decompose` takes them), by a plain loop over
    the frames of ``positions`` (ReplicaPositions) and ``attribution`` (their SystemAttribution)."""
    from core.transport.mechanisms import class_members

    fraction = np.zeros((positions[0].ions.shape[1], len(names)))
    frames = 0
    for number, (p, shares) in enumerate(zip(positions, attribution.replicas)):
        for s in np.flatnonzero(np.isfinite(attribution.full(number)[:, 0])):
            members = class_members(kind, cutoff, p.ions[s], shares.valence, p.box, names)
            known = members >= 0                                   # a class not in ``names`` is not counted
            fraction[np.flatnonzero(known), members[known]] += 1
            frames += 1
    return fraction / frames


def expected_contributions(model: RigidClusters, class_fraction: np.ndarray) -> np.ndarray:
    """(C,) the exact Λ_c from ``class_fraction`` (n_ions, C): the fraction of counted frames each ion spent in
    each class."""
    return class_fraction.T @ model.mean_shares() / class_fraction.shape[0]
