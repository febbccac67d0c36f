"""Built-in model plugins, registered through the ``localcond`` entry-point group like any other package's."""

from __future__ import annotations

from core.api import ModelPlugin, PluginRegistry, hookimpl

from .nn_ensemble import NNEnsemble
from .ridge import RidgeModel

#: The built-in model plugin classes.
BUILTIN: list[type[ModelPlugin]] = [NNEnsemble, RidgeModel]


@hookimpl
def localcond_register_models(registry: PluginRegistry) -> list[type[ModelPlugin]]:
    return list(BUILTIN)
