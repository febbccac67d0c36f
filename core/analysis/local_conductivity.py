"""One system's learned local conductivities as the analyses read them, with how well each is pinned down.

The predict stage writes ``local/<system>.npz`` per system, one entry per
environment of its feature store (NaN where an ion has no k, e.g. bonded):
``k_mean`` (ensemble mean of k), ``k_std`` (spread over members) and, where
the model reports it, ``k_posterior_std`` (posterior std of k from the local
prediction rigidity, :mod:`core.learn.rigidity`) and ``k_cross`` (the mean k of the outer-fold members that
never saw the system, where it has them). :func:`load_local` reads it (older files give NaN for what they
lack);
:meth:`LocalConductivity.confident` is the filter the Fig. 4–6 analyses
offer (``max_relative_uncertainty``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import numpy as np
from pydantic import Field

#: The option type of the confidence filter (a plugin option's annotation, default None):
#: ``max_relative_uncertainty: MaxRelativeUncertainty = None``; see :meth:`LocalConductivity.confident`.
MaxRelativeUncertainty = Annotated[float | None, Field(
    gt=0, description="use only environments whose k is known to within this fraction of the system's mean |k| "
                      "(predictive std: member spread and posterior std in quadrature); null: all")]


@dataclass(frozen=True)
class LocalConductivity:
    """Per environment (n,): k (reduced Λ units), its member spread and its posterior std (same units), and
    k_cross, the k of the outer-fold members that never saw the system (NaN where it has none)."""

    k: np.ndarray
    k_std: np.ndarray
    k_posterior_std: np.ndarray
    k_cross: np.ndarray | None = None

    @property
    def has_k(self) -> np.ndarray:
        """(n,) bool: environments with a k (bonded ions have none)."""
        return np.isfinite(self.k)

    def uncertainty(self) -> np.ndarray:
        """(n,) the predictive std of k: √(member spread² + posterior std²), the law of total variance over
        the ensemble's members, each a Gaussian posterior in its last layer (the spread alone where there is no
        posterior std). On the trajectory-level known answer its 1σ coverage is the nearest to 0.68 of the
        three (docs/learn.md)."""
        posterior = np.where(np.isfinite(self.k_posterior_std), self.k_posterior_std, 0.0)
        return np.sqrt(self.k_std ** 2 + posterior ** 2)

    def typical_uncertainty(self, chosen: np.ndarray) -> float:
        """The median uncertainty of one k over the environments ``chosen`` ((n,) bool); NaN if none has one."""
        return finite_median(self.uncertainty()[chosen])

    def confident(self, max_relative_uncertainty: float | None) -> np.ndarray:
        """(n,) bool: environments with a k whose uncertainty is at most ``max_relative_uncertainty`` × the
        system's mean |k|; every environment with a k when ``None``."""
        chosen = self.has_k
        if max_relative_uncertainty is None or not chosen.any():
            return chosen
        scale = float(np.mean(np.abs(self.k[chosen])))
        return chosen & (self.uncertainty() <= max_relative_uncertainty * scale)


def finite_median(values: np.ndarray) -> float:
    """The median of the finite entries of ``values``; NaN if there are none."""
    finite = np.asarray(values, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    return float(np.median(finite)) if len(finite) else float("nan")


def negative_percent(k: np.ndarray) -> float:
    """The percentage of the finite entries of ``k`` below zero; NaN if none is finite."""
    finite = np.asarray(k, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    return 100.0 * float(np.mean(finite < 0)) if len(finite) else float("nan")


def load_local(path: Path) -> LocalConductivity:
    """Read a predict stage's ``local/<system>.npz``."""
    with np.load(path) as saved:
        k = np.asarray(saved["k_mean"], dtype=np.float64)
        k_std = np.asarray(saved["k_std"], dtype=np.float64) if "k_std" in saved.files else np.full(len(k), np.nan)
        posterior = (np.asarray(saved["k_posterior_std"], dtype=np.float64) if "k_posterior_std" in saved.files
                     else np.full(len(k), np.nan))
        cross = (np.asarray(saved["k_cross"], dtype=np.float64) if "k_cross" in saved.files
                 else np.full(len(k), np.nan))
    return LocalConductivity(k, k_std, posterior, cross)
