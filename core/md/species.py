"""Ionic species of a frame: which ions belong together, with one valence each.

The coarse-grained model has two species, ``cation`` and ``anion``. Users' electrolytes may have more
(Li⁺ and Mg²⁺ with TFSI⁻; an ionic liquid with a lithium salt): a species is then named where the
trajectory was imported (``--species NAME SELECTION``) and travels with the frame
(:attr:`core.datatypes.Frame.species`, stored in localcond's GSD files under :data:`LOG_SPECIES`). Without
names, the ions are grouped by charge sign and valence: one cation and one anion valence give the
species ``cation`` and ``anion``; several valences of one sign give ``cation+2``, ``cation+1``, ...
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.datatypes import Frame
from core.results import SystemTransport

#: GSD log key of the (N,) int32 species index of every particle (−1 for non-ions).
LOG_SPECIES = "localcond/species"
#: GSD log key of the species names, one per line (UTF-8 text as uint8).
LOG_SPECIES_NAMES = "localcond/species_names"
#: What a species name may be: it becomes part of column names such as ``L_Li_TFSI``.
NAME_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9+\-]*\Z")
#: Names that would make a species' columns (``z_<a>``, ``n_<a>``, ``D_<a>``, ``L_self_<a>``) collide with the
#: transport row's own (``z_plus``, ``n_cations``, ``D_p``, ...).
RESERVED_NAMES = frozenset({"plus", "minus", "self", "p", "m", "s", "cations", "anions", "frames", "replicas",
                            "species"})


@dataclass(frozen=True)
class IonSpecies:
    """One ionic species: its name, valence z (e) and number of ions in the box."""

    name: str
    valence: float
    count: int

    @property
    def label(self) -> str:
        """``name (z=+2, 16 ions)``, for messages and reports."""
        return f"{self.name} (z={self.valence:+g}, {self.count} ions)"


def check_name(name: str, where: str) -> str:
    """``name`` if it is a usable species name, else ``ValueError`` naming ``where`` it came from."""
    if not NAME_PATTERN.match(name):
        raise ValueError(f"{where}: species name {name!r}; expected a letter, then letters, digits, + or -")
    if name in RESERVED_NAMES:
        raise ValueError(f"{where}: species name {name!r} is reserved (it would clash with the transport "
                         f"table's own columns: {', '.join(sorted(RESERVED_NAMES))}); choose another")
    return name


def ion_species(frame: Frame, source: Path | str) -> tuple[tuple[IonSpecies, ...], np.ndarray]:
    """(species, (N,) int32 species index of every particle, −1 for non-ions) of ``frame``.

    Raises ``ValueError`` naming ``source`` for a species of mixed valence, a valence whose sign is not
    the particle type's (a ``cation`` with z < 0), an ion without a species, or a frame that is not
    electroneutral (Σ z_i ≠ 0).
    """
    sign = frame.ion_sign.astype(np.int64)
    valence = (np.asarray(frame.valence, dtype=np.float64) if frame.valence is not None
               else sign.astype(np.float64))
    for kind, chosen, wanted in (("cation", sign > 0, 1), ("anion", sign < 0, -1)):
        wrong = chosen & (np.sign(valence) != wanted)
        if np.any(wrong):
            raise ValueError(f"{source}: {kind}s with valence {valence[np.argmax(wrong)]:+g}; expected a "
                             f"{'positive' if wanted > 0 else 'negative'} one")
    if frame.species is not None:
        index = np.asarray(frame.species, dtype=np.int64)
        names = tuple(frame.species_names)
        if np.any((index >= 0) != (sign != 0)) or np.any(index >= len(names)):
            raise ValueError(f"{source}: the stored species do not match the ions (every ion needs one of "
                             f"{list(names)}, and only ions)")
    else:
        index, names = _by_valence(sign, valence)
    species = []
    for number, name in enumerate(names):
        members = index == number
        values = np.unique(valence[members])
        if values.size > 1:
            raise ValueError(f"{source}: species {name!r} has ions of more than one valence "
                             f"({', '.join(f'{v:+g}' for v in values)}); one valence per species")
        species.append(IonSpecies(name, float(values[0]) if values.size else 0.0, int(np.count_nonzero(members))))
    net = float(np.sum(valence[sign != 0]))
    largest = max((abs(s.valence) * s.count for s in species), default=1.0)
    if all(s.count for s in species) and abs(net) > 1e-6 * max(1.0, largest):
        raise ValueError(f"{source}: not electroneutral: "
                         f"{', '.join(f'{s.count} {s.name} × {s.valence:+g}' for s in species)} give a net charge "
                         f"{net:+g} e")
    return tuple(species), index.astype(np.int32)


def _by_valence(sign: np.ndarray, valence: np.ndarray) -> tuple[np.ndarray, tuple[str, ...]]:
    """Species by charge sign and valence: ``cation``/``anion`` where each sign has one valence."""
    index = np.full(len(sign), -1, dtype=np.int64)
    names: list[str] = []
    for kind, wanted in (("cation", 1), ("anion", -1)):
        chosen = sign == wanted
        values = np.unique(valence[chosen])
        if values.size == 0:
            names.append(kind)  # an empty species: transport refuses it with its own message
            continue
        ordered = sorted(values, key=abs)
        for value in ordered:
            index[chosen & (valence == value)] = len(names)
            names.append(kind if len(ordered) == 1 else f"{kind}{value:+g}")
    return index, tuple(names)


def charge_balance(species: tuple[IonSpecies, ...]) -> float:
    """Equivalents in the box: Σ z_a N_a over the cation species (= −Σ over the anion species), e."""
    return float(sum(s.valence * s.count for s in species if s.valence > 0))


def species_notes(transports: list[SystemTransport], assumption: str) -> list[str]:
    """Report notes for systems beyond a salt of two species: which systems, and what ``assumption`` means.

    ``transports``: the run's :class:`core.results.SystemTransport` (``n_species``, ``ions``); ``assumption``:
    what the analysis does with several species, e.g. "like and unlike are by charge sign, so Li⁺–Mg²⁺ pairs
    count as like".
    """
    mixtures = [t for t in transports if t.n_species > 2]
    if not mixtures:
        return []
    names = ", ".join(f"{t.system} ({t.ions})" for t in mixtures)
    return [f"more than one cation or anion species in {names}: {assumption}"]
