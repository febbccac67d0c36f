"""Frames as ASE ``Atoms`` for descriptor libraries that take chemical elements.

SOAP libraries (DScribe, featomic, quippy) resolve densities by chemical
element. A descriptor plugin hands them a periodic ``Atoms`` of the particle
types it wants, each type standing in as an element; this module does that
mapping once, so users never see the elements and every plugin maps alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.datatypes import ANION_TYPE, CATION_TYPE, SOLVENT_TYPE, Frame

#: Stand-in chemical elements for the particle types (an internal convention, never in outputs).
STAND_IN_ELEMENTS: dict[str, str] = {CATION_TYPE: "Na", ANION_TYPE: "Cl", SOLVENT_TYPE: "Ar"}


def stand_in_number(particle_type: str) -> int:
    """Atomic number of the element standing in for ``particle_type``."""
    from ase.data import atomic_numbers

    return atomic_numbers[STAND_IN_ELEMENTS[particle_type]]


def species_in_element_order(include_solvent: bool) -> tuple[str, ...]:
    """The density species of an ion descriptor, sorted by stand-in atomic number (cation, anion[, solvent])."""
    types = (CATION_TYPE, ANION_TYPE) + ((SOLVENT_TYPE,) if include_solvent else ())
    return tuple(sorted(types, key=stand_in_number))


@dataclass(frozen=True)
class SpeciesSubset:
    """The particles of some types, as a periodic ASE ``Atoms``.

    Attributes
    ----------
    atoms: ``ase.Atoms`` of the kept particles, wrapped into [0, L), cell = box, pbc on all axes.
    kept: (n_kept,) int64 frame indices of the particles in ``atoms``, in order.
    centers: (n_centers,) int64 positions in ``atoms`` of the requested centres.
    """

    atoms: object
    kept: np.ndarray
    centers: np.ndarray


def species_subset(frame: Frame, types: tuple[str, ...], centers: np.ndarray, descriptor: str) -> SpeciesSubset:
    """Keep the particles whose type is in ``types`` and locate ``centers`` (frame indices) among them.

    Raises ``ValueError`` naming ``descriptor`` when a centre is not of a kept type.
    """
    from ase import Atoms

    type_ids = [i for i, name in enumerate(frame.types) if name in types]
    kept = np.flatnonzero(np.isin(frame.typeid, type_ids)).astype(np.int64)
    position_in_subset = np.full(frame.n_particles, -1, dtype=np.int64)
    position_in_subset[kept] = np.arange(len(kept))
    subset_centers = position_in_subset[np.asarray(centers, dtype=np.int64)]
    if np.any(subset_centers < 0):
        raise ValueError(f"{descriptor} centres must be particles of the included species {types}")
    box = np.asarray(frame.box, dtype=np.float64)
    wrapped = np.mod(frame.positions[kept], box)
    wrapped = np.where(wrapped >= box, 0.0, wrapped)
    symbols = [STAND_IN_ELEMENTS[frame.types[t]] for t in frame.typeid[kept]]
    atoms = Atoms(symbols=symbols, positions=wrapped, cell=np.diag(box), pbc=True)
    return SpeciesSubset(atoms, kept, subset_centers)
