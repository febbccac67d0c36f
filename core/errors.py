"""Errors the user can act on.

Every error a user can fix (a bad recipe, a missing plugin, a bad command-line
argument) is a :class:`UserError`. The CLI prints its message and exits with
status 2, never a traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """A problem with the user's input, reported without a traceback.

    Parameters
    ----------
    message:
        What is wrong and what was expected.
    source:
        The file (or other input) the problem is in, if any.
    path:
        The dotted location inside that file (e.g. ``descriptor.options.n_max``).
    line:
        The 1-based line number in ``source``, when known.
    """

    exit_code = 2

    def __init__(self, message: str, *, source: str | None = None, path: str | None = None,
                 line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.source = source
        self.path = path
        self.line = line

    def __str__(self) -> str:
        where = ""
        if self.source:
            where = self.source
            if self.line is not None:
                where += f":{self.line}"
            where += ": "
        if self.path:
            where += f"{self.path}: "
        return where + self.message


class RecipeError(UserError):
    """One or more problems in a recipe file; ``problems`` holds each as a UserError."""

    def __init__(self, problems: list[UserError]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


class DuplicatePluginError(Exception):
    """Two packages registered plugins of one kind under one name."""


class InvalidPluginError(Exception):
    """A registered plugin class that cannot be used: not a subclass of its kind's base, no name, or a
    Config that is not a pydantic model. The registry lists it as broken instead of failing."""


class PluginUnavailableError(UserError):
    """A recipe names a plugin whose optional engine is not installed."""
