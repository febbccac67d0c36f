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
from pydantic import Field

from core.api import (STAND_IN_ELEMENTS, DescriptorPlugin, Frame, PluginConfig, species_in_element_order,
                      species_subset)


class SOAPConfig(PluginConfig):
    """SOAP hyperparameters; defaults are the paper's (lengths in σ)."""

    r_cut: float = Field(default=5.0, gt=1.0, description="neighbour cutoff, σ")
    n_max: int = Field(default=6, ge=1, le=20, description="radial basis functions")
    l_max: int = Field(default=5, ge=0, le=12, description="highest spherical harmonic degree")
    sigma: float = Field(default=1.0, gt=0, description="Gaussian width of each neighbour's density, σ")
    rbf: Literal["gto", "polynomial"] = "gto"
    include_solvent: bool = Field(default=False, description="add the solvent density as a third species")


class SOAPDScribe(DescriptorPlugin):
    name = "soap-dscribe"
    version = "1.0"
    Config = SOAPConfig
    requires = ("dscribe", "ase")
    install_hint = "pip install 'localcond[dscribe]'"
    description = "SOAP partial power spectrum of ion densities (DScribe), the paper's descriptor"

    @property
    def species_types(self) -> tuple[str, ...]:
        """Particle types whose densities enter the spectrum, in the stand-ins' atomic-number order."""
        return species_in_element_order(self.config.include_solvent)

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
