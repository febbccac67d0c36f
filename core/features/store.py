"""The feature store: one HDF5 file per system holding a vector per ion environment.

Layout (documented so that features computed elsewhere can be brought in):

``/features``          (n_env, dim) float32, chunked — the descriptor vectors
``/environments/replica``        (n_env,) int32  — replica index
``/environments/frame``          (n_env,) int64  — frame index in that replica's trajectory
``/environments/ion_index``      (n_env,) int64  — particle index in the frame
``/environments/charge_sign``    (n_env,) int8   — +1 cation, -1 anion
``/environments/bonded``         (n_env,) bool   — the ion is in a harmonic pair
``/environments/nearest_unlike`` (n_env,) float32 — minimum-image distance to the nearest unlike ion, σ
attributes: ``system``, ``descriptor``, ``descriptor_version``, ``options`` (JSON),
``feature_names`` (JSON list), ``stride`` (frames between snapshots), ``pair_lifetime``
(cation–anion contact lifetime, τ; NaN when not estimated), ``complete`` (True once fully written).

A store without ``complete = True`` is never read.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ENVIRONMENT_FIELDS: dict[str, Any] = {
    "replica": np.int32, "frame": np.int64, "ion_index": np.int64,
    "charge_sign": np.int8, "bonded": np.bool_, "nearest_unlike": np.float32,
}


class IncompleteStoreError(ValueError):
    """A feature store that was not completely written."""


class FeatureStoreWriter:
    """Appends blocks of environments to a new store; :meth:`close` writes it, marked complete.

    The store is built in memory (HDF5's ``core`` driver, no backing file) and written to ``path`` in one
    plain write when it is complete. HDF5 never writes to the disk itself: a disk that fills under the
    library left files half-closed and crashed the interpreter later (a segmentation fault with no message);
    a full disk now fails the final write with an ordinary ``OSError`` (ENOSPC). Memory: the store's size
    (environments × features × 4 bytes), twice for a moment while it is written.
    """

    def __init__(self, path: Path, *, dim: int, attributes: dict[str, Any], chunk_rows: int = 4096) -> None:
        import h5py

        self._path = Path(path)
        # a name of its own: HDF5 refuses two open files of one name, even in memory
        self._file = h5py.File(f"{uuid.uuid4().hex}-{self._path.name}", "w", driver="core", backing_store=False)
        self._file.attrs["complete"] = False
        for key, value in attributes.items():
            self._file.attrs[key] = json.dumps(value) if isinstance(value, (dict, list)) else value
        self._features = self._file.create_dataset("features", shape=(0, dim), maxshape=(None, dim),
                                                   dtype=np.float32, chunks=(min(chunk_rows, 4096), dim))
        group = self._file.create_group("environments")
        self._columns = {name: group.create_dataset(name, shape=(0,), maxshape=(None,), dtype=dtype,
                                                    chunks=(chunk_rows,))
                         for name, dtype in ENVIRONMENT_FIELDS.items()}

    def append(self, features: np.ndarray, **columns: np.ndarray) -> None:
        """Add ``features`` (n, dim) and each environment column (n,)."""
        n = features.shape[0]
        start = self._features.shape[0]
        self._features.resize(start + n, axis=0)
        self._features[start:] = features.astype(np.float32)
        for name, dataset in self._columns.items():
            dataset.resize(start + n, axis=0)
            dataset[start:] = np.asarray(columns[name]).astype(dataset.dtype)

    def close(self, complete: bool = True) -> None:
        """Write the store to its path, marked complete; ``complete=False`` (the failure path) writes nothing."""
        if not complete:
            self._file.close()
            return
        self._file.attrs["complete"] = True
        self._file.flush()
        image = self._file.id.get_file_image()
        self._file.close()
        with open(self._path, "wb") as handle:
            handle.write(image)


@dataclass
class FeatureStore:
    """A complete store read into memory (features as float32)."""

    features: np.ndarray
    environments: dict[str, np.ndarray]
    attributes: dict[str, Any]

    @property
    def feature_names(self) -> list[str]:
        return list(self.attributes.get("feature_names", []))


def read_store(path: Path, *, features: bool = True) -> FeatureStore:
    """Read a store; IncompleteStoreError if it was never marked complete."""
    import h5py

    with h5py.File(path, "r") as handle:
        if not bool(handle.attrs.get("complete", False)):
            raise IncompleteStoreError(f"{path}: feature store is incomplete (writing was interrupted)")
        attributes: dict[str, Any] = {}
        for key, value in handle.attrs.items():
            if isinstance(value, str) and value[:1] in "[{":
                value = json.loads(value)
            attributes[key] = value.item() if isinstance(value, np.generic) else value
        environments = {name: handle["environments"][name][()] for name in ENVIRONMENT_FIELDS}
        data = handle["features"][()] if features else np.zeros((len(environments["replica"]), 0), np.float32)
    return FeatureStore(data, environments, attributes)
