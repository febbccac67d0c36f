"""Onsager coefficients of a system from its replicas (Einstein form, centre-of-mass corrected), with uncertainties.

    L^{ij} = 1/(6 kT V) d/dt < Σ_α Δr_i^α(t) · Σ_β Δr_j^β(t) >        (eq. 6)
    L_self^{ii} = 1/(6 kT V) d/dt Σ_α < [Δr_i^α(t)]² >                  (eq. 7)
    κ = Σ_ij z_i z_j L^{ij},  Λ = κ / c,  Λ_NE = (z₊² L_self^{++} + z₋² L_self^{--}) / c

with positions relative to the centre of mass of the whole system (weighted by
the file's masses where it has them, else equal), e = 1 and reduced units
throughout. One cation species of valence z₊ and one anion species of valence
z₋ (from the file's charges; ±1 without them), electroneutral: z₊N₊ + z₋N₋ = 0.
c is the concentration of formula units M_ν₊X_ν₋ (ν₊ = |z₋|/g, ν₋ = z₊/g,
g = gcd(z₊, |z₋|)), so Λ is per formula unit; Λ_eq = κ / (z₊ c₊) is per
equivalent. For a 1:1 salt both are κ / c₊.

A mixture (more than two ionic species a, b, …: Li⁺ and Mg²⁺ with TFSI⁻, say) gets the whole
matrix L^{ab} over its species, κ = Σ_ab z_a z_b L^{ab}, Λ_NE = Σ_a z_a² L_self^{aa} / c, and Λ per
equivalent (c = Σ_a z_a c_a over the cation species), since a formula unit is not defined; the row's
``molar_conductivity_basis`` says which. L_pp, L_mm, L_pm, D_p and D_m then pool all cations and all
anions.

Estimation (see docs/transport.md): one fit window per system, the earliest
diffusive decade of the ions' self MSD pooled over the replicas, ending at most
at ``max_window_fraction`` of the run. Every slope is a generalised least-squares
fit of its displacement correlation over that window, with the covariance of
overlapping time origins (:mod:`core.transport.gls`); the same linear weights (the
GLS weights of the charge MSD) serve every coefficient, so κ = Σ z_i z_j L^{ij}
holds exactly. Each replica's uncertainty follows from that covariance, with the
line parameters pooled over the replicas; the system's value is the
inverse-variance weighted mean over replicas, and its uncertainty the pooled one.
The replica scatter is kept beside it (``_std``) as a check.

Where the trajectory holds velocities, the Green–Kubo estimate

    κ_GK = 1/(3 kT V) ∫_0^{t0} < J(0) · J(t) > dt,   J = Σ_i z_i (v_i − v_cm)

is given beside the Einstein one, integrated (trapezoids over the frames) up
to the start t0 of the Einstein fit window, where the MSD is already linear
and the current correlation has decayed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from core.results import ESTIMATED, Estimate, SpeciesTransport, SystemTransport, TransportWindow
from core.md.species import charge_balance
from core.transport.curves import CORRELATIONS, ReplicaCurves, walkers
from core.transport.green_kubo import green_kubo
from core.transport.gls import LineParameters, fit_lags, gls_weights, lag_kernels, msd_covariance, ols_line
from core.transport.label_status import label_check
from core.transport.window import FitWindow, check_forced_window, choose_window

#: Bumped whenever the numbers this module produces change; part of cache keys.
TRANSPORT_VERSION = "9"

#: A collective auto-slope enters the covariance floored at this fraction of its value for uncorrelated
#: ions (e.g. b_QQ >= 0.05 (b_self++ + b_self−−)): a slope estimated near zero by chance would otherwise
#: claim an error bar near zero.
COLLECTIVE_SLOPE_FLOOR = 0.05

@dataclass(frozen=True)
class ReplicaTransport:
    """Transport coefficients of one trajectory (reduced units: L in 1/(σ τ kT), D in σ²/τ, κ in e²/(σ τ kT)).

    Every ``<name>_err`` is the standard error of ``<name>`` from the trajectory itself (GLS over the
    system's window, covariance of overlapping origins, line parameters pooled over the system's replicas).
    """

    n_frames: int
    n_cations: int
    n_anions: int
    volume: float
    concentration: float
    run_length: float
    L_pp: float
    L_mm: float
    L_pm: float
    L_self_pp: float
    L_self_mm: float
    D_p: float
    D_m: float
    kappa: float
    molar_conductivity: float
    molar_conductivity_ne: float
    ionicity: float
    L_pp_err: float
    L_mm_err: float
    L_pm_err: float
    L_self_pp_err: float
    L_self_mm_err: float
    D_p_err: float
    D_m_err: float
    kappa_err: float
    molar_conductivity_err: float
    molar_conductivity_ne_err: float
    fit_t0: float
    fit_t1: float
    msd_loglog_slope: float
    diffusive: bool
    kappa_green_kubo: float = float("nan")
    z_plus: float = 1.0
    z_minus: float = -1.0
    molar_conductivity_equivalent: float = float("nan")
    molar_conductivity_equivalent_err: float = float("nan")
    L_ss: float = float("nan")
    L_ps: float = float("nan")
    L_ms: float = float("nan")
    L_self_ss: float = float("nan")
    D_s: float = float("nan")
    L_ss_err: float = float("nan")
    L_ps_err: float = float("nan")
    L_ms_err: float = float("nan")
    L_self_ss_err: float = float("nan")
    D_s_err: float = float("nan")
    molar_conductivity_basis: str = "formula unit"
    ions: str = ""
    #: A mixture's per-species numbers: ``L_a_b``, ``L_self_a``, ``D_a`` with their ``_err``, and ``z_a``,
    #: ``n_a`` (a, b species names; L_a_b for a <= b in species order, L_b_a = L_a_b).
    species_values: dict[str, float] = field(default_factory=dict)


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


@dataclass(frozen=True)
class TransportFit:
    """A system's transport from its replicas: the typed result, each replica's numbers, the window and curves."""

    transport: SystemTransport
    replicas: list[ReplicaTransport]
    window: FitWindow
    curves: list[TransportCurves]
    #: What a forced window's data support only in part (:func:`core.transport.window.check_forced_window`).
    window_warnings: tuple[str, ...] = ()

    @property
    def row(self) -> dict[str, Any]:
        """The result as a ``transport.csv`` row (:func:`core.storage.layout.transport_to_row`)."""
        from core.storage.layout import transport_to_row

        return transport_to_row(self.transport)


#: Replicas' volumes may differ by this fraction (the mean volumes of NPT runs at one state point).
VOLUME_TOLERANCE = 0.01


def _check_same_system(replicas: list[ReplicaCurves]) -> None:
    """Refuse replicas that are not of one system, or one trajectory given twice."""
    first = replicas[0]
    for number, other in enumerate(replicas[1:], start=1):
        for what, a, b, tolerance in (("frame interval", first.frame_interval, other.frame_interval, 1e-6),
                                      ("volume", first.volume, other.volume, VOLUME_TOLERANCE)):
            if abs(a - b) > tolerance * abs(a):
                raise ValueError(f"{other.source}: {what} {b:g} differs from {first.source}'s {a:g}; "
                                 "replicas of one system must share it")
        for earlier in replicas[:number]:
            if earlier.n_frames == other.n_frames and np.array_equal(earlier.correlations["charge"],
                                                                     other.correlations["charge"]):
                raise ValueError(f"{other.source}: the same trajectory as {earlier.source} (identical charge "
                                 "displacements); a file given twice, or a copy, would count its data twice and "
                                 "shrink the error by √2. Give each independent replica once")
        if first.species and other.species and first.species != other.species:
            raise ValueError(f"{other.source}: ions {', '.join(s.label for s in other.species)}, but {first.source} "
                             f"has {', '.join(s.label for s in first.species)}; replicas of one system must have "
                             "the same ions")
        if not first.mixture and (first.z_plus, first.z_minus) != (other.z_plus, other.z_minus):
            raise ValueError(f"{other.source}: valences {other.z_plus:+g}/{other.z_minus:+g}, but {first.source} has "
                             f"{first.z_plus:+g}/{first.z_minus:+g}; replicas of one system must have the same ions")
        if (first.n_cations, first.n_anions) != (other.n_cations, other.n_anions):
            raise ValueError(f"{other.source}: {other.n_cations} cations and {other.n_anions} anions, but "
                             f"{first.source} has {first.n_cations} and {first.n_anions}; replicas of one "
                             "system must have the same ions")


def _window_lags(window: FitWindow, frame_interval: float, n_frames: int) -> np.ndarray:
    first = max(1, math.ceil(window.t0 / frame_interval - 1e-9))
    last = min(n_frames - 1, math.floor(window.t1 / frame_interval + 1e-9))
    lags = np.arange(first, last + 1)
    if len(lags) < 3:
        raise ValueError(f"fit window [{window.t0:g}, {window.t1:g}] τ holds {len(lags)} lag times; need >= 3")
    return fit_lags(lags)


def _walker_counts(curves: ReplicaCurves) -> dict[str, int]:
    counts = {"p": curves.n_cations, "m": curves.n_anions, "s": curves.n_solvent}
    if curves.mixture:
        counts.update({f"x{a}": s.count for a, s in enumerate(curves.species)})
    return counts


def _pooled_line(lines: list[dict[str, tuple[float, float]]], weights: np.ndarray,
                 curves: ReplicaCurves | None = None) -> LineParameters:
    """Replica lines (name -> (slope per frame, intercept)) averaged with ``weights``, then made admissible.

    ``curves``: one replica of the system, for its valences (a 1:1 salt without it).
    """
    mean = {name: (float(np.average([l[name][0] for l in lines], weights=weights)),
                   float(np.average([l[name][1] for l in lines], weights=weights))) for name in lines[0]}
    b: dict[tuple[str, str], float] = {}
    a: dict[tuple[str, str], float] = {}
    for name, (slope, intercept) in mean.items():
        x, y = walkers(name)
        if x == y:
            b[(x, x)], a[(x, x)] = slope, max(intercept, 0.0)
    tiny = 1e-300
    mixture = curves.species if curves is not None and curves.mixture else ()
    singles = ["p", "m", "s", *(f"x{k}" for k in range(len(mixture)))]
    for single in singles:
        if (single, single) in b:
            b[(single, single)] = max(b[(single, single)], tiny)
    uncorrelated = {"P": b.get(("p", "p"), tiny), "M": b.get(("m", "m"), tiny), "S": b.get(("s", "s"), tiny)}
    if mixture:
        own = {k: b.get((f"x{k}", f"x{k}"), tiny) for k in range(len(mixture))}
        uncorrelated.update({f"X{k}": own[k] for k in own})
        uncorrelated["Q"] = sum(s.valence ** 2 * own[k] for k, s in enumerate(mixture))
    else:
        z_plus, z_minus = (curves.z_plus, curves.z_minus) if curves is not None else (1.0, -1.0)
        uncorrelated["Q"] = z_plus ** 2 * b.get(("p", "p"), tiny) + z_minus ** 2 * b.get(("m", "m"), tiny)
    for walker, free in uncorrelated.items():
        if (walker, walker) in b:
            b[(walker, walker)] = max(b[(walker, walker)], COLLECTIVE_SLOPE_FLOOR * free, tiny)
    for name, (slope, intercept) in mean.items():
        x, y = walkers(name)
        if x != y:
            bound_b, bound_a = math.sqrt(b[(x, x)] * b[(y, y)]), math.sqrt(a[(x, x)] * a[(y, y)])
            b[(x, y)] = float(np.clip(slope, -bound_b, bound_b))
            a[(x, y)] = float(np.clip(intercept, -bound_a, bound_a))
    return LineParameters(b, a)


def _gls_fits(replicas: list[ReplicaCurves], lags: list[np.ndarray], line: LineParameters
              ) -> tuple[list[dict[str, tuple[float, float]]], list[dict[str, float]]]:
    """Per replica: GLS lines (slope per frame, intercept), and each slope's variance (per frame²)."""
    fitted, variances = [], []
    for curves, chosen in zip(replicas, lags):
        kernels = lag_kernels(curves.n_frames, tuple(int(k) for k in chosen))
        w_slope, w_intercept = gls_weights(chosen, msd_covariance(kernels, line, CORRELATIONS["charge"]))
        counts = _walker_counts(curves)
        lines, variance = {}, {}
        for name, values in curves.correlations.items():
            y = values[chosen]
            lines[name] = (float(w_slope @ y), float(w_intercept @ y))
            pair = walkers(name)
            covariance = msd_covariance(kernels, line, pair, counts.get(pair[0], 1))
            variance[name] = float(w_slope @ covariance @ w_slope)
        fitted.append(lines)
        variances.append(variance)
    return fitted, variances


