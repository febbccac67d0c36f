"""localcond core: hook specs, plugin registry, recipes, the cached pipeline on Dask, and the CLI.

Plugin authors import from :mod:`core.api` only (the versioned public API: base classes, data types,
``hookimpl``) and test with :mod:`core.testing` (the plugin-author kit).
"""

from core.plugin_system.hookspecs import hookimpl

__all__ = ["hookimpl"]
