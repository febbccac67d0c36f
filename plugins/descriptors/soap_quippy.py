"""The ``soap-quippy`` descriptor: the paper's SOAP partial power spectrum, computed by QUIP/GAP (quippy).

Definition (GAP's ``soap`` descriptor through ``quippy.descriptors``): every
ion of the included species carries a Gaussian density of width ``sigma``
(``atom_sigma``), the centre's own with weight ``central_weight`` (1, as in
DScribe), expanded on ``n_max`` radial functions and spherical harmonics up to
``l_max``; the power spectrum pairs every (species, n) with every (species', n')
at or after it, for each l.

- Radial basis: GAP's polynomials (r_cut − r)^(n+2), orthonormalised on [0, r_cut]
  (the same family as DScribe's ``rbf="polynomial"``).
- Cutoff smoothing: always a shifted cosine, weight ½[1 + cos(π (r − r_cut + w)/w)]
  over the last ``cutoff_transition_width`` w before ``r_cut``.
- Normalisation: ``normalise=False`` (default, the paper's DScribe convention)
  keeps the raw spectrum; ``True`` divides each vector by its norm.
- Columns: with channels c = species·n_max + n, quippy 0.10 orders them by
  channel pairs (c', c) with c' ≤ c, c outer, then l (found by switching
  species off one at a time; GAP's reference page describes the transpose),
  giving 468 entries with the defaults; its extra trailing constant entry is
  dropped.

GAP computes every centre of the included species whatever subset is asked
for, so the cost is that of the whole frame; the subset is taken afterwards.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
from pydantic import Field

from core.api import Frame, SOAPDescriptor, SOAPOptions, species_subset, stand_in_number


class SOAPQuippyConfig(SOAPOptions):
    """SOAP hyperparameters: the shared ones (:class:`core.api.SOAPOptions`, the paper's defaults) and this
    library's own (lengths in σ)."""

    cutoff_transition_width: float = Field(default=0.5, gt=0, description="width of the cosine switch, σ")
    central_weight: float = Field(default=1.0, ge=0, description="weight of the centre's own density")
    normalise: bool = Field(default=False, description="divide each vector by its norm")


class SOAPQuippy(SOAPDescriptor):
    name = "soap-quippy"
    version = "1.0"
    Config = SOAPQuippyConfig
    requires = ("quippy", "ase")
    install_hint = "pip install 'localcond[quippy]'"
    description = "SOAP partial power spectrum of ion densities (QUIP/GAP via quippy), polynomial basis"

    @cached_property
    def descriptor_string(self) -> str:
        """The GAP descriptor string these options stand for."""
        config: SOAPQuippyConfig = self.config
        numbers = " ".join(str(stand_in_number(t)) for t in self.species_types)
        return (f"soap cutoff={config.r_cut} cutoff_transition_width={config.cutoff_transition_width} "
                f"n_max={config.n_max} l_max={config.l_max} atom_sigma={config.sigma} "
                f"central_weight={config.central_weight} n_species={len(self.species_types)} "
                f"species_Z={{{numbers}}} n_Z={len(self.species_types)} Z={{{numbers}}} "
                f"normalise={'T' if config.normalise else 'F'}")

    @cached_property
    def _descriptor(self):
        from quippy.descriptors import Descriptor

        return Descriptor(self.descriptor_string)

    @cached_property
    def _columns(self) -> list[tuple[str, str, int, int, int]]:
        """GAP's columns as (type 1, type 2, l, n1, n2), without its trailing constant."""
        config: SOAPQuippyConfig = self.config
        channels = [(t, n) for t in self.species_types for n in range(config.n_max)]
        return [(first, second, angular, n1, n2)
                for i, (second, n2) in enumerate(channels)
                for first, n1 in channels[:i + 1]
                for angular in range(config.l_max + 1)]

    def feature_names(self, types: tuple[str, ...]) -> list[str]:
        return [f"soap[{a},{b}]l{angular}n{n1},{n2}" for a, b, angular, n1, n2 in self._columns]

    def compute(self, frame: Frame, centers: np.ndarray) -> np.ndarray:
        subset = species_subset(frame, self.species_types, centers, self.name)
        result = self._descriptor.calc(subset.atoms)
        row_of_atom = {atom - 1: row for row, atom in enumerate(np.asarray(result["ci"]).ravel().tolist())}
        rows = [row_of_atom[atom] for atom in subset.centers.tolist()]
        values = np.asarray(result["data"])[rows, :len(self._columns)]
        return np.asarray(values, dtype=np.float32)
