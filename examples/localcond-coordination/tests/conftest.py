"""The package is tested from its source tree, not installed: its directory goes on the import path.

localcond itself must be installed (it brings the kit: ``core.testing``, loaded by pytest through its
``pytest11`` entry point, which provides the ``localcond_runner`` fixture)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