#: The convergence test of the charge MSD: the window's slope may exceed the next window's by at most
#: this many standard deviations of their difference (one-sided: the running Λ(t) falls towards its limit) ...
CONVERGENCE_Z = 1.0
#: ... and the test only counts where it can see a fall of this fraction of the slope (the standard
#: deviation of the difference is at most this fraction of the window's slope). Without that power the
#: window moves later instead of accepting an early, possibly biased one: on 250 τ replicas at
#: c = 0.035, l_B = 5.5, single replicas tested with z = 1 alone accepted [0.5, 5] τ in 6 of 8 cases,
#: although that window's Λ is 1.4× the converged one (benchmarks/transport_calibration.py).
CONVERGENCE_POWER = 0.1


def _fit(replicas: list[ReplicaCurves], window: FitWindow
         ) -> tuple[list[dict[str, tuple[float, float]]], list[dict[str, float]]]:
    """GLS lines and slope variances of every replica over ``window`` (parameters pooled, refined once)."""
    lengths = np.array([r.n_frames for r in replicas], dtype=np.float64)
    lags = [_window_lags(window, r.frame_interval, r.n_frames) for r in replicas]
    ols = [{name: ols_line(chosen, values[chosen]) for name, values in r.correlations.items()}
           for r, chosen in zip(replicas, lags)]
    fitted, _ = _gls_fits(replicas, lags, _pooled_line(ols, lengths, replicas[0]))
    return _gls_fits(replicas, lags, _pooled_line(fitted, lengths, replicas[0]))


