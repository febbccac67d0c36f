"""Hook implementations of the example package: one descriptor plugin.

localcond calls ``localcond_register_descriptors`` once at start-up (through
the ``localcond`` entry point in ``pyproject.toml``) and registers every
class returned, exactly as it registers its own built-in plugins.
"""

from __future__ import annotations

from core.api import hookimpl

from localcond_coordination.descriptor import Coordination


@hookimpl
def localcond_register_descriptors(registry):
    return [Coordination]
