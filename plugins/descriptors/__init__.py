"""Built-in descriptor plugins, registered through the ``localcond`` entry-point group like any other package's."""

from __future__ import annotations

from core.api import DescriptorPlugin, PluginRegistry, hookimpl

from .radial_shells import RadialShells
from .soap_dscribe import SOAPDScribe
from .soap_featomic import SOAPFeatomic
from .soap_quippy import SOAPQuippy

#: The built-in descriptor plugin classes.
BUILTIN: list[type[DescriptorPlugin]] = [SOAPDScribe, SOAPFeatomic, SOAPQuippy, RadialShells]


@hookimpl
def localcond_register_descriptors(registry: PluginRegistry) -> list[type[DescriptorPlugin]]:
    return list(BUILTIN)
