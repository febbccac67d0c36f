"""Built-in descriptor plugins, registered through the ``localcond`` entry-point group like any other package's."""

from __future__ import annotations

from core.hookspecs import hookimpl
from core.plugin_api import DescriptorPlugin
from core.registry import PluginRegistry

#: The built-in descriptor plugin classes.
BUILTIN: list[type[DescriptorPlugin]] = []


@hookimpl
def localcond_register_descriptors(registry: PluginRegistry) -> list[type[DescriptorPlugin]]:
    return list(BUILTIN)
