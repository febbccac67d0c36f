"""Learned local k against the measured attribution, over groups of one system's environments.

The transport stage measures each ion's Green–Kubo share of Λ at every frame
(:mod:`core.transport.attribution`): m_i(s) = k(x_i(s)) + e_i(s), where the noise e has zero mean given
the configuration at s. So the mean of m over any group of environments chosen from the configuration
at s (a bin of the distance to the nearest unlike ion, a coordination number, near or far) estimates the
mean local conductivity of that group without bias, and a figure built on learned k can say, group by
group, whether the data agree with it. What one noisy label per environment cannot fix is anything
non-linear in k of a single environment (the fraction of k below zero, a histogram's shape); the
analyses say so where they show such a thing.

Errors: the ions of one frame share their ΔM, so environments are grouped into blocks of frames one
current window apart (:func:`core.transport.attribution.frame_blocks`) and a group's mean gets the ratio
estimator's error over blocks. With a cutoff the far part's mean is one number per valence and system:
its error (``common_err``) is shared by every group of the system and cancels in contrasts between groups.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated

import numpy as np
from pydantic import AfterValidator

from core.datatypes import AnalysisInputs
from core.transport.attribution import block_mean, frame_blocks


def _increasing_edges(edges: list[float]) -> list[float]:
    if not all(math.isfinite(e) and e > 0 for e in edges) or any(b <= a for a, b in zip(edges, edges[1:])):
        raise ValueError("bin edges must be finite, positive and increasing (σ)")
    return edges


#: An option type for inner bin edges of a distance (σ), e.g. to the nearest unlike ion: finite, positive,
#: strictly increasing. Use it as a plugin option's annotation (``distance_bins: DistanceBinEdges = Field(…)``).
DistanceBinEdges = Annotated[list[float], AfterValidator(_increasing_edges)]


@dataclass(frozen=True)
class MeasuredShares:
    """The measured attribution of every environment of one system's feature store.

    measured: (n_env,) m_i(s), reduced Λ units; NaN where the current window leaves the run.
    blocks: (n_env,) int64 block labels (environments of one block share noise).
    learned: (n_env,) the ensemble-mean learned k; NaN for bonded ions (they have none).
    common_err: the standard error of the far part's mean, shared by every environment (0 without a cutoff).
    """

    measured: np.ndarray
    blocks: np.ndarray
    learned: np.ndarray
    common_err: float

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
    measured, measured_err: the mean attribution and its frame-block standard error, without ``common_err``.
    common_err: the far part's error, shared by every group of the system.
    """

    n_environments: np.ndarray
    learned: np.ndarray
    measured: np.ndarray
    measured_err: np.ndarray
    common_err: float

    @property
    def total_err(self) -> np.ndarray:
        """(n_groups,) the error of one group's measured mean: block error and common error in quadrature."""
        return np.hypot(self.measured_err, self.common_err)

    @property
    def z(self) -> np.ndarray:
        """(n_groups,) (learned − measured) / total error; NaN where the error is not positive."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.total_err > 0, (self.learned - self.measured) / self.total_err, np.nan)

    def kept(self, min_environments: int) -> np.ndarray:
        """(n_groups,) bool: groups with at least ``min_environments`` and a finite z."""
        return (self.n_environments >= min_environments) & np.isfinite(self.z)

    def contrast(self, first: int, second: int) -> dict[str, float]:
        """Group ``first`` minus group ``second``: the learned and the measured difference of means, the
        measured one's standard error (the two groups' block errors in quadrature; the common error cancels)
        and z between them (NaN where the error is not positive)."""
        learned = float(self.learned[first] - self.learned[second])
        measured = float(self.measured[first] - self.measured[second])
        error = float(np.hypot(self.measured_err[first], self.measured_err[second]))
        return {"learned": learned, "measured": measured, "measured_err": error,
                "z": (learned - measured) / error if error > 0 else float("nan")}

    def between_group_spread(self, min_environments: int) -> dict[str, float]:
        """The occupancy-weighted variance of the group means, learned and measured (reduced Λ²).

        With weights w_b (the groups' shares of environments), S² = Σ_b w_b (m_b − m̄)². The groups'
        measured means carry independent errors s_b (the common error cancels), which add
        Σ_b w_b (1 − w_b) s_b² to S² on average; that is subtracted, so ``measured`` estimates the learned
        one's counterpart without bias. Its error is the delta method's √(Σ_b (2 w_b (m_b − m̄))² s_b²),
        with Σ w_b(1−w_b) s_b² itself as a floor (the noise of the correction). By the law of total
        variance this is the part of the spread of k that the grouping explains: a lower bound of the
        spread of the true k over environments.
        """
        kept = self.kept(min_environments)
        if kept.sum() < 2:
            nan = float("nan")
            return {"learned": nan, "measured": nan, "measured_err": nan, "n_groups": int(kept.sum())}
        weights = self.n_environments[kept] / self.n_environments[kept].sum()
        learned, measured, error = self.learned[kept], self.measured[kept], self.measured_err[kept]
        learned_var = float(np.sum(weights * (learned - np.sum(weights * learned)) ** 2))
        centred = measured - np.sum(weights * measured)
        noise = float(np.sum(weights * (1 - weights) * error ** 2))
        measured_var = float(np.sum(weights * centred ** 2)) - noise
        spread_err = math.sqrt(float(np.sum((2 * weights * centred * error) ** 2)) + noise ** 2)
        return {"learned": learned_var, "measured": measured_var, "measured_err": spread_err,
                "n_groups": int(kept.sum())}


def measured_shares(inputs: AnalysisInputs, system: str) -> MeasuredShares | None:
    """``system``'s measured attribution and learned k per environment of its store; None where the
    run has no attribution, no local conductivities or no feature store for it."""
    if not all(system in table for table in (inputs.attributions, inputs.local_conductivities,
                                             inputs.feature_stores)):
        return None
    environments = inputs.environments(system)
    attribution = inputs.attribution(system)
    measured, _, _ = attribution.at(environments["replica"], environments["frame"], environments["ion_index"])
    common = float(np.max(attribution.far_mean_err)) if attribution.far_mean_err is not None else 0.0
    blocks = frame_blocks(environments["replica"], environments["frame"], attribution.horizon_frames)
    return MeasuredShares(measured=measured, blocks=blocks, learned=np.asarray(inputs.local(system).k, dtype=float),
                          common_err=common)


def compare_groups(shares: MeasuredShares, group: np.ndarray, n_groups: int) -> GroupComparison:
    """Learned against measured mean per group; ``group`` (n_env,) int in [0, n_groups) (others ignored)."""
    group = np.asarray(group)
    usable = shares.usable
    counts, learned, measured, errors = (np.zeros(n_groups, dtype=np.int64), np.full(n_groups, np.nan),
                                         np.full(n_groups, np.nan), np.full(n_groups, np.nan))
    for number in range(n_groups):
        chosen = usable & (group == number)
        counts[number] = int(chosen.sum())
        if not counts[number]:
            continue
        learned[number] = float(np.mean(shares.learned[chosen]))
        measured[number], errors[number], _ = block_mean(shares.measured[chosen], shares.blocks[chosen])
    return GroupComparison(n_environments=counts, learned=learned, measured=measured, measured_err=errors,
                           common_err=shares.common_err)


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
