"""The ``cluster-nernst-einstein`` analysis (beyond the paper; its Fig. 1B): the ion-pair picture's Λ.

At each time origin t0 the ions are clustered: two unlike ions closer than
``cutoff`` (1.6σ, the first solvation shell) are joined, and connected
components are clusters. Each cluster is a carrier of net charge
q_c = Σ_{i∈c} z_i (n₊ − n₋ for the model's ±1 ions) whose centre of mass (the
trajectory's masses; equal beads in the model) moves by ΔR_c(t). Carriers are
independent in this picture, so

    Λ_cNE = 1 / (6 kT V c) · d/dt Σ_c q_c² ⟨|ΔR_c(t)|²⟩,

the slope taken over the transport stage's diffusive window of that system,
with c the concentration Λ is per (formula units of a salt, N₊/V for 1:1;
equivalents of a mixture; the transport row's ``formula_concentration``). Free ions alone give back the Nernst–Einstein Λ_NE; neutral pairs
carry nothing. Clusters are those of the time origin, followed as carriers
through the window even if they break up meanwhile (the pure ion-pair
picture): where clusters live shorter than the window, as in concentrated
systems, this underestimates Λ, which is part of what the comparison shows.
Per system (mean ± std over replicas) this is set beside the true Λ, Λ_NE and
the learned model's prediction, so the report says how much better local
learning does than the ion-pair picture. ``true_err`` is the standard error of the
true Λ (the transport stage's ``molar_conductivity_err``, as ``true_err`` in
predictions.csv), ``cluster_nernst_einstein_std`` the scatter over replicas.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import Field

from core.api import (LOG_KT, AnalysisInputs, AnalysisResult, Frame, PluginConfig, Prediction, SystemAnalysis,
                      SystemView, cluster_components, identity_line, pyplot, r2_score, row_columns, save_figure,
                      unwrap)

#: The estimates set against the true Λ: (row field, label, colour).
ESTIMATES = (("nernst_einstein", "Nernst–Einstein", "#9e9e9e"),
             ("cluster_nernst_einstein", "cluster Nernst–Einstein", "#d62728"),
             ("learned", "local learning", "#1f77b4"))


@dataclass(frozen=True)
class ReplicaClusterNE:
    """One trajectory's Λ_cNE (reduced) and the fraction of its ions free at the time origins."""

    lambda_cne: float
    free_fraction: float


@dataclass(frozen=True)
class ClusterNernstEinsteinRow:
    """One system of ``cluster_nernst_einstein.csv`` (Λ in reduced units): the true Λ ± its standard error,
    Nernst–Einstein, cluster Nernst–Einstein (mean and std over replicas), the free fraction, the learned Λ."""

    system: str
    split: str
    concentration: float
    bjerrum_length: float
    true: float
    true_err: float
    nernst_einstein: float
    cluster_nernst_einstein: float
    cluster_nernst_einstein_std: float
    free_fraction: float
    learned: float


class ClusterNernstEinsteinConfig(PluginConfig):
    """Clustering distance and time origins."""

    cutoff: float = Field(default=1.6, gt=0, description="unlike ions closer than this share a cluster, σ")
    max_origins: int = Field(default=50, ge=1, description="time origins per replica, evenly spaced")


def cluster_labels(positions: np.ndarray, sign: np.ndarray, box: np.ndarray, cutoff: float) -> np.ndarray:
    """(n,) cluster index of each ion: connected components of unlike pairs closer than ``cutoff`` (σ)
    (:func:`core.api.cluster_components`, the classes of the ``mechanisms`` analysis)."""
    return cluster_components(positions, sign, box, cutoff)


