"""The relaxation-aware slope (core/transport/relaxation.py) on processes whose long-time slope is known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.transport.correlation import displacement_correlation
from core.transport.gls import LineParameters, lag_kernels, msd_covariance
from core.transport.relaxation import relaxed_slope, variogram_covariance


def test_variogram_covariance_of_a_brownian_walker_with_rattling_is_the_closed_form() -> None:
    """For V(u) = (a + b u)/3 (u ≥ 1) the general Isserlis sum equals gls.py's closed-form kernels."""
    n_frames, lags, a, b = 60, np.array([1, 2, 5, 9, 20, 33]), 0.7, 0.25
    variogram = (a + b * np.arange(n_frames)) / 3.0
    variogram[0] = 0.0
    line = LineParameters(b={("M", "M"): b}, a={("M", "M"): a})
    expected = msd_covariance(lag_kernels(n_frames, tuple(int(x) for x in lags)), line, ("M", "M"))
    assert np.allclose(variogram_covariance(n_frames, lags, variogram), expected, rtol=1e-10, atol=0)


def test_variogram_covariance_matches_the_scatter_of_a_simulated_relaxing_walker() -> None:
    """Brownian + Ornstein–Uhlenbeck: the predicted covariance of the origin-averaged MSD at two lags
    against the scatter over 400 realisations, within 3 of its sampling errors √((Σ_ii Σ_jj + Σ_ij²)/n)."""
    rng = np.random.default_rng(3)
    n, dt, d, s, tau = 120, 0.5, 0.1, 0.5, 4.0
    phi = np.exp(-dt / tau)
    lags = np.array([4, 30])
    samples = []
    for _ in range(400):
        walk = np.cumsum(rng.normal(0, np.sqrt(2 * d * dt), (n, 3)), axis=0)
        ou = np.empty((n, 3))
        ou[0] = rng.normal(0, np.sqrt(s), 3)
        kicks = rng.normal(0, np.sqrt(s * (1 - phi ** 2)), (n, 3))
        for k in range(n - 1):
            ou[k + 1] = phi * ou[k] + kicks[k]
        samples.append(displacement_correlation(walk + ou)[lags])
    samples = np.array(samples)
    u = np.arange(n) * dt
    variogram = 2 * d * u + 2 * s * (1 - np.exp(-u / tau))
    predicted = variogram_covariance(n, lags, variogram)
    measured = np.cov(samples.T)
    for i, j in ((0, 0), (1, 1), (0, 1)):
        sampling = np.sqrt((predicted[i, i] * predicted[j, j] + predicted[i, j] ** 2) / len(samples))
        assert abs(measured[i, j] - predicted[i, j]) < 3 * sampling, (i, j, measured, predicted)
    assert predicted[0, 1] > 0.3 * np.sqrt(predicted[0, 0] * predicted[1, 1])   # the lags are correlated


def relaxing_replica(rng: np.random.Generator, n: int, dt: float, d: float, s: float, tau: float) -> np.ndarray:
    """(n, 3) Brownian (diffusion d per component) + OU (variance s, time tau) + white noise 0.05."""
    phi = np.exp(-dt / tau)
    ou = np.empty((n, 3))
    ou[0] = rng.normal(0, np.sqrt(s), 3)
    kicks = rng.normal(0, np.sqrt(s * (1 - phi ** 2)), (n, 3))
    for k in range(n - 1):
        ou[k + 1] = phi * ou[k] + kicks[k]
    return np.cumsum(rng.normal(0, np.sqrt(2 * d * dt), (n, 3)), axis=0) + ou + rng.normal(0, np.sqrt(0.05), (n, 3))


