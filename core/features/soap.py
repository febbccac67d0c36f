"""What the three SOAP descriptor plugins share: their common options (the paper's defaults) and the species
whose densities enter the spectrum. Each plugin adds its library's own options and computes the spectrum.
"""

from __future__ import annotations

from pydantic import Field

from core.features.ase_frames import species_in_element_order
from core.plugin_system.plugin_api import DescriptorPlugin, PluginConfig
from core.recipe import defaults


class SOAPOptions(PluginConfig):
    """SOAP hyperparameters every SOAP plugin takes; defaults are the paper's (lengths in σ)."""

    r_cut: float = Field(default=defaults.SOAP_R_CUT, gt=1.0, description="neighbour cutoff, σ")
    n_max: int = Field(default=defaults.SOAP_N_MAX, ge=1, le=20, description="radial basis functions")
    l_max: int = Field(default=defaults.SOAP_L_MAX, ge=0, le=12, description="highest spherical harmonic degree")
    sigma: float = Field(default=defaults.SOAP_SIGMA, gt=0,
                         description="Gaussian width of each neighbour's density, σ")
    include_solvent: bool = Field(default=False, description="add the solvent density as a third species")


class SOAPDescriptor(DescriptorPlugin):
    """The base of a SOAP plugin: its options subclass :class:`SOAPOptions`."""

    @property
    def species_types(self) -> tuple[str, ...]:
        """Particle types whose densities enter the spectrum, in the stand-ins' atomic-number order."""
        return species_in_element_order(self.config.include_solvent)