def charged_cluster_msd(unwrapped: np.ndarray, valence: np.ndarray, origin_labels: list[np.ndarray],
                        origins: np.ndarray, max_lag: int, masses: np.ndarray | None = None) -> np.ndarray:
    """(max_lag + 1,) Σ_c q_c² |ΔR_c|² per lag in frames, averaged over ``origins``.

    ``unwrapped``: (n_frames, n_ions, 3) unwrapped ion positions, σ; ``valence`` (n_ions,) z of each ion;
    ``origin_labels``: the :func:`cluster_labels` of each origin's frame; ``masses`` (n_ions,) for each
    cluster's centre of mass (None: equal).
    """
    weight = np.ones(len(valence)) if masses is None else np.asarray(masses, dtype=np.float64)
    total = np.zeros(max_lag + 1)
    used = np.zeros(max_lag + 1)
    for origin, labels in zip(origins, origin_labels):
        n_clusters = labels.max() + 1
        size = np.bincount(labels, weights=weight, minlength=n_clusters)
        charge = np.bincount(labels, weights=valence, minlength=n_clusters)
        lags = min(max_lag, len(unwrapped) - 1 - origin)
        displacement = unwrapped[origin + 1:origin + lags + 1] - unwrapped[origin]  # (lags, n_ions, 3)
        for lag in range(1, lags + 1):
            centre = np.stack([np.bincount(labels, weights=weight * displacement[lag - 1, :, a],
                                           minlength=n_clusters)
                               for a in range(3)], axis=1) / size[:, None]
            total[lag] += float(np.sum(charge ** 2 * np.sum(centre ** 2, axis=1)))
            used[lag] += 1
    with np.errstate(invalid="ignore"):
        return np.where(used > 0, total / np.maximum(used, 1), np.nan)


def replica_cluster_ne(frames: Iterable[Frame], kT: float, cutoff: float, window: tuple[float, float],
                       max_origins: int, formula_concentration: float | None = None) -> ReplicaClusterNE:
    """Λ_cNE of one trajectory (reduced units) and the fraction of ions that are free at the origins.

    ``frames``: the replica's frames in order; ``kT``: its temperature (energy units);
    ``formula_concentration``: what Λ is per, σ⁻³ (the transport row's); None: cations per volume.
    """
    positions, times, sign, box, valence, masses = [], [], None, None, None, None
    for frame in frames:
        ions = frame.ion_indices
        if sign is None:
            sign, box = frame.ion_sign[ions].astype(np.int64), np.asarray(frame.box, dtype=np.float64)
            valence = frame.valence[ions] if frame.valence is not None else sign.astype(np.float64)
            masses = frame.masses[ions] if frame.masses is not None else None
        positions.append(unwrap(frame.positions[ions], frame.image[ions], frame.box))
        times.append(frame.time)
    unwrapped, times = np.asarray(positions), np.asarray(times) - times[0]
    interval = times[1] - times[0]
    max_lag = int(np.floor(window[1] / interval + 1e-9))
    origins = np.unique(np.linspace(0, max(len(times) - 1 - max_lag, 0), max_origins).astype(int))
    origin_labels = [cluster_labels(unwrapped[o], sign, box, cutoff) for o in origins]
    msd = charged_cluster_msd(unwrapped, valence, origin_labels, origins, max_lag, masses)
    lag_times = np.arange(max_lag + 1) * interval
    inside = (lag_times >= window[0]) & (lag_times <= window[1]) & np.isfinite(msd) & (lag_times > 0)
    if inside.sum() < 2:
        return ReplicaClusterNE(float("nan"), float("nan"))
    slope = np.polyfit(lag_times[inside], msd[inside], 1)[0]
    volume = float(np.prod(box))
    concentration = formula_concentration or int(np.sum(sign > 0)) / volume
    free = [np.mean(np.bincount(labels)[labels] == 1) for labels in origin_labels]
    return ReplicaClusterNE(slope / (6.0 * kT * volume * concentration), float(np.mean(free)))


