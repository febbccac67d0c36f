"""Onsager coefficients of one replica (Einstein form, centre-of-mass corrected), and replica statistics.

    L^{ij} = 1/(6 kT V) d/dt < Σ_α Δr_i^α(t) · Σ_β Δr_j^β(t) >        (eq. 6)
    L_self^{ii} = 1/(6 kT V) d/dt Σ_α < [Δr_i^α(t)]² >                  (eq. 7)
    κ = Σ_ij z_i z_j L^{ij},  Λ = κ / c,  Λ_NE = (L_self^{++} + L_self^{--}) / c

with positions relative to the centre of mass of the whole system (all
beads have unit mass), e = 1 and reduced units throughout. Where the
trajectory holds velocities, the Green–Kubo estimate

    κ_GK = 1/(3 kT V) ∫_0^{t0} < J(0) · J(t) > dt,   J = Σ_i z_i (v_i − v_cm)

is given beside the Einstein one, integrated (trapezoids over the frames) up
to the start t0 of the Einstein fit window, where the MSD is already linear
and the current correlation has decayed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from core.trajectory_import import ImportOptions, frames_of
from core.transport.correlation import displacement_correlation, time_correlation
from core.transport.window import choose_window, fit_slope

#: Bumped whenever the numbers this module produces change; part of cache keys.
TRANSPORT_VERSION = "2"


@dataclass(frozen=True)
class ReplicaTransport:
    """Transport coefficients of one trajectory (reduced units; L in σ⁻¹ τ⁻¹ ε⁻¹... per kT = 1)."""

    n_frames: int
    n_cations: int
    n_anions: int
    volume: float
    concentration: float
    L_pp: float
    L_mm: float
    L_pm: float
    L_self_pp: float
    L_self_mm: float
    D_p: float
    D_m: float
    kappa: float
    kappa_err: float
    molar_conductivity: float
    molar_conductivity_ne: float
    ionicity: float
    fit_t0: float
    fit_t1: float
    msd_loglog_slope: float
    diffusive: bool
    kappa_green_kubo: float = float("nan")
    L_ss: float = float("nan")
    L_ps: float = float("nan")
    L_ms: float = float("nan")
    L_self_ss: float = float("nan")
    D_s: float = float("nan")


@dataclass(frozen=True)
class TransportCurves:
    """The correlation functions behind one replica's numbers, for diagnostic plots.

    lag_times: (T−1,) τ. ion_msd: (T−1,) mean-squared displacement per ion, σ².
    charge: (T−1,) < |Σ_i z_i Δr_i|² >, σ². current: (T,) < J(0)·J(t) > at lags 0…T−1
    (empty without velocities). window: the Einstein fit window [t0, t1], τ.
    """

    lag_times: np.ndarray
    ion_msd: np.ndarray
    charge: np.ndarray
    current: np.ndarray
    window: tuple[float, float]


def replica_transport(path: Path, *, kT: float = 1.0, timestep: float | None = None,
                      fit_window: tuple[float, float] | None = None, slope_tolerance: float = 0.1,
                      min_decades: float = 1.0, import_options: ImportOptions | None = None,
                      include_solvent: bool = False) -> ReplicaTransport:
    """Read ``path`` frame by frame and compute its Onsager coefficients (see :func:`replica_transport_curves`)."""
    return replica_transport_curves(path, kT=kT, timestep=timestep, fit_window=fit_window,
                                    slope_tolerance=slope_tolerance, min_decades=min_decades,
                                    import_options=import_options, include_solvent=include_solvent)[0]


def replica_transport_curves(path: Path, *, kT: float = 1.0, timestep: float | None = None,
                             fit_window: tuple[float, float] | None = None, slope_tolerance: float = 0.1,
                             min_decades: float = 1.0, import_options: ImportOptions | None = None,
                             include_solvent: bool = False) -> tuple[ReplicaTransport, TransportCurves]:
    """The Onsager coefficients of ``path`` and the curves they were fitted on.

    ``path`` is a localcond GSD file, or with ``import_options`` any trajectory
    MDAnalysis reads (:mod:`core.trajectory_import`). ``include_solvent`` adds
    L^{ss}, L^{+s}, L^{-s}, L_self^{ss} and D_s (and keeps the solvent's positions).
    Memory grows with ions × frames: only the ions' unwrapped positions
    relative to the centre of mass (and, where stored, the charge current) are
    kept; the centre of mass of all beads is computed per frame and discarded.
    """
    cations: list[np.ndarray] = []
    anions: list[np.ndarray] = []
    currents: list[np.ndarray] = []
    solvent: list[np.ndarray] = []
    times: list[float] = []
    volume = 0.0
    for frame in frames_of(path, import_options, timestep):
        unwrapped = frame.unwrapped_positions()
        centre = unwrapped.mean(axis=0)
        sign = frame.ion_sign
        cations.append(unwrapped[sign > 0] - centre)
        anions.append(unwrapped[sign < 0] - centre)
        if include_solvent:
            solvent.append(unwrapped[sign == 0] - centre)
        if frame.velocities is not None:
            relative = frame.velocities - frame.velocities.mean(axis=0)
            currents.append(relative[sign > 0].sum(axis=0) - relative[sign < 0].sum(axis=0))
        times.append(frame.time)
        volume = float(np.prod(frame.box))
    if len(times) < 4:
        raise ValueError(f"{path}: {len(times)} frames; transport needs at least 4")
    plus, minus = np.stack(cations), np.stack(anions)
    lag_times = np.asarray(times[1:]) - times[0]

    self_pp = displacement_correlation(plus)[1:]
    self_mm = displacement_correlation(minus)[1:]
    total_p, total_m = plus.sum(axis=1), minus.sum(axis=1)
    collective_pp = displacement_correlation(total_p)[1:]
    collective_mm = displacement_correlation(total_m)[1:]
    collective_pm = displacement_correlation(total_p, total_m)[1:]
    charge = collective_pp + collective_mm - 2.0 * collective_pm

    n_p, n_m = plus.shape[1], minus.shape[1]
    ion_msd = (self_pp + self_mm) / (n_p + n_m)
    window = choose_window(lag_times, ion_msd, slope_tolerance=slope_tolerance,
                           min_decades=min_decades, forced=fit_window)
    scale = 1.0 / (6.0 * kT * volume)
    slope = {name: fit_slope(lag_times, series, window) for name, series in {
        "pp": collective_pp, "mm": collective_mm, "pm": collective_pm,
        "self_pp": self_pp, "self_mm": self_mm, "charge": charge}.items()}
    concentration = n_p / volume
    kappa = slope["charge"][0] * scale
    lambda_ne = (slope["self_pp"][0] + slope["self_mm"][0]) * scale / concentration
    current = time_correlation(np.stack(currents)) if len(currents) == len(times) else np.zeros(0)
    kappa_gk = green_kubo(current, np.concatenate([[0.0], lag_times]), window.t0, kT, volume)
    result = ReplicaTransport(
        n_frames=len(times), n_cations=n_p, n_anions=n_m, volume=volume, concentration=concentration,
        L_pp=slope["pp"][0] * scale, L_mm=slope["mm"][0] * scale, L_pm=slope["pm"][0] * scale,
        L_self_pp=slope["self_pp"][0] * scale, L_self_mm=slope["self_mm"][0] * scale,
        D_p=slope["self_pp"][0] / (6.0 * n_p), D_m=slope["self_mm"][0] / (6.0 * n_m),
        kappa=kappa, kappa_err=slope["charge"][1] * scale,
        molar_conductivity=kappa / concentration, molar_conductivity_ne=lambda_ne,
        ionicity=(kappa / concentration) / lambda_ne if lambda_ne else float("nan"),
        fit_t0=window.t0, fit_t1=window.t1, msd_loglog_slope=window.loglog_slope, diffusive=window.diffusive,
        kappa_green_kubo=kappa_gk)
    if include_solvent and solvent and np.stack(solvent).shape[1]:
        result = replace(result, **_solvent_terms(np.stack(solvent), total_p, total_m, lag_times, window, scale))
    return result, TransportCurves(lag_times, ion_msd, charge, current, (window.t0, window.t1))


def _solvent_terms(positions: np.ndarray, total_p: np.ndarray, total_m: np.ndarray, lag_times: np.ndarray,
                   window, scale: float) -> dict[str, float]:
    """L^{ss}, L^{+s}, L^{-s}, L_self^{ss} and D_s from (T, N_s, 3) solvent positions."""
    total_s = positions.sum(axis=1)
    slopes = {name: fit_slope(lag_times, series[1:], window)[0] for name, series in {
        "ss": displacement_correlation(total_s), "ps": displacement_correlation(total_p, total_s),
        "ms": displacement_correlation(total_m, total_s), "self_ss": displacement_correlation(positions)}.items()}
    return {"L_ss": slopes["ss"] * scale, "L_ps": slopes["ps"] * scale, "L_ms": slopes["ms"] * scale,
            "L_self_ss": slopes["self_ss"] * scale, "D_s": slopes["self_ss"] / (6.0 * positions.shape[1])}


def green_kubo(current: np.ndarray, times: np.ndarray, upper: float, kT: float, volume: float) -> float:
    """κ = 1/(3 kT V) ∫_0^upper C_JJ(t) dt by trapezoids; nan without a current or with < 2 points.

    ``current`` (T,) C_JJ at ``times`` (T,) lags from 0, τ.
    """
    inside = times <= upper + 1e-12
    if len(current) == 0 or inside.sum() < 2:
        return float("nan")
    t, c = times[inside], current[inside]
    return float(np.sum(0.5 * (c[1:] + c[:-1]) * np.diff(t))) / (3.0 * kT * volume)


AGGREGATED = ("L_pp", "L_mm", "L_pm", "L_self_pp", "L_self_mm", "D_p", "D_m", "kappa",
              "molar_conductivity", "molar_conductivity_ne", "ionicity", "fit_t0", "fit_t1", "kappa_green_kubo",
              "L_ss", "L_ps", "L_ms", "L_self_ss", "D_s")


def aggregate_replicas(replicas: list[ReplicaTransport]) -> dict[str, Any]:
    """Mean, standard deviation (ddof = 1; NaN for one replica) and count of every quantity.

    The row has each name in ``AGGREGATED`` (mean) and ``<name>_std``, plus
    ``n_replicas`` and ``diffusive`` (all replicas diffusive).
    """
    row: dict[str, Any] = {"n_replicas": len(replicas)}
    for name in AGGREGATED:
        values = np.array([getattr(r, name) for r in replicas], dtype=np.float64)
        row[name] = float(values.mean())
        row[f"{name}_std"] = float(values.std(ddof=1)) if len(values) > 1 else float("nan")
    row["diffusive"] = all(r.diffusive for r in replicas)
    return row


def replica_row(replica: ReplicaTransport) -> dict[str, Any]:
    """A per-replica table row."""
    return asdict(replica)
