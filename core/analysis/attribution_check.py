"""Learned local k against the measured attribution, over groups of one system's environments.

The transport stage measures each ion's Green–Kubo share of Λ at every frame
(:mod:`core.transport.attribution`): m_i(s) = k(x_i(s)) + e_i(s), where the noise e has zero mean given
the configuration at s. So the mean of m over any group of environments chosen from the configuration
at s (a bin of the distance to the nearest unlike ion, a coordination number, near or far) estimates the
mean local conductivity of that group without bias, and a figure built on learned k can say, group by
group, whether the data agree with it. What one noisy label per environment cannot fix is anything
non-linear in k of a single environment (the fraction of k below zero, a histogram's shape); the
analyses say so where they show such a thing.

Errors: one treatment for every group mean and every contrast. The ions of one frame share their ΔM and
frames closer than a current window share part of it, so environments are grouped into blocks of frames
one current window apart (:func:`core.transport.attribution.frame_blocks`). With a cutoff each stored
share is its near part plus the far part's mean F_z of its valence, measured over all frames of the run;
a group's mean is then Σ (near) / n + Σ_z f_z F_z, f_z the group's fraction of valence z, so the far part's
error enters once per valence, weighted by each group's valence mix, and cancels in a contrast only
between groups of the same mix. :func:`compare_groups` takes the covariance of the group means from a
delete-one-block jackknife that recomputes F_z without the deleted block as well (the far sums of every
frame of the run, per block and valence): correlations between groups, between valences and between near
and far parts are all in it. ``tests/test_attribution.py`` checks it against the scatter of independent
realisations of a 2:1 salt with a 1:1 co-salt.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated

import numpy as np
from pydantic import AfterValidator

from core.analysis.inputs import AnalysisInputs
from core.transport.attribution import SystemAttribution, frame_blocks


def _increasing_edges(edges: list[float]) -> list[float]:
    if not all(math.isfinite(e) and e > 0 for e in edges) or any(b <= a for a, b in zip(edges, edges[1:])):
        raise ValueError("bin edges must be finite, positive and increasing (σ)")
    return edges


#: An option type for inner bin edges of a distance (σ), e.g. to the nearest unlike ion: finite, positive,
#: strictly increasing. Use it as a plugin option's annotation (``distance_bins: DistanceBinEdges = Field(…)``).
DistanceBinEdges = Annotated[list[float], AfterValidator(_increasing_edges)]


@dataclass(frozen=True)
class Contrast:
    """One group's mean minus another's (reduced Λ): learned, measured, the measured one's standard error,
    and z = (learned − measured)/measured_err (NaN where the error is not positive)."""

    learned: float
    measured: float
    measured_err: float
    z: float


@dataclass(frozen=True)
class GroupSpread:
    """The occupancy-weighted variance of group means (reduced Λ²), learned and measured (noise subtracted),
    the measured one's standard error, over ``n_groups`` usable groups (NaN values where fewer than two)."""

    learned: float
    measured: float
    measured_err: float
    n_groups: int


@dataclass(frozen=True)
class FarBlocks:
    """The far part of every ion at every frame of a run, summed per block of frames and valence class.

    labels: (B,) block labels (:func:`core.transport.attribution.frame_blocks`); sums, counts: (B, Z) the sum
    and number of far-part values per block and valence class (``MeasuredShares.valence_class``'s classes).
    """

    labels: np.ndarray
    sums: np.ndarray
    counts: np.ndarray

    def means(self, deleted: int | None = None) -> np.ndarray:
        """(Z,) F_z, the far part's mean per valence class, over every block or all but block ``deleted``."""
        sums, counts = self.sums.sum(axis=0), self.counts.sum(axis=0)
        if deleted is not None:
            sums, counts = sums - self.sums[deleted], counts - self.counts[deleted]
        return np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)


