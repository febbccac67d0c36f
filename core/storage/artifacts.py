"""Content-keyed, atomically published artifacts under a run's work directory.

An artifact is a directory ``<workdir>/<stage>/<label>-<key[:16]>/`` holding a
unit's output files and ``artifact.json`` (its key, inputs, plugin, file
checksums, wall time). It is written under a temporary name and renamed into
place only when complete, so a half-written artifact is never visible under
its final name; on reuse its checksums are verified.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

META_FILE = "artifact.json"
PARTIAL_MARK = ".partial-"
SCRATCH_SUFFIX = ".scratch"


class CorruptArtifactError(Exception):
    """An artifact whose files no longer match their recorded checksums."""


def cache_key(identity: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of everything a unit's output depends on."""
    text = json.dumps(identity, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def directory_checksums(directory: Path) -> dict[str, str]:
    """sha256 of every file under ``directory`` (but ``artifact.json``), by relative path."""
    return {str(p.relative_to(directory)): file_sha256(p)
            for p in sorted(directory.rglob("*")) if p.is_file() and p.name != META_FILE}


def combined_checksum(files: dict[str, str]) -> str:
    return cache_key(files)


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}{PARTIAL_MARK}{uuid.uuid4().hex[:8]}")
    try:
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        if exc.filename is None:  # a failed write names no file: name the one being written
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        raise
    except BaseException:  # Ctrl-C or SIGTERM mid-write: no half file is left beside the old one
        temporary.unlink(missing_ok=True)
        raise


class ArtifactStore:
    """Where each unit's artifact lives, and the publishing / verification of it."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def final_path(self, stage: str, label: str, key: str) -> Path:
        return self.root / stage / f"{label}-{key[:16]}"

    def scratch_path(self, stage: str, label: str, key: str) -> Path:
        return self.root / stage / f"{label}-{key[:16]}{SCRATCH_SUFFIX}"

    def new_partial(self, final: Path) -> Path:
        """A fresh, empty temporary directory beside ``final``."""
        partial = final.with_name(f"{final.name}{PARTIAL_MARK}{uuid.uuid4().hex[:8]}")
        partial.mkdir(parents=True)
        return partial

    def publish(self, partial: Path, final: Path, meta: dict[str, Any]) -> dict[str, Any]:
        """Record checksums in ``partial``'s meta file and rename it to ``final``; return the meta."""
        files = directory_checksums(partial)
        meta = {**meta, "files": files, "checksum": combined_checksum(files), "created": time.time()}
        atomic_write_text(partial / META_FILE, json.dumps(meta, indent=1, sort_keys=True))
        try:
            os.rename(partial, final)
        except OSError:
            if not final.exists():
                raise
            shutil.rmtree(partial, ignore_errors=True)  # an identical unit finished first
        return meta

    def verify(self, final: Path) -> dict[str, Any] | None:
        """The meta of a complete artifact, None if absent; CorruptArtifactError if tampered with."""
        meta_path = final / META_FILE
        if not final.is_dir():
            return None
        if not meta_path.is_file():
            raise CorruptArtifactError(f"{final}: no {META_FILE}")
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CorruptArtifactError(f"{final}: {META_FILE} is unreadable ({exc})") from exc
        if not isinstance(meta, dict) or not isinstance(meta.get("files"), dict):
            raise CorruptArtifactError(f"{final}: {META_FILE} is not an artifact record")
        actual = directory_checksums(final)
        if actual != meta.get("files"):
            changed = sorted(set(actual.items()) ^ set(meta.get("files", {}).items()))
            names = sorted({name for name, _ in changed})
            raise CorruptArtifactError(f"{final}: checksum mismatch in {', '.join(names)}")
        return meta

    def quarantine(self, final: Path) -> Path:
        """Move a corrupt artifact aside (kept for inspection) so it can be recomputed."""
        target = final.with_name(f"{final.name}.corrupt-{int(time.time())}")
        os.rename(final, target)
        return target

    def remove_stale_partials(self) -> int:
        """Delete temporary directories and files left by interrupted runs; return how many."""
        removed = 0
        if not self.root.exists():
            return 0
        for path in self.root.rglob(f"*{PARTIAL_MARK}*"):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed += 1
        return removed
