"""Hook specifications: how plugins add simulators, descriptors, models and analyses.

A plugin package exposes a module (or object) holding functions marked with
:data:`hookimpl`, and names it in its ``pyproject.toml``::

    [project.entry-points.localcond]
    my-descriptors = "my_package.localcond_plugin"

Each hook receives the :class:`core.plugin_system.registry.PluginRegistry` being built (so
an implementation can see what is already registered) and returns a list of
plugin *classes* (subclasses of the base classes in :mod:`core.plugin_system.plugin_api`).
Built-in plugins register through exactly these hooks, from the same
entry-point group.

Every hook is called once, when the registry is built (at CLI start-up and
once per worker process). Results from all implementations are concatenated;
the order of the combined list does not matter. Two classes of one kind with
one ``name`` are an error naming both packages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from core.plugin_system.plugin_api import AnalysisPlugin, DescriptorPlugin, ModelPlugin, SimulatorPlugin
    from core.plugin_system.registry import PluginRegistry

PROJECT_NAME = "localcond"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def localcond_register_simulators(registry: PluginRegistry) -> list[type[SimulatorPlugin]]:
    """Return simulator plugin classes: each turns one replica of one system into a GSD trajectory.

    Called once per registry build. Results of all implementations are concatenated.
    """


@hookspec
def localcond_register_descriptors(registry: PluginRegistry) -> list[type[DescriptorPlugin]]:
    """Return descriptor plugin classes: each turns a snapshot into one vector per ion.

    Called once per registry build. Results of all implementations are concatenated.
    """


@hookspec
def localcond_register_models(registry: PluginRegistry) -> list[type[ModelPlugin]]:
    """Return model plugin classes: each learns local conductivities k_i = f(x_i).

    Called once per registry build. Results of all implementations are concatenated.
    """


@hookspec
def localcond_register_analyses(registry: PluginRegistry) -> list[type[AnalysisPlugin]]:
    """Return analysis plugin classes: each turns a finished run into figures, tables and numbers.

    Called once per registry build. Results of all implementations are concatenated.
    """