@dataclass(frozen=True)
class MeasuredShares:
    """The measured attribution of every environment of one system's feature store.

    measured: (n_env,) m_i(s), reduced Λ units; NaN where the current window leaves the run.
    blocks: (n_env,) int64 block labels (environments of one block share noise).
    learned: (n_env,) the ensemble-mean learned k; NaN for bonded ions (they have none).
    common_err: the largest standard error of a far part's mean (0 without a cutoff); for reference only, the
        errors of :func:`compare_groups` carry the far part through ``far``.
    valence_class: (n_env,) int64 each environment's valence class (index into the attribution's valences).
    far: the far part's block sums over the whole run (None without a cutoff).
    """

    measured: np.ndarray
    blocks: np.ndarray
    learned: np.ndarray
    common_err: float
    valence_class: np.ndarray | None = None
    far: FarBlocks | None = None

    @property
    def usable(self) -> np.ndarray:
        """(n_env,) bool: environments with both a learned k and a measurement."""
        return np.isfinite(self.learned) & np.isfinite(self.measured)


@dataclass(frozen=True)
class GroupComparison:
    """Mean learned k against mean measured attribution per group of one system's environments.

    Every array is (n_groups,), in group order; groups without a usable environment hold NaN.
    n_environments: environments with both a learned k and a measurement.
    learned: the mean learned k (taken as exact: its own uncertainty is the model's, not the data's).
    measured, measured_err: the mean attribution and its standard error, the far part's included (the
        jackknife's, where ``covariance`` is given).
    common_err: an error shared by every group on top of ``measured_err`` (0 with a jackknife covariance,
        which holds it).
    covariance: (n_groups, n_groups) the jackknife covariance of the measured means (None: independent).
    """

    n_environments: np.ndarray
    learned: np.ndarray
    measured: np.ndarray
    measured_err: np.ndarray
    common_err: float
    covariance: np.ndarray | None = None

    @property
    def total_err(self) -> np.ndarray:
        """(n_groups,) the error of one group's measured mean (with ``common_err`` in quadrature)."""
        return np.hypot(self.measured_err, self.common_err)

    @property
    def z(self) -> np.ndarray:
        """(n_groups,) (learned − measured) / total error; NaN where the error is not positive."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.total_err > 0, (self.learned - self.measured) / self.total_err, np.nan)

    def kept(self, min_environments: int) -> np.ndarray:
        """(n_groups,) bool: groups with at least ``min_environments`` and a finite z."""
        return (self.n_environments >= min_environments) & np.isfinite(self.z)

    def _covariance(self) -> np.ndarray:
        if self.covariance is not None:
            return self.covariance
        return np.diag(np.asarray(self.measured_err, dtype=float) ** 2)

    def contrast(self, first: int, second: int) -> Contrast:
        """Group ``first`` minus group ``second``: the learned and the measured difference of means, the
        measured one's standard error (from the covariance: what the two groups share, the far part's
        error of their common valence mix included, cancels) and z between them (NaN where the error is
        not positive)."""
        learned = float(self.learned[first] - self.learned[second])
        measured = float(self.measured[first] - self.measured[second])
        c = self._covariance()
        variance = float(c[first, first] + c[second, second] - 2.0 * c[first, second])
        error = math.sqrt(variance) if variance > 0 else float("nan")
        return Contrast(learned, measured, error, (learned - measured) / error if error > 0 else float("nan"))

    def between_group_spread(self, min_environments: int) -> GroupSpread:
        """The occupancy-weighted variance of the group means, learned and measured (reduced Λ²).

        With weights w_b (the groups' shares of environments), S² = Σ_b w_b (m_b − m̄)². The measured means'
        errors, of covariance C, add E = Σ_b w_b (e_b − w)ᵀ C (e_b − w) to S² on average (what all groups
        share cancels); that is subtracted, so ``measured`` estimates the learned one's counterpart without
        bias. Its error is the delta method's √(gᵀ C g), g_b = 2 w_b (m_b − m̄), with E itself as a floor
        (the noise of the correction). By the law of total variance this is the part of the spread of k
        that the grouping explains: a lower bound of the spread of the true k over environments.
        """
        kept = self.kept(min_environments)
        if kept.sum() < 2:
            nan = float("nan")
            return GroupSpread(nan, nan, nan, int(kept.sum()))
        weights = self.n_environments[kept] / self.n_environments[kept].sum()
        learned, measured = self.learned[kept], self.measured[kept]
        c = self._covariance()[np.ix_(kept, kept)]
        learned_var = float(np.sum(weights * (learned - np.sum(weights * learned)) ** 2))
        centred = measured - np.sum(weights * measured)
        offsets = np.eye(len(weights)) - weights[None, :]
        noise = float(np.sum(weights * np.einsum("bi,ij,bj->b", offsets, c, offsets)))
        measured_var = float(np.sum(weights * centred ** 2)) - noise
        gradient = 2 * weights * centred
        spread_err = math.sqrt(max(float(gradient @ c @ gradient), 0.0) + noise ** 2)
        return GroupSpread(learned_var, measured_var, spread_err, int(kept.sum()))


def measured_shares(inputs: AnalysisInputs, system: str) -> MeasuredShares | None:
    """``system``'s measured attribution and learned k per environment of its store; None where the
    run has no attribution, no local conductivities or no feature store for it."""
    if not all(system in table for table in (inputs.attributions, inputs.local_conductivities,
                                             inputs.feature_stores)):
        return None
    environments = inputs.environments(system)
    return shares_of(inputs.attribution(system), environments, np.asarray(inputs.local(system).k, dtype=float))


def shares_of(attribution: SystemAttribution, environments: dict[str, np.ndarray], learned: np.ndarray
              ) -> MeasuredShares:
    """The :class:`MeasuredShares` of the environments ``environments`` (``replica``, ``frame``, ``ion_index``
    columns, (n_env,) each) with their ``learned`` k (n_env,), from ``attribution``."""
    measured, _, _ = attribution.at(environments["replica"], environments["frame"], environments["ion_index"])
    common = float(np.max(attribution.far_mean_err)) if attribution.far_mean_err is not None else 0.0
    blocks = frame_blocks(environments["replica"], environments["frame"], attribution.horizon_frames)
    first = attribution.replicas[0]
    valences, classes = np.unique(first.valence, return_inverse=True)
    order = np.argsort(first.ion_index)
    ions = np.asarray(environments["ion_index"])
    column = order[np.minimum(np.searchsorted(first.ion_index, ions, sorter=order), len(order) - 1)]
    far = None
    if attribution.cutoff is not None and all(r.far_part is not None for r in attribution.replicas):
        labels, sums, counts = [], [], []
        for number, data in enumerate(attribution.replicas):
            defined = np.flatnonzero(np.isfinite(data.far_part[:, 0]))
            block = frame_blocks(np.full(len(defined), number), defined, attribution.horizon_frames)
            unique, inverse = np.unique(block, return_inverse=True)
            per = np.zeros((len(unique), len(valences)))
            count = np.zeros((len(unique), len(valences)))
            for c in range(len(valences)):
                values = data.far_part[defined][:, classes == c].astype(np.float64)
                per[:, c] = np.bincount(inverse, weights=values.sum(axis=1), minlength=len(unique))
                count[:, c] = np.bincount(inverse, minlength=len(unique)) * values.shape[1]
            labels.append(unique)
            sums.append(per)
            counts.append(count)
        far = FarBlocks(np.concatenate(labels), np.concatenate(sums), np.concatenate(counts))
    return MeasuredShares(measured=measured, blocks=blocks, learned=np.asarray(learned, dtype=float),
                          common_err=common, valence_class=classes[column].astype(np.int64), far=far)


def compare_groups(shares: MeasuredShares, group: np.ndarray, n_groups: int) -> GroupComparison:
    """Learned against measured mean per group; ``group`` (n_env,) int in [0, n_groups) (others ignored).

    The errors are a delete-one-block jackknife of the group means, each deletion recomputing the far part's
    means without that block (module docstring); with fewer than two blocks, NaN."""
    group = np.asarray(group)
    usable = shares.usable & (group >= 0) & (group < n_groups)
    counts = np.bincount(group[usable], minlength=n_groups).astype(np.int64)
    learned, measured = np.full(n_groups, np.nan), np.full(n_groups, np.nan)
    present = counts > 0
    learned[present] = (np.bincount(group[usable], weights=shares.learned[usable], minlength=n_groups)[present]
                        / counts[present])
    measured[present] = (np.bincount(group[usable], weights=shares.measured[usable], minlength=n_groups)[present]
                         / counts[present])
    covariance = _jackknife_covariance(shares, group, usable, n_groups)
    errors = np.sqrt(np.maximum(np.diag(covariance), 0.0))
    errors[~present] = np.nan
    return GroupComparison(n_environments=counts, learned=learned, measured=measured, measured_err=errors,
                           common_err=0.0, covariance=covariance)


def _jackknife_covariance(shares: MeasuredShares, group: np.ndarray, usable: np.ndarray, n_groups: int
                          ) -> np.ndarray:
    """(n_groups, n_groups) the delete-one-block jackknife covariance of the groups' measured means."""
    far = shares.far
    classes = shares.valence_class if shares.valence_class is not None else np.zeros(len(group), dtype=np.int64)
    n_classes = int(far.sums.shape[1]) if far is not None else int(classes.max(initial=0)) + 1
    labels = np.unique(np.concatenate([shares.blocks[usable], far.labels if far is not None else np.zeros(0, np.int64)]))
    if len(labels) < 2:
        return np.full((n_groups, n_groups), np.nan)
    means = far.means() if far is not None else np.zeros(n_classes)
    env_block = np.searchsorted(labels, shares.blocks[usable])
    g = group[usable]
    near = shares.measured[usable] - means[classes[usable]]
    n_blocks = len(labels)
    flat = g * n_blocks + env_block
    near_sums = np.bincount(flat, weights=near, minlength=n_groups * n_blocks).reshape(n_groups, n_blocks)
    near_counts = np.bincount(flat, minlength=n_groups * n_blocks).reshape(n_groups, n_blocks)
    class_counts = np.zeros((n_groups, n_classes, n_blocks))
    np.add.at(class_counts, (g, classes[usable], env_block), 1.0)
    far_sums, far_counts = np.zeros((n_blocks, n_classes)), np.zeros((n_blocks, n_classes))
    if far is not None:
        at = np.searchsorted(labels, far.labels)
        np.add.at(far_sums, at, far.sums)
        np.add.at(far_counts, at, far.counts)
    total_far, total_far_counts = far_sums.sum(axis=0), far_counts.sum(axis=0)
    replicates = np.full((n_blocks, n_groups), np.nan)
    for b in range(n_blocks):
        count = near_counts.sum(axis=1) - near_counts[:, b]
        f_sums, f_counts = total_far - far_sums[b], total_far_counts - far_counts[b]
        far_means = np.divide(f_sums, f_counts, out=np.zeros(n_classes), where=f_counts > 0)
        mix = class_counts.sum(axis=2) - class_counts[:, :, b]
        with np.errstate(invalid="ignore", divide="ignore"):
            replicates[b] = ((near_sums.sum(axis=1) - near_sums[:, b]) + mix @ far_means) / count
    finite = np.isfinite(replicates)
    average = np.divide(np.where(finite, replicates, 0.0).sum(axis=0), finite.sum(axis=0),
                        out=np.zeros(n_groups), where=finite.sum(axis=0) > 0)
    centred = np.where(finite, replicates - average, 0.0)
    return (n_blocks - 1) / n_blocks * centred.T @ centred


def chi2_per_dof(z: np.ndarray) -> float:
    """Mean of z² over the finite entries of ``z`` (NaN if none)."""
    z = np.asarray(z, dtype=float)
    z = z[np.isfinite(z)]
    return float(np.mean(z ** 2)) if len(z) else float("nan")


def agreement_numbers(z: np.ndarray, count_name: str) -> dict[str, float | int]:
    """What a measured check reports over its finite z (one per system, group or bin): χ²/dof, how many
    (under ``count_name``) and how many lie within 2 standard errors."""
    z = np.asarray(z, dtype=float)
    z = z[np.isfinite(z)]
    return {"chi2_per_dof": chi2_per_dof(z), count_name: int(len(z)), "within_2_se": int(np.sum(np.abs(z) <= 2))}
