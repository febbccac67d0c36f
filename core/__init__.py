"""localcond core: hook specs, plugin registry, recipes, the cached pipeline on Dask, and the CLI.

Plugin authors need :data:`core.hookspecs.hookimpl`, the base classes in
:mod:`core.plugin_api` and the data types in :mod:`core.datatypes`.
"""

from core.hookspecs import hookimpl

__all__ = ["hookimpl"]