def _pooled_slope(replicas: list[ReplicaCurves], window: FitWindow, name: str = "charge") -> tuple[float, float]:
    """(slope, standard error) of correlation ``name`` over ``window``, pooled over replicas, σ²/τ."""
    fitted, variances = _fit(replicas, window)
    dt = replicas[0].frame_interval
    slopes = np.array([f[name][0] for f in fitted]) / dt
    weights = 1.0 / np.maximum(np.array([v[name] for v in variances]) / dt ** 2, 1e-300)
    return float(np.sum(weights * slopes) / weights.sum()), float(1.0 / math.sqrt(weights.sum()))


def converged_window(replicas: list[ReplicaCurves], start: FitWindow, *, min_decades: float,
                     max_window_fraction: float) -> tuple[FitWindow, bool, tuple[float, float]]:
    """The earliest window, from ``start`` on, over which the charge MSD's slope has stopped falling.

    The running slope of the collective (charge) MSD relaxes towards its limit from above as ion–ion
    correlations decay, often long after the self MSD is linear (measured: at c = 0.035, l_B = 5.5 the
    slope over [0.5, 5] τ is 60 % above the one after 15 τ; docs/transport.md). Candidate windows
    W = [t, 10^d t] start at ``start.t0`` and move by quarter decades while W ends within
    ``max_window_fraction`` of the shortest run; each is compared with the next window C = [10^d t,
    min(10^2d t, T/2)] (at least a factor 2 long). W is taken when slope(W) − slope(C) ≤ z·σ, with
    σ² = σ_W² + σ_C² (their positive covariance is left out, which makes the test lenient) and
    z = :data:`CONVERGENCE_Z`, and only where σ ≤ :data:`CONVERGENCE_POWER` · slope(W) (the data can
    see a fall of that size). Returns (window, converged, (slope over C, its error)); when no
    candidate passes, the last one tested (the latest the run allows) is returned with converged False.
    """
    ratio = 10.0 ** min_decades
    shortest = min(r.run_length for r in replicas)
    chosen, late = start, (float("nan"), float("nan"))
    t0 = start.t0
    while t0 * ratio <= max_window_fraction * shortest + 1e-12:
        candidate = FitWindow(t0, t0 * ratio, start.loglog_slope, start.diffusive)
        comparison_end = min(t0 * ratio * ratio, 0.5 * shortest)
        if comparison_end < 2 * t0 * ratio:
            break
        slope, error = _pooled_slope(replicas, candidate)
        late = _pooled_slope(replicas, FitWindow(t0 * ratio, comparison_end, float("nan"), False))
        chosen = candidate
        spread = math.hypot(error, late[1])
        if spread <= CONVERGENCE_POWER * abs(slope) and slope - late[0] <= CONVERGENCE_Z * spread:
            return chosen, True, late
        t0 *= 10.0 ** 0.25
    return chosen, False, late


