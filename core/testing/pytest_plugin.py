"""localcond's pytest plugin (the ``pytest11`` entry point): the ``localcond_runner`` fixture, and nothing
else imported until a test asks for it."""

from __future__ import annotations

import pytest


@pytest.fixture
def localcond_runner(tmp_path):
    """A :class:`core.testing.LocalcondRunner` working in the test's ``tmp_path``."""
    from core.testing.runner import LocalcondRunner

    return LocalcondRunner(tmp_path)