def test_relaxed_slope_is_unbiased_with_calibrated_errors_where_a_straight_line_is_not() -> None:
    """The running slope starts 50 % above the long-time one and relaxes with τ_r = 8τ. Over 40
    realisations of 2 replicas × 200 τ, window [1, 50] τ: the relaxation fit's mean is within 2.5 of its
    standard errors of the truth, and its reported errors match the scatter (ratio 0.7–1.4); a straight
    line over [1, 20] τ is biased high by more than 4 of its own standard errors (the price: the fit's
    scatter is larger)."""
    rng = np.random.default_rng(11)
    n, dt, d, tau = 401, 0.5, 0.1, 8.0
    s = 0.5 * d * tau    # early excess slope s/τ per component: half the long-time d
    truth = 6 * d
    slopes, errors, straight = [], [], []
    for _ in range(40):
        msds = [displacement_correlation(relaxing_replica(rng, n, dt, d, s, tau)) for _ in range(2)]
        fit = relaxed_slope(msds, dt, (1.0, 50.0))
        slopes.append(fit.slope)
        errors.append(fit.slope_err)
        times = np.arange(2, 41) * dt
        straight.append(np.polyfit(times, np.mean(msds, axis=0)[2:41], 1)[0])
    slopes, errors = np.array(slopes), np.array(errors)
    standard_error = slopes.std(ddof=1) / np.sqrt(len(slopes))
    assert abs(slopes.mean() - truth) < 2.5 * standard_error, (slopes.mean(), truth, standard_error)
    ratio = np.sqrt(np.mean(errors ** 2)) / slopes.std(ddof=1)
    assert 0.7 < ratio < 1.4, ratio
    straight = np.array(straight)
    assert straight.mean() - truth > 4 * straight.std(ddof=1) / np.sqrt(len(straight)), (straight.mean(), truth)


def write_pairing_salt(path, rng: np.random.Generator, frames: int = 2000, interval: float = 0.5,
                       s: float = 0.4) -> float:
    """40 free cations and 40 free anions (D = 0.2) and 40 bound pairs: the pair's centre diffuses
    (D = 0.05) and its separation is an Ornstein–Uhlenbeck vector (variance s = 0.4 per component, τ_r = 5τ),
    in a 15σ box. The charge M = Σ z r gets the free ions' walk and each pair's separation, so its MSD
    relaxes from above (by 40 · 6 · 0.4/5 = 19.2 σ²/τ at first, +20 %) to the slope 6 Σ_free D = 96 σ²/τ:
    Λ = 96 / (6 N₊) = 0.2 exactly (N₊ = 80)."""
    from core.datatypes import Frame
    from core.md.trajectory import LOG_KT, LOG_TIMESTEP, GSDWriter

    n_free, n_pairs, length, tau = 40, 40, 15.0, 5.0
    typeid = np.array([0] * n_free + [1] * n_free + [0] * n_pairs + [1] * n_pairs, dtype=np.int32)
    free = rng.uniform(0, length, (2 * n_free, 3))
    centre = rng.uniform(0, length, (n_pairs, 3))
    separation = rng.normal(0, np.sqrt(s), (n_pairs, 3))
    phi = np.exp(-interval / tau)
    with GSDWriter(path, {LOG_TIMESTEP: 0.005, LOG_KT: 1.0}) as writer:
        for index in range(frames):
            position = np.concatenate([free, centre + separation / 2, centre - separation / 2])
            image = np.floor(position / length).astype(np.int32)
            writer.append(Frame(position - image * length - length / 2, np.full(3, length), typeid,
                                ("cation", "anion", "solvent"), image, np.zeros((0, 2), np.int64), step=index * 100,
                                time=index * interval))
            free = free + rng.normal(0, np.sqrt(2 * 0.2 * interval), free.shape)
            centre = centre + rng.normal(0, np.sqrt(2 * 0.05 * interval), centre.shape)
            separation = phi * separation + rng.normal(0, np.sqrt(s * (1 - phi ** 2)), separation.shape)
    return 0.2


def test_transport_reports_the_relaxed_label_and_the_windows_remaining_bias(tmp_path) -> None:
    """On ion pairs whose separation relaxes in 5τ: the relaxation-aware Λ matches the exact 0.2 within 3 of
    its errors for two replicas; a window forced early ([1, 10] τ) is biased high, and ``window_bias`` says by
    how much (within 3 of its errors of the true bias); with a stronger relaxation over four replicas the
    label is flagged 'bias may exceed error' (the flag: a bias beyond the label's error)."""
    from core.transport.onsager import system_transport
    from core.transport.replica_files import replica_curves

    paths = [tmp_path / f"r{k}.gsd" for k in range(2)]
    for k, path in enumerate(paths):
        truth = write_pairing_salt(path, np.random.default_rng(20 + k))
    curves = [replica_curves(path) for path in paths]
    row = system_transport(curves).row
    relaxed, error = row["molar_conductivity_relaxed"], row["molar_conductivity_relaxed_err"]
    assert abs(relaxed - truth) < 3 * error, (relaxed, error)
    assert 1.0 < row["relaxation_time"] < 25.0 and row["relaxation_resolved"]
    early = system_transport(curves, fit_window=(1.0, 10.0)).row
    assert early["molar_conductivity"] - truth > 3 * early["molar_conductivity_err"]   # the straight line is high
    bias, bias_error = early["window_bias"], early["window_bias_err"]
    assert abs(bias - (early["molar_conductivity"] - truth)) < 3 * bias_error, (bias, bias_error)
    # a stronger relaxation (s = 1.6: the early slope 80 % high) over four replicas: flagged
    strong = [tmp_path / f"s{k}.gsd" for k in range(4)]
    for k, path in enumerate(strong):
        write_pairing_salt(path, np.random.default_rng(40 + k), s=1.6)
    flagged = system_transport([replica_curves(path) for path in strong], fit_window=(1.0, 10.0)).row
    assert flagged["label_status"] == "bias may exceed error", {k: flagged[k] for k in (
        "molar_conductivity", "molar_conductivity_relaxed", "window_bias", "window_bias_err")}