def system_transport(replicas: list[ReplicaCurves], *, kT: float = 1.0, fit_window: tuple[float, float] | None = None,
                     slope_tolerance: float = 0.1, min_decades: float = 1.0,
                     max_window_fraction: float = 0.25, relaxation: bool = True) -> TransportFit:
    """Transport of one system from the curves of its replicas (same ions, volume and frame interval).

    The window is chosen once for all replicas, unless ``fit_window`` (τ) forces one: the earliest
    decade where the ions' self MSD, averaged over the replicas (weighted by their lengths, over the
    lags they share), is diffusive, then moved later until the charge MSD's slope has converged
    (:func:`converged_window`). Lines are fitted by GLS with the charge MSD's covariance (parameters
    from an OLS pass, then refined once from the GLS lines), all pooled over the replicas. ``relaxation``
    adds the relaxation-aware check of the label (:func:`label_check`, about 0.1–1 s).
    """
    if not replicas:
        raise ValueError("no replicas")
    if not (math.isfinite(kT) and kT > 0):
        raise ValueError(f"kT must be a positive number, got {kT!r}")
    _check_same_system(replicas)
    first = replicas[0]
    shared = min(r.n_frames for r in replicas)
    window_warnings = tuple(check_forced_window(fit_window, shared, first.frame_interval)) if fit_window else ()
    lengths = np.array([r.n_frames for r in replicas], dtype=np.float64)
    pooled_msd = np.average([r.ion_msd[: shared - 1] for r in replicas], axis=0, weights=lengths)
    window = choose_window(first.lag_times[: shared - 1], pooled_msd, slope_tolerance=slope_tolerance,
                           min_decades=min_decades, max_fraction=max_window_fraction, forced=fit_window)
    converged, late = True, (float("nan"), float("nan"))
    start = window
    if fit_window is None and window.diffusive:
        window, converged, late = converged_window(replicas, window, min_decades=min_decades,
                                                   max_window_fraction=max_window_fraction)
    fitted, variances = _fit(replicas, window)

    volume = float(np.mean([r.volume for r in replicas]))
    scale = 1.0 / (6.0 * kT * volume)
    concentration = first.formula_units / volume
    results = [_replica_result(r, lines, variance, window, scale, concentration, kT)
               for r, lines, variance in zip(replicas, fitted, variances)]
    late_estimate = Estimate(late[0] * scale / concentration, late[1] * scale / concentration)
    transport_window = TransportWindow(window.t0, window.t1, window.loglog_slope, window.diffusive,
                                       None if fit_window is not None else bool(converged and window.diffusive),
                                       late_estimate)
    transport = _pooled_transport(results, replicas, transport_window)
    if relaxation:   # the relaxation-aware check of the label (off: no check, for speed)
        transport = replace(transport, label_check=label_check(replicas, start.t0, max_window_fraction,
                                                               scale / concentration, transport))
    curves = [TransportCurves(r.lag_times, r.ion_msd, r.correlations["charge"][1:], r.current, (window.t0, window.t1))
              for r in replicas]
    return TransportFit(transport, results, window, curves, window_warnings)