def _learned(prediction: Prediction | None) -> float:
    """The learned Λ of a system: its outer-fold prediction where there is one, else the ensemble's (NaN
    without a prediction)."""
    if prediction is None:
        return float("nan")
    cross = prediction.cross_predicted.value
    return cross if np.isfinite(cross) else prediction.predicted.value


class ClusterNernstEinstein(SystemAnalysis):
    name = "cluster-nernst-einstein"
    version = "1.3"
    Config = ClusterNernstEinsteinConfig
    title = "Cluster Nernst–Einstein against local learning"
    paper_figure = "Fig. 1B"
    table = "cluster_nernst_einstein.csv"
    columns = row_columns(ClusterNernstEinsteinRow)
    systems_from = "transport"
    system_needs = frozenset({"transport"})
    requires = ("matplotlib", "scipy")
    description = "cluster Nernst–Einstein Λ (ion-pair picture) beside the learned model's (paper Fig. 1B)"
    needs = frozenset({"transport", "trajectories"})

    missing_reasons = {
        "r2": "fewer than two systems with this estimate, or no spread of Λ",
        "rmse": "no system with this estimate",
        "learned": "no model prediction for this system", "cluster_nernst_einstein*": "no clusters found"}

    def per_system(self, view: SystemView) -> ClusterNernstEinsteinRow | None:
        config: ClusterNernstEinsteinConfig = self.config
        transport = view.transport
        window = (float(transport.window.t0), float(transport.window.t1))
        if not view.replicas() or not np.all(np.isfinite(window)) or window[1] <= window[0]:
            self.note(f"{view.name}: no trajectory or diffusive window, skipped")
            return None
        concentration = float(transport.formula_concentration or "nan")
        replicas = [replica_cluster_ne(view.frames(replica), float(view.replica_log(replica).get(LOG_KT, 1.0)),
                                       config.cutoff, window, config.max_origins,
                                       concentration if np.isfinite(concentration) else None)
                    for replica in range(view.replicas())]
        values = np.array([r.lambda_cne for r in replicas])
        label = transport.molar_conductivity
        return ClusterNernstEinsteinRow(view.name, view.split or "", transport.concentration,
                                        transport.bjerrum_length, label.value, label.err,
                                        transport.molar_conductivity_ne.value, float(np.nanmean(values)),
                                        float(np.nanstd(values)), float(np.mean([r.free_fraction for r in replicas])),
                                        _learned(view.prediction))

    def conclude(self, rows: list[ClusterNernstEinsteinRow], inputs: AnalysisInputs, result: AnalysisResult,
                 output_dir: Path) -> None:
        if not rows:
            return
        true = np.array([r.true for r in rows])
        for column, _, _ in ESTIMATES:
            estimate = np.array([getattr(r, column) for r in rows], dtype=float)
            ok = np.isfinite(estimate)
            result.numbers[column] = {"n_systems": int(ok.sum()), "r2": r2_score(true[ok], estimate[ok]),
                                      "rmse": float(np.sqrt(np.mean((true[ok] - estimate[ok]) ** 2)))
                                      if ok.any() else float("nan")}
        result.notes.append("learned: outer-fold predictions where the run has them, else the ensemble's")
        result.figures += self._figure(rows, output_dir)

    @staticmethod
    def _figure(rows: list[ClusterNernstEinsteinRow], output_dir: Path) -> list[str]:
        plt = pyplot()
        figure, axes = plt.subplots(figsize=(4.8, 4.5))
        true = [r.true for r in rows]
        for column, label, colour in ESTIMATES:
            axes.plot(true, [getattr(r, column) for r in rows], "o", ms=4, color=colour, label=label)
        identity_line(axes, [v for r in rows for v in (r.true, r.cluster_nernst_einstein, r.learned)])
        axes.set_xlabel("true Λ (reduced)")
        axes.set_ylabel("estimated Λ (reduced)")
        axes.legend(frameon=False, fontsize=8)
        figure.tight_layout()
        return save_figure(figure, output_dir, "cluster_nernst_einstein")
