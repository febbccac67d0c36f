"""What a finished run offers to analyses: :class:`AnalysisInputs`, which loads each file once.

It lives here rather than in :mod:`core.datatypes` because its loaders reach into the stages' storage
(feature stores, attributions, trajectories, local conductivities); the data types below it import none of
that.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.datatypes import SystemSpec
from core.results import Prediction, SystemTransport


@dataclass
class AnalysisInputs:
    """Everything a finished run offers to analyses (absent parts are empty).

    Attributes
    ----------
    systems: every system of the recipe.
    transport: the :class:`core.results.SystemTransport` of every system with a transport result.
    feature_stores: system name -> HDF5 feature store path.
    predictions: the :class:`core.results.Prediction` of every predicted system.
    local_conductivities: system name -> ``.npz`` with ``k_mean`` and ``k_std``
        per environment, aligned with that system's feature store.
    metrics: headline numbers of the learn stage.
    trajectories: system name -> GSD trajectory of each replica, in replica order
        (a feature store's ``replica`` column indexes this list).
    attributions: system name -> the transport stage's ``attribution.npz`` (each ion's measured share of Λ at
        every frame, :mod:`core.transport.attribution`), where transport measured it.

    Analyses read through :meth:`local`, :meth:`environments` and :meth:`frames`, which load each file
    once and hand out arrays, rather than opening the paths themselves.
    """

    systems: list[SystemSpec]
    transport: list[SystemTransport] = field(default_factory=list)
    feature_stores: dict[str, Path] = field(default_factory=dict)
    predictions: list[Prediction] = field(default_factory=list)
    local_conductivities: dict[str, Path] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    trajectories: dict[str, list[Path]] = field(default_factory=dict)
    attributions: dict[str, Path] = field(default_factory=dict)
    _loaded: dict[tuple[str, str], Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def local(self, system: str):
        """``system``'s local conductivities (:class:`core.analysis.local_conductivity.LocalConductivity`: k, member
        spread and posterior std per environment of its feature store), loaded once."""
        from core.analysis.local_conductivity import load_local

        return self._once(("local", system), lambda: load_local(self.local_conductivities[system]))

    def environments(self, system: str) -> dict[str, np.ndarray]:
        """``system``'s per-environment columns (``replica``, ``frame``, ``ion_index``, ``charge_sign``,
        ``bonded``, ``nearest_unlike``; each (n_env,)), loaded once without the features themselves."""
        from core.features.store import read_store

        return self._once(("environments", system),
                          lambda: read_store(self.feature_stores[system], features=False).environments)

    def attribution(self, system: str):
        """``system``'s measured attribution (:class:`core.transport.attribution.SystemAttribution`), loaded once."""
        from core.transport.attribution import load_attribution

        return self._once(("attribution", system), lambda: load_attribution(self.attributions[system]))

    def positions(self, system: str):
        """``system``'s replicas' unwrapped ion positions (:class:`core.transport.replica_files.ReplicaPositions`,
        one per replica, in replica order), read once."""
        from core.transport.replica_files import replica_positions

        return self._once(("positions", system), lambda: [replica_positions(path) for path in self.trajectories[system]])

    def frames(self, system: str, replica: int, indices: list[int] | None = None):
        """The frames ``indices`` (all, by default) of ``system``'s replica ``replica``, one at a time (an
        iterator of :class:`Frame`; memory is one frame)."""
        from core.md.trajectory import read_frames

        return read_frames(self.trajectories[system][replica], None if indices is None else list(indices))

    def replica_log(self, system: str, replica: int) -> dict[str, float | str]:
        """The ``localcond/*`` log values of ``system``'s replica ``replica`` (kT, time step, ...), read once."""
        from core.md.trajectory import read_log

        return self._once(("log", f"{system}/{replica}"), lambda: read_log(self.trajectories[system][replica]))

    def _once(self, key: tuple[str, str], load):
        if key not in self._loaded:
            self._loaded[key] = load()
        return self._loaded[key]