def _replica_result(curves: ReplicaCurves, lines: dict[str, tuple[float, float]], variance: dict[str, float],
                    window: FitWindow, scale: float, concentration: float, kT: float) -> ReplicaTransport:
    dt = curves.frame_interval
    slope = {name: lines[name][0] / dt for name in lines}                 # σ²/τ
    error = {name: math.sqrt(max(variance[name], 0.0)) / dt for name in variance}
    n_p, n_m = curves.n_cations, curves.n_anions
    kappa = slope["charge"] * scale
    z_p, z_m = curves.z_plus, curves.z_minus
    if curves.mixture:
        squares = [(s.valence ** 2, f"x:{a}") for a, s in enumerate(curves.species)]
    else:
        squares = [(z_p ** 2, "self_pp"), (z_m ** 2, "self_mm")]
    lambda_ne = sum(z2 * slope[name] for z2, name in squares) * scale / concentration
    lambda_ne_err = math.sqrt(sum((z2 * error[name]) ** 2 for z2, name in squares)) * scale / concentration
    equivalents = charge_balance(curves.species) / curves.volume if curves.species else z_p * n_p / curves.volume
    kappa_gk = green_kubo(curves.current, dt * np.arange(len(curves.current)), window.t0, kT, curves.volume)
    values: dict[str, Any] = dict(
        n_frames=curves.n_frames, n_cations=n_p, n_anions=n_m, volume=curves.volume, concentration=concentration,
        run_length=curves.run_length,
        L_pp=slope["pp"] * scale, L_mm=slope["mm"] * scale, L_pm=slope["pm"] * scale,
        L_self_pp=slope["self_pp"] * scale, L_self_mm=slope["self_mm"] * scale,
        D_p=slope["self_pp"] / (6.0 * n_p), D_m=slope["self_mm"] / (6.0 * n_m),
        kappa=kappa, molar_conductivity=kappa / concentration, molar_conductivity_ne=lambda_ne,
        ionicity=(kappa / concentration) / lambda_ne if lambda_ne else float("nan"),
        L_pp_err=error["pp"] * scale, L_mm_err=error["mm"] * scale, L_pm_err=error["pm"] * scale,
        L_self_pp_err=error["self_pp"] * scale, L_self_mm_err=error["self_mm"] * scale,
        D_p_err=error["self_pp"] / (6.0 * n_p), D_m_err=error["self_mm"] / (6.0 * n_m),
        kappa_err=error["charge"] * scale, molar_conductivity_err=error["charge"] * scale / concentration,
        molar_conductivity_ne_err=lambda_ne_err,
        z_plus=z_p, z_minus=z_m, molar_conductivity_equivalent=kappa / equivalents,
        molar_conductivity_equivalent_err=error["charge"] * scale / equivalents,
        fit_t0=window.t0, fit_t1=window.t1, msd_loglog_slope=window.loglog_slope, diffusive=window.diffusive,
        kappa_green_kubo=kappa_gk, molar_conductivity_basis="equivalent" if curves.mixture else "formula unit",
        ions=", ".join(s.label for s in curves.species), species_values=_species_values(curves, slope, error, scale))
    if curves.n_solvent:
        values.update(L_ss=slope["ss"] * scale, L_ps=slope["ps"] * scale, L_ms=slope["ms"] * scale,
                      L_self_ss=slope["self_ss"] * scale, D_s=slope["self_ss"] / (6.0 * curves.n_solvent),
                      L_ss_err=error["ss"] * scale, L_ps_err=error["ps"] * scale, L_ms_err=error["ms"] * scale,
                      L_self_ss_err=error["self_ss"] * scale, D_s_err=error["self_ss"] / (6.0 * curves.n_solvent))
    return ReplicaTransport(**values)


