"""Artifacts and the files of a run: names and readers, checksums, checkpoints, the manifest, run-level tables and provenance."""
