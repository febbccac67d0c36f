"""Whether a straight-line label may still carry the charge MSD's relaxation: ``label_status`` and the error of
``window_bias`` (docs/transport.md, "The relaxation of the charge MSD").

The window's Λ_w and the relaxation-aware Λ_r estimate one quantity from the same data. When one of two
such estimators is efficient, the variance of their difference is the difference of their variances
(Hausman 1978): Var(Λ_w − Λ_r) = |σ_r² − σ_w²|. Which one is the more efficient depends on the windows (the
relaxation fit starts earlier and uses more lags; the straight line has fewer parameters), so the absolute
value is taken, not a floor at zero, which would report a bias known exactly.
"""

from __future__ import annotations

import math
from enum import StrEnum

import numpy as np

from core.results import Estimate, LabelCheck, SystemTransport
from core.transport.curves import ReplicaCurves
from core.transport.relaxation import relaxed_slope

#: |bias| within this many of the label's own error counts as within error (issue 42: no label whose
#: relaxation-aware value differs from it by more than its error is called within error). Transport 8 took
#: 2 × the larger of the bias's error and the label's, which on the exact models of
#: :mod:`core.testing.exact_electrolytes` let 18–49 % biases through (docs/transport.md).
WITHIN_ERRORS = 1.0


class LabelStatus(StrEnum):
    """What the relaxation check says of one system's label (the ``label_status`` column)."""

    #: The window's own convergence test passed (its slope no longer falls with a later window), and the
    #: relaxation check, where it resolves, agrees within the label's error.
    CONVERGED = "converged"
    #: |window_bias| ≤ ``WITHIN_ERRORS`` × the label's error.
    WITHIN_ERROR = "bias within error"
    #: The relaxation-aware Λ differs from the label by more than the label's error (whether or not the window's
    #: convergence test passed: it is fooled by slow relaxations): the report flags it;
    #: ``simulation.precision`` continues it.
    MAY_EXCEED = "bias may exceed error"
    #: The relaxation fit's weight sits on relaxation times the window does not resolve (a relaxation
    #: slower than a third of the window), and either the window did not converge or the fit differs from
    #: the label by more than its error: the check cannot bound the bias. Flagged and continued like
    #: ``MAY_EXCEED``; a longer run extends the window.
    UNRESOLVED = "relaxation not resolved"
    #: No check: the run is too short for the fit, or the check was switched off.
    NOT_CHECKED = "not checked"



def needs_longer_runs(status: str | None) -> bool:
    """Whether a ``label_status`` (as read from a row; None when absent) puts the label's accuracy in doubt in
    a way that longer runs address: ``MAY_EXCEED`` or ``UNRESOLVED``."""
    return status in (LabelStatus.MAY_EXCEED, LabelStatus.UNRESOLVED)


def bias_error(relaxed_error: float, label_error: float) -> float:
    """The standard error of window_bias = Λ_w − Λ_r: √|σ_r² − σ_w²| (same units as the errors)."""
    return math.sqrt(abs(relaxed_error ** 2 - label_error ** 2))


def label_status(*, converged: bool, resolved: bool | None, bias: float, bias_err: float,
                 label_err: float) -> LabelStatus:
    """The status of one label. ``resolved`` None: no relaxation fit (``NOT_CHECKED`` unless converged).

    A bias beyond the label's error is flagged even where the window's convergence test passed: that test
    sees a falling slope only where the fall exceeds its noise, and on the exact models a relaxation of 50 τ
    passed it while the label was 42 % high (docs/transport.md). Such a bias is ``MAY_EXCEED`` where the
    relaxation fit resolves its time and ``UNRESOLVED`` where it does not (a relaxation slower than the fit's
    grid: the bias may be larger still). Within the label's error, a converged window is ``CONVERGED``, and
    otherwise the fit must resolve its time to bound the bias (``WITHIN_ERROR``, else ``UNRESOLVED``).
    ``bias_err`` is not used for the decision (a bias beyond the label's error matters whether or not it is
    significant); it is required finite so that a degenerate fit reads as not checked.
    """
    if resolved is None or not (math.isfinite(bias) and math.isfinite(bias_err)):
        return LabelStatus.CONVERGED if converged else LabelStatus.NOT_CHECKED
    if abs(bias) > WITHIN_ERRORS * label_err:
        return LabelStatus.MAY_EXCEED if resolved else LabelStatus.UNRESOLVED
    if converged:
        return LabelStatus.CONVERGED
    return LabelStatus.WITHIN_ERROR if resolved else LabelStatus.UNRESOLVED


def label_check(replicas: list[ReplicaCurves], start: float, max_window_fraction: float, to_molar: float,
                transport: SystemTransport) -> LabelCheck:
    """Λ from the charge MSD with its relaxation modelled (:mod:`core.transport.relaxation`), over
    [``start``, ``max_window_fraction`` × the shortest run], and what it says of the straight-line label.

    ``to_molar`` converts an MSD slope (σ²/τ) to Λ. ``window_bias`` = Λ (the window's) − Λ_relaxed: the
    straight line's estimated remaining bias, ± √|σ_relaxed² − σ_window²|
    (:func:`core.transport.label_status.bias_error`). ``label_status``: a
    :class:`core.transport.label_status.LabelStatus`.
    """
    nan = float("nan")
    converged = bool(transport.window.collective_converged)
    unchecked = LabelCheck(Estimate(nan), nan, None, Estimate(nan),
                           str(LabelStatus.CONVERGED if converged else LabelStatus.NOT_CHECKED))
    shortest = min(r.run_length for r in replicas)
    try:
        fit = relaxed_slope([r.correlations["charge"] for r in replicas], replicas[0].frame_interval,
                            (start, max_window_fraction * shortest))
    except (ValueError, np.linalg.LinAlgError):   # too short a run, or a degenerate fit: say it was not checked
        return unchecked
    if not (math.isfinite(fit.slope) and math.isfinite(fit.slope_err)):
        return unchecked
    value, error = fit.slope * to_molar, fit.slope_err * to_molar
    label = transport.molar_conductivity
    bias = label.value - value
    bias_err = bias_error(error, label.err)
    return LabelCheck(Estimate(value, error), fit.relaxation_time, fit.relaxed, Estimate(bias, bias_err),
                      str(label_status(converged=converged, resolved=fit.relaxed, bias=bias, bias_err=bias_err,
                                       label_err=label.err)))