def _species_values(curves: ReplicaCurves, slope: dict[str, float], error: dict[str, float],
                    scale: float) -> dict[str, float]:
    """A mixture's per-species Onsager matrix, self terms and diffusion coefficients (empty for two species)."""
    if not curves.mixture:
        return {}
    values: dict[str, float] = {}
    names = [s.name for s in curves.species]
    for a, first in enumerate(curves.species):
        values[f"z_{first.name}"] = first.valence
        values[f"n_{first.name}"] = float(first.count)
        for b in range(a, len(names)):
            key = f"L_{first.name}_{names[b]}"
            values[key], values[f"{key}_err"] = slope[f"X:{a}:{b}"] * scale, error[f"X:{a}:{b}"] * scale
        values[f"L_self_{first.name}"] = slope[f"x:{a}"] * scale
        values[f"L_self_{first.name}_err"] = error[f"x:{a}"] * scale
        values[f"D_{first.name}"] = slope[f"x:{a}"] / (6.0 * first.count)
        values[f"D_{first.name}_err"] = error[f"x:{a}"] / (6.0 * first.count)
    return values


def _pooled_estimate(results: list[ReplicaTransport], values: np.ndarray, errors: np.ndarray) -> Estimate:
    """Inverse-variance mean over replicas with its standard error (the plain mean, no error, where an error is
    missing), and the replica scatter."""
    with np.errstate(divide="ignore", over="ignore"):
        weights = 1.0 / errors ** 2
    scatter = float(values.std(ddof=1)) if len(values) > 1 else float("nan")
    if np.all(np.isfinite(weights)) and np.all(weights > 0):
        return Estimate(float(np.sum(weights * values) / np.sum(weights)), float(1.0 / math.sqrt(np.sum(weights))),
                        scatter)
    return Estimate(float(values.mean()), float("nan"), scatter)


