"""The ``soap-dscribe`` descriptor: the paper's SOAP partial power spectrum, computed by DScribe.

Definition (DScribe 2.x ``SOAP``): Gaussian densities of width ``sigma`` on
every neighbour within ``r_cut`` (eq. 13 of the paper), expanded on ``n_max``
radial functions and spherical harmonics up to ``l_max`` (eqs. 14–16), and
the partial power spectrum p^{Z Z'}_{n n' l} over every pair of species.

- Radial basis: ``rbf="gto"`` (default, the paper's): DScribe's orthonormalised
  Gaussian-type orbitals r^l exp(−α r²); ``"polynomial"``: DScribe's
  polynomial basis of Caro et al.
- Cutoff smoothing: none beyond DScribe's own: a neighbour counts if it lies
  within ``r_cut``; the GTO basis decays to ~0 there by construction.
- Normalisation: none (DScribe's raw power spectrum, no division by its norm).
- Species: cation and anion densities (and solvent when ``include_solvent``);
  particle types stand in as elements (cation Na, anion Cl, solvent Ar) only
  inside the call (:mod:`core.features.ase_frames`).

With the defaults the vector has 468 entries: for cation–cation and anion–anion
21 (n ≤ n') pairs × 6 l each, for cation–anion all 36 (n, n') pairs × 6 l.
"""

from __future__ import annotations

from functools import cached_property
from typing import Literal

import numpy as np

from core.api import STAND_IN_ELEMENTS, Frame, SOAPDescriptor, SOAPOptions, species_subset


class SOAPConfig(SOAPOptions):
    """SOAP hyperparameters: the shared ones (:class:`core.api.SOAPOptions`, the paper's defaults) and this
    library's own (lengths in σ)."""

    rbf: Literal["gto", "polynomial"] = "gto"


class SOAPDScribe(SOAPDescriptor):
    name = "soap-dscribe"
    version = "1.0"
    Config = SOAPConfig
    requires = ("dscribe", "ase")
    install_hint = "pip install 'localcond[dscribe]'"
    description = "SOAP partial power spectrum of ion densities (DScribe), the paper's descriptor"

    @cached_property
    def _soap(self):
        from dscribe.descriptors import SOAP

        config: SOAPConfig = self.config
        return SOAP(species=[STAND_IN_ELEMENTS[t] for t in self.species_types], r_cut=config.r_cut,
                    n_max=config.n_max, l_max=config.l_max, sigma=config.sigma, rbf=config.rbf, periodic=True,
                    sparse=False, dtype="float64")

    def feature_names(self, types: tuple[str, ...]) -> list[str]:
        soap = self._soap
        names = [""] * soap.get_number_of_features()
        for i, first in enumerate(self.species_types):
            for second in self.species_types[i:]:
                block = soap.get_location((STAND_IN_ELEMENTS[first], STAND_IN_ELEMENTS[second]))
                for k, column in enumerate(range(block.start, block.stop)):
                    names[column] = f"soap[{first},{second}]{k}"
        return names

    def compute(self, frame: Frame, centers: np.ndarray) -> np.ndarray:
        subset = species_subset(frame, self.species_types, centers, self.name)
        features = self._soap.create(subset.atoms, centers=subset.centers.tolist(), n_jobs=1)
        return np.asarray(features, dtype=np.float32).reshape(len(subset.centers), -1)