def test_stacie_agrees_with_the_relaxation_fit_on_a_relaxing_walker() -> None:
    """STACIE (Toraman & Verstraelen's spectral estimator, an independent library) with its Padé [0, 2; 2]
    model, the spectral form of model (R), on the current J = ΔM/Δt of 4 × 1000 τ of a walker whose running
    slope starts 50 % high (τ_r = 5τ): it agrees with the relaxation-aware GLS within the combined errors
    (3σ), and both with the exact slope."""
    stacie = pytest.importorskip("stacie")
    import warnings

    rng = np.random.default_rng(5)
    n, dt, d, tau = 2001, 0.5, 0.1, 5.0
    replicas = [relaxing_replica(rng, n, dt, d, 0.5 * d * tau, tau) for _ in range(4)]
    fit = relaxed_slope([displacement_correlation(r) for r in replicas], dt, (1.0, 250.0))
    currents = [np.diff(r, axis=0) / dt for r in replicas]
    spectrum = stacie.compute_spectrum(np.array([c[:, k] for c in currents for k in range(3)]), timestep=dt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = stacie.estimate_acint(spectrum, stacie.PadeModel([0, 2], [2]))
    spectral, spectral_err = 6 * result.acint, 6 * result.acint_std   # ∫⟨J_x J_x⟩ = D per component
    truth = 6 * d
    assert abs(fit.slope - spectral) < 3 * np.hypot(fit.slope_err, spectral_err), (fit.slope, spectral)
    assert abs(fit.slope - truth) < 3 * fit.slope_err and abs(spectral - truth) < 3 * spectral_err


def test_label_status_and_the_bias_error_follow_their_definitions() -> None:
    """window_bias's error is √|σ_r² − σ_w²| whichever estimator is the more efficient (never 0 unless the
    errors are equal); a bias beyond the label's own error is flagged even where the window converged (issue
    42); a fit whose relaxation is not resolved cannot bound the bias, and then only convergence speaks."""
    from core.transport.label_status import LabelStatus, bias_error, label_status, needs_longer_runs

    assert bias_error(5.0, 3.0) == pytest.approx(4.0) and bias_error(3.0, 5.0) == pytest.approx(4.0)
    common = dict(converged=False, bias_err=0.05, label_err=0.02)
    assert label_status(resolved=True, bias=0.019, **common) is LabelStatus.WITHIN_ERROR    # the label's error
    assert label_status(resolved=True, bias=-0.021, **common) is LabelStatus.MAY_EXCEED     # not the bias's
    assert label_status(resolved=True, bias=0.021, converged=True, bias_err=0.05, label_err=0.02) \
        is LabelStatus.MAY_EXCEED                                     # a converged window can still be biased
    assert label_status(resolved=True, bias=0.019, converged=True, bias_err=0.05, label_err=0.02) \
        is LabelStatus.CONVERGED
    assert label_status(resolved=False, bias=0.5, **common) is LabelStatus.UNRESOLVED
    assert label_status(resolved=False, bias=0.0, **common) is LabelStatus.UNRESOLVED
    assert label_status(resolved=False, bias=0.0, converged=True, bias_err=0.05, label_err=0.02) \
        is LabelStatus.CONVERGED
    assert label_status(resolved=False, bias=0.5, converged=True, bias_err=0.05, label_err=0.02) \
        is LabelStatus.UNRESOLVED               # a fit slower than its grid and far off: not bounded either way
    assert label_status(resolved=None, bias=math.nan, **common) is LabelStatus.NOT_CHECKED
    assert label_status(resolved=None, bias=math.nan, converged=True, bias_err=0.0, label_err=0.0) \
        is LabelStatus.CONVERGED
    assert [needs_longer_runs(str(s)) for s in LabelStatus] == [False, False, True, True, False]
    assert not needs_longer_runs(None)