def _pooled_species(results: list[ReplicaTransport]) -> tuple[SpeciesTransport, ...]:
    """A mixture's per-species values pooled over replicas (valences and counts from the first)."""
    first = results[0].species_values
    names = [key[2:] for key in first if key.startswith("z_")]

    def pooled(key: str) -> Estimate:
        values = np.array([r.species_values[key] for r in results])
        errors = np.array([r.species_values[f"{key}_err"] for r in results])
        weights = 1.0 / np.maximum(errors, 1e-300) ** 2
        return Estimate(float(np.sum(weights * values) / weights.sum()), float(1.0 / math.sqrt(weights.sum())),
                        float(values.std(ddof=1)) if len(values) > 1 else float("nan"))

    return tuple(SpeciesTransport(name=name, valence=first[f"z_{name}"], count=first[f"n_{name}"],
                                  onsager=tuple((other, pooled(f"L_{name}_{other}")) for other in names[index:]),
                                  self_onsager=pooled(f"L_self_{name}"), diffusion=pooled(f"D_{name}"))
                 for index, name in enumerate(names))


def _pooled_transport(results: list[ReplicaTransport], replicas: list[ReplicaCurves],
                      window: TransportWindow) -> SystemTransport:
    """The system's transport: inverse-variance pooled values and errors, replica scatter and the window
    (identity fields left at their defaults; the transport stage fills them in)."""
    first = results[0]
    pooled = {name: _pooled_estimate(results, np.array([getattr(r, name) for r in results], dtype=np.float64),
                                     np.array([getattr(r, f"{name}_err") for r in results], dtype=np.float64))
              for name in ESTIMATED}
    ne, lam = pooled["molar_conductivity_ne"], pooled["molar_conductivity"]
    ionicity = lam.value / ne.value if ne.value else float("nan")
    ionicity_err = abs(ionicity) * math.hypot(lam.err / lam.value if lam.value else float("nan"),
                                              ne.err / ne.value if ne.value else float("nan"))
    ionicities = np.array([r.ionicity for r in results])
    green_kubo = np.array([r.kappa_green_kubo for r in results], dtype=np.float64)
    return SystemTransport(
        n_replicas=len(results), z_plus=first.z_plus, z_minus=first.z_minus, ions=first.ions,
        n_species=len(replicas[0].species) or 2, molar_conductivity_basis=first.molar_conductivity_basis, **pooled,
        ionicity=Estimate(ionicity, ionicity_err,
                          float(ionicities.std(ddof=1)) if len(results) > 1 else float("nan")),
        kappa_green_kubo=Estimate(float(green_kubo.mean()), float("nan"),
                                  float(green_kubo.std(ddof=1)) if len(green_kubo) > 1 else float("nan")),
        simulated_time=float(sum(r.run_length for r in replicas)),
        formula_concentration=first.concentration,   # what Λ is per (formula units or equivalents), σ⁻³
        species=_pooled_species(results) if first.species_values else (), window=window)

