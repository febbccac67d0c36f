"""Where a run's code came from: the commit of localcond's source tree, for the report's provenance."""

from __future__ import annotations

import subprocess
from functools import lru_cache
from pathlib import Path

#: localcond's source tree (the parent of ``core/``).
SOURCE = Path(__file__).resolve().parents[2]


@lru_cache(maxsize=1)
def source_commit() -> str:
    """``<commit>`` of the checkout localcond runs from, ``<commit> + uncommitted changes`` where its tracked
    files differ from that commit, or a sentence saying why there is none (not a git checkout, no git)."""
    try:
        commit = subprocess.run(["git", "-C", str(SOURCE), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=10)
        if commit.returncode != 0:
            return "unknown (not run from a git checkout)"
        status = subprocess.run(["git", "-C", str(SOURCE), "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown (git is not available)"
    dirty = " + uncommitted changes" if status.returncode == 0 and status.stdout.strip() else ""
    return commit.stdout.strip() + dirty
