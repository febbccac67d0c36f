"""Each ion's measured share of the conductivity: a Green–Kubo attribution per environment (replica, frame, ion).

Derivation (docs/transport.md, "Local attribution"). With M(t) = Σ_j z_j r_j(t) in the centre-of-mass
frame and J = dM/dt, Green–Kubo gives 6 V kT κ = 2 ∫_0^∞ ⟨J(0)·J(t)⟩ dt = Σ_i 2 ∫_0^∞ ⟨z_i v_i(0)·J(t)⟩ dt,
a sum over ions of their share of the current. From positions only, at frame s with a velocity
difference of half-width δ and a current window of half-width h ≥ δ,

    u_i(s) = z_i [r_i(s+δ) − r_i(s−δ)]/(2δ) · [M(s+h) − M(s−h)].

Summed over ions, ⟨Σ_i u_i⟩ = ⟨(M(s+δ) − M(s−δ))·(M(s+h) − M(s−h))⟩/(2δ) = [g(h+δ) − g(h−δ)]/(2δ), with
g(t) = ⟨|M(t) − M(0)|²⟩ the charge MSD: exactly 6 V kT κ wherever g is linear on [h − δ, h + δ], i.e. once
h − δ is past the charge current's memory. So

    k_i(s) = n_ions · u_i(s) / (6 kT F),        F = c V (formula units, or equivalents for a mixture)

is a noisy, unbiased measurement of what ion i contributes to Λ = κ / c in the environment it has at s:
its mean over ions and frames is Λ, and its conditional expectation given the environment at s is a local
conductivity the data determine. The velocity is taken at s, where the environment is, not at the start
of a late window: a slope from an origin t0 over a late window forgets the environment at t0 and tends to
the unconditional rate (the environment would show only in an offset).

It splits into a self part z_i² v_i·[r_i(s+h) − r_i(s−h)] (well determined; its mean is the ion's
Nernst–Einstein share) and a distinct part z_i v_i·Σ_{j≠i} z_j [r_j(s+h) − r_j(s−h)] (noisy; it carries
the ion-pair physics: an ion dragging a counter-ion contributes less). For dynamics without memory
(increments with zero conditional mean), the terms of M outside [s − δ, s + δ] have zero mean and
E[k_i | state] is n_ions z_i Σ_j z_j ⟨Δr_i·Δr_j⟩/(2δ)/(6 kT F) exactly, whatever h: the known answer of
the tests.

Lower variance, same mean (``cutoff`` R_c): the distinct part's noise comes mostly from ions far from i,
whose displacements are uncorrelated with v_i but enter ΔM in full (measured: its standard deviation is
4–5× the self part's). The stored label keeps the self part and the distinct terms of the ions within
R_c of i at frame s, and replaces the rest by its mean over every ion of i's valence and every frame,

    k_i^R(s) = n_ions z_i v_i · Σ_{j: |r_ij(s)| < R_c} z_j Δr_j / (6 kT F) + ⟨far part⟩_{z_i},

so the system mean is unchanged exactly, and the conditional expectation is unchanged wherever the
correlation of v_i with the charge displacement beyond R_c does not depend on i's environment (true for
dynamics without memory; for electrolytes the far part's bin means are measured against its mean by the
``local-attribution`` analysis' ``far`` columns). ``cutoff = None`` keeps every ion's term (the plain sum).

Noise: k_i(s) is one product of two fluctuating vectors; its variance grows with h (|ΔM|² ∝ h) and is far
larger than the spread of its conditional mean, so it is useful averaged (over bins, or as a regression
label with its own variance). :func:`block_mean` gives the standard error of a mean over environments with
frames grouped into blocks at least 2h long, since environments of one frame share ΔM and frames closer
than 2h share part of it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.results import AttributionSummary, Estimate

from core.transport.replica_files import ReplicaPositions

#: Version of the numbers below; part of the transport stage's key through ``TRANSPORT_VERSION``.
ATTRIBUTION_VERSION = "2"
#: Frames per chunk of the vectorised computation (bounds memory to a few (chunk, n_ions, 3) arrays).
CHUNK_FRAMES = 256


@dataclass(frozen=True)
class ReplicaAttribution:
    """The attribution of every ion at every frame of one replica (Λ units, reduced: e²/(σ τ kT) per σ⁻³).

    total: (T, n_ions) float32 k_i(s) (with a ``cutoff``, the near terms plus the far part's mean); NaN at
        the first and last ``horizon_frames`` frames, where the window leaves the run.
    self_part: (T, n_ions) float32 its self part (distinct = total − self).
    far_part: (T, n_ions) float32 the distinct terms of ions beyond the cutoff (all zero without one), as
        measured, before their mean replaced them in ``total``.
    ion_index: (n_ions,) int64 particle index of each column in the trajectory's frames.
    valence: (n_ions,) z of each column.
    """

    total: np.ndarray
    self_part: np.ndarray
    ion_index: np.ndarray
    valence: np.ndarray
    far_part: np.ndarray | None = None

    @property
    def distinct_part(self) -> np.ndarray:
        """(T, n_ions) k_i − its self part: the cross terms with the other ions' displacements."""
        return self.total - self.self_part


def replica_attribution(positions: ReplicaPositions, *, horizon_frames: int, formula_units: float, kT: float = 1.0,
                        delta_frames: int = 1, cutoff: float | None = None) -> ReplicaAttribution:
    """k_i(s), its self part and its far part for every ion and frame of ``positions`` (see the module docstring).

    ``horizon_frames`` h and ``delta_frames`` δ in frames (h ≥ δ ≥ 1); ``formula_units`` F = c V, what Λ is
    per in the box; ``kT`` in ε; ``cutoff`` R_c (σ) splits the distinct terms into near and far (the far
    part is returned separately and ``total`` holds the near terms only: :func:`system_attribution` adds the
    far part's mean). Ions are the cations then the anions of ``positions``.
    """
    if cutoff is not None and not (math.isfinite(cutoff) and cutoff > 0):
        raise ValueError(f"cutoff must be a positive number of σ or None, got {cutoff!r}")
    if not (isinstance(delta_frames, int) and delta_frames >= 1):
        raise ValueError(f"delta_frames must be an integer >= 1, got {delta_frames!r}")
    if not (isinstance(horizon_frames, int) and horizon_frames >= delta_frames):
        raise ValueError(f"horizon_frames must be an integer >= delta_frames ({delta_frames}), got {horizon_frames!r}")
    if not (math.isfinite(formula_units) and formula_units > 0 and math.isfinite(kT) and kT > 0):
        raise ValueError(f"formula_units and kT must be positive numbers, got {formula_units!r} and {kT!r}")
    ions = positions.ions
    n_frames, n_ions = ions.shape[:2]
    valence = np.asarray(positions.ion_valence, dtype=np.float64)
    if valence.shape != (n_ions,):
        raise ValueError(f"{positions.source}: {len(valence)} ion valences for {n_ions} ions")
    total, self_part, far_part = (np.full((n_frames, n_ions), np.nan, dtype=np.float32) for _ in range(3))
    h, d = horizon_frames, delta_frames
    scale = n_ions / (6.0 * kT * formula_units) / (2.0 * d * positions.frame_interval)
    box = np.asarray(positions.box, dtype=np.float64)
    if cutoff is not None and not np.all(np.isfinite(box)):
        raise ValueError(f"{positions.source}: no box edges; the attribution's cutoff needs them")
    chunk = CHUNK_FRAMES
    for start in range(h, n_frames - h, chunk):
        s = np.arange(start, min(start + chunk, n_frames - h))
        velocity = ions[s + d] - ions[s - d]                         # (S, n, 3) × 2δ Δt
        window = ions[s + h] - ions[s - h]                           # (S, n, 3)
        charge = np.einsum("j,sjd->sd", valence, window)            # ΔM, (S, 3)
        full = scale * valence * np.einsum("snd,sd->sn", velocity, charge)
        self_part[s] = scale * valence ** 2 * np.einsum("snd,snd->sn", velocity, window)
        if cutoff is None:
            total[s], far_part[s] = full, 0.0
            continue
        local_charge = _near_sum(ions[s], box, cutoff, valence[None, :, None] * window)   # Σ_{j near i} z_j Δr_j
        total[s] = scale * valence * np.einsum("snd,snd->sn", velocity, local_charge)
        far_part[s] = full - total[s]
    return ReplicaAttribution(total, self_part, np.asarray(positions.ion_index, dtype=np.int64), valence, far_part)


def _near_sum(positions: np.ndarray, box: np.ndarray, cutoff: float, values: np.ndarray) -> np.ndarray:
    """(S, n, 3): for each frame and ion i, the sum of ``values`` (S, n, 3) over i itself and the ions of the
    same frame closer than ``cutoff`` (minimum image).

    One k-d tree holds every frame of the chunk, each frame shifted along a fourth axis by more than the
    cutoff, so pairs never join two frames and the cost grows with the neighbours, not S·n².
    ``positions`` (S, n, 3) σ, any origin (wrapped here); ``box`` (3,) edges, σ."""
    from scipy.spatial import cKDTree

    frames, n, _ = positions.shape
    spacing = 2.0 * cutoff + 1.0
    points = np.empty((frames * n, 4))
    points[:, :3] = np.mod(positions, box).reshape(-1, 3)
    points[:, 3] = np.repeat(np.arange(frames) * spacing, n)
    boxsize = np.append(box * (1 + 1e-12), (frames + 1) * spacing)      # the frame axis never wraps into use
    pairs = cKDTree(points, boxsize=boxsize).query_pairs(cutoff, output_type="ndarray")
    flat = values.reshape(-1, values.shape[-1])
    out = flat.copy()
    if len(pairs):
        first, second = pairs[:, 0], pairs[:, 1]
        for axis in range(flat.shape[1]):
            out[:, axis] += np.bincount(first, weights=flat[second, axis], minlength=len(out))
            out[:, axis] += np.bincount(second, weights=flat[first, axis], minlength=len(out))
    return out.reshape(values.shape)


def horizon_frames(plateau_start: float, frame_interval: float, delta_frames: int = 1) -> int:
    """h in frames for a charge MSD linear from ``plateau_start`` τ on: the smallest h with h − δ ≥ it."""
    return max(delta_frames, math.ceil(plateau_start / frame_interval - 1e-9) + delta_frames)


def shared_horizon(run_length: float, *, fit_window: tuple[float, float] | None, max_window_fraction: float,
                   min_decades: float) -> float:
    """The ``auto`` plateau start H (τ) of every system's shares: where the label's window may start at the latest.

    The automatic fit window [t0, 10^d t0] ends within ``max_window_fraction`` of the run, so t0 ≤ f T / 10^d
    for every system: past that lag, the running Green–Kubo integral has reached the plateau the label's
    window measures (the window search's own criterion), whatever system. ``run_length`` T (τ): the
    recipe's production run (or a system's shortest replica, for trajectories the recipe does not make). A
    forced ``fit_window`` gives its t0, the same for all systems, at most T/4 (so that half the frames keep
    a share).
    """
    if fit_window is not None:
        return float(min(fit_window[0], run_length / 4.0))
    return float(max_window_fraction * run_length / 10.0 ** min_decades)


def block_mean(values: np.ndarray, blocks: np.ndarray) -> tuple[float, float, int]:
    """(mean, standard error, number of blocks) of ``values`` (n,), with ``blocks`` (n,) labelling which
    values are correlated (environments of nearby frames): the ratio estimator over blocks.

    The error is √(B/(B−1) Σ_b (S_b − m n_b)²) / N, S_b and n_b each block's sum and count; NaN with
    fewer than two blocks.
    """
    values = np.asarray(values, dtype=np.float64)
    if len(values) == 0:
        return float("nan"), float("nan"), 0
    labels, inverse = np.unique(blocks, return_inverse=True)
    sums = np.bincount(inverse, weights=values)
    counts = np.bincount(inverse).astype(np.float64)
    mean = float(sums.sum() / counts.sum())
    if len(labels) < 2:
        return mean, float("nan"), len(labels)
    spread = np.sum((sums - mean * counts) ** 2) * len(labels) / (len(labels) - 1)
    return mean, float(math.sqrt(spread) / counts.sum()), len(labels)


def frame_blocks(replica: np.ndarray, frame: np.ndarray, horizon: int) -> np.ndarray:
    """A block label per environment: its replica and its frame // (2 h + 1) (frames further apart than the
    current window are nearly independent)."""
    length = 2 * max(int(horizon), 0) + 1
    return np.asarray(replica, dtype=np.int64) * (1 << 40) + np.asarray(frame, dtype=np.int64) // length


@dataclass(frozen=True)
class SystemAttribution:
    """A system's attribution, as stored beside its transport result (``attribution.npz``).

    replicas: one :class:`ReplicaAttribution` per replica, in replica order.
    horizon: h, τ; horizon_frames: h in frames; delta_frames: δ in frames.
    variance: (n_ions,) the variance of one k_i(s) over the frames and replicas, pooled per species: the
        noise of one label (it dwarfs the spread of the conditional mean).
    cutoff: R_c (σ) of the near distinct terms; None: every ion's (see the module docstring).
    far_mean, far_mean_err: (n_ions,) the far part's mean that ``total`` holds in place of the measured far
        part, per ion (the same for the ions of one valence), and its standard error (0 without a cutoff).
    """

    replicas: list[ReplicaAttribution]
    horizon: float
    horizon_frames: int
    delta_frames: int
    variance: np.ndarray
    cutoff: float | None = None
    far_mean: np.ndarray | None = None
    far_mean_err: np.ndarray | None = None

    def full(self, replica: int) -> np.ndarray:
        """(T, n_ions) the plain estimator (every ion's terms) of replica ``replica``: ``total`` with the far
        part's mean taken out and the measured far part put back."""
        data = self.replicas[replica]
        if data.far_part is None or self.far_mean is None:
            return data.total
        return data.total - self.far_mean.astype(np.float32) + data.far_part

    def at(self, replica: np.ndarray, frame: np.ndarray, ion_index: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(k, self part, label variance), each (n,) float64, of the environments (replica, frame, particle
        index) given as (n,) arrays; NaN where the window leaves the run or the frame is beyond it."""
        total, self_part, variance, _ = self.lookup(replica, frame, ion_index)
        return total, self_part, variance

    def lookup(self, replica: np.ndarray, frame: np.ndarray, ion_index: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`at`, and the far part of each environment's distinct terms (0 without a cutoff)."""
        replica, frame, ion_index = (np.asarray(a, dtype=np.int64) for a in (replica, frame, ion_index))
        total, self_part, variance, far = (np.full(len(replica), np.nan) for _ in range(4))
        for number, data in enumerate(self.replicas):
            rows = np.flatnonzero(replica == number)
            if not len(rows):
                continue
            order = np.argsort(data.ion_index)
            position = np.searchsorted(data.ion_index, ion_index[rows], sorter=order)
            column = order[np.minimum(position, len(order) - 1)]
            if np.any(data.ion_index[column] != ion_index[rows]):
                raise ValueError(f"replica {number}: environments name particles that are not ions of the "
                                 "attribution")
            inside = frame[rows] < data.total.shape[0]
            chosen, columns = rows[inside], column[inside]
            total[chosen] = data.total[frame[chosen], columns]
            self_part[chosen] = data.self_part[frame[chosen], columns]
            far[chosen] = data.far_part[frame[chosen], columns] if data.far_part is not None else 0.0
            variance[rows] = self.variance[column]
        return total, self_part, variance, far


def system_attribution(positions: Sequence[ReplicaPositions], *, plateau_start: float, formula_units: float,
                       kT: float = 1.0, delta_frames: int = 1, cutoff: float | None = None) -> SystemAttribution:
    """The attribution of every replica of a system, with h − δ ≥ ``plateau_start`` (τ; the transport stage
    passes one value for all systems, :func:`shared_horizon`); with
    a ``cutoff`` (σ), the far part of each ion's distinct terms is replaced by its mean over the ions of its
    valence and all frames and replicas (the system mean is unchanged)."""
    h = horizon_frames(plateau_start, positions[0].frame_interval, delta_frames)
    shortest = min(p.ions.shape[0] for p in positions)
    if 2 * h >= shortest:
        raise ValueError(f"{positions[0].source}: the attribution's horizon h = {h} frames "
                         f"({h * positions[0].frame_interval:g} τ) leaves no frame of a {shortest}-frame run "
                         "(a frame needs h frames on either side); lower transport.attribution_horizon")
    replicas = [replica_attribution(p, horizon_frames=h, formula_units=formula_units, kT=kT,
                                    delta_frames=delta_frames, cutoff=cutoff) for p in positions]
    valence = replicas[0].valence
    far_mean, far_err = np.zeros(len(valence)), np.zeros(len(valence))
    if cutoff is not None:
        for z in np.unique(valence):
            columns = valence == z
            samples, blocks = [], []
            for number, r in enumerate(replicas):
                defined = np.flatnonzero(np.isfinite(r.far_part[:, 0]))
                samples.append(r.far_part[defined][:, columns].mean(axis=1))
                blocks.append(frame_blocks(np.full(len(defined), number), defined, h))
            mean, error, _ = block_mean(np.concatenate(samples), np.concatenate(blocks))
            far_mean[columns], far_err[columns] = (mean, error) if np.isfinite(mean) else (0.0, 0.0)
            for r in replicas:
                r.total[:, columns] += np.float32(far_mean[columns][0])
    return SystemAttribution(replicas, h * positions[0].frame_interval, h, delta_frames,
                             _species_variance(replicas), cutoff, far_mean, far_err)


def _species_variance(replicas: list[ReplicaAttribution]) -> np.ndarray:
    """(n_ions,) the variance of k over frames and replicas, pooled over the ions of each valence."""
    valence = replicas[0].valence
    stacked = np.concatenate([r.total for r in replicas], axis=0).astype(np.float64)
    out = np.full(len(valence), np.nan)
    for z in np.unique(valence):
        columns = valence == z
        values = stacked[:, columns]
        values = values[np.isfinite(values)]
        if len(values) > 1:
            out[columns] = float(np.var(values, ddof=1))
    return out


def summary(attribution: SystemAttribution) -> AttributionSummary:
    """Λ as the mean of the attribution (with its block standard error), its self part, and the horizon (τ).

    ``molar_conductivity_attributed`` estimates the same Λ as the Einstein fit (from the charge MSD's slope
    at h rather than over the window): the two agreeing within their errors checks the attribution's scale.
    """
    totals, selves, blocks = [], [], []
    for number, data in enumerate(attribution.replicas):
        defined = np.isfinite(data.total[:, 0])
        frames = np.flatnonzero(defined)
        totals.append(attribution.full(number)[defined].mean(axis=1))       # Λ sample of each frame
        selves.append(data.self_part[defined].mean(axis=1))
        blocks.append(frame_blocks(np.full(len(frames), number), frames, attribution.horizon_frames))
    total, error, _ = block_mean(np.concatenate(totals), np.concatenate(blocks))
    self_mean, self_error, _ = block_mean(np.concatenate(selves), np.concatenate(blocks))
    return AttributionSummary(Estimate(total, error), Estimate(self_mean, self_error), attribution.horizon)


def save_attribution(attribution: SystemAttribution, path: Path) -> None:
    """Write ``attribution`` to ``path`` (.npz; float32 per-frame arrays)."""
    arrays: dict[str, np.ndarray] = {
        "horizon": np.array(attribution.horizon), "horizon_frames": np.array(attribution.horizon_frames),
        "delta_frames": np.array(attribution.delta_frames), "variance": attribution.variance,
        "n_replicas": np.array(len(attribution.replicas))}
    if attribution.cutoff is not None:
        arrays.update(cutoff=np.array(attribution.cutoff), far_mean=attribution.far_mean,
                      far_mean_err=attribution.far_mean_err)
    for number, data in enumerate(attribution.replicas):
        arrays.update({f"total_{number}": data.total, f"self_{number}": data.self_part,
                       f"ion_index_{number}": data.ion_index, f"valence_{number}": data.valence})
        if data.far_part is not None:
            arrays[f"far_{number}"] = data.far_part
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)


def load_attribution(path: Path) -> SystemAttribution:
    """The :class:`SystemAttribution` saved at ``path``."""
    with np.load(path) as saved:
        replicas = [ReplicaAttribution(saved[f"total_{n}"], saved[f"self_{n}"], saved[f"ion_index_{n}"],
                                       saved[f"valence_{n}"], saved[f"far_{n}"] if f"far_{n}" in saved else None)
                    for n in range(int(saved["n_replicas"]))]
        return SystemAttribution(replicas, float(saved["horizon"]), int(saved["horizon_frames"]),
                                 int(saved["delta_frames"]), saved["variance"],
                                 float(saved["cutoff"]) if "cutoff" in saved else None,
                                 saved["far_mean"] if "far_mean" in saved else None,
                                 saved["far_mean_err"] if "far_mean_err" in saved else None)
