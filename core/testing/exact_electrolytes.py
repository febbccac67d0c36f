"""Stochastic electrolytes whose long-time Onsager coefficients are exact (issue 42): known-answer trajectories.

A 1:1 salt of ``n_pairs`` cation–anion pairs with fixed partners (cation p and anion n + p), no solvent, in a
cubic periodic box. Each pair is free or bound, a two-state Markov process of its own (the pairs are
independent): it binds at rate k_b and unbinds at rate k_u = 1/T_b (T_b the mean bound lifetime), so the
stationary free fraction is α = k_u/(k_b + k_u). With R = (r₊ + r₋)/2 the pair's centre and u = r₊ − r₋ its
separation:

- free: r₊ and r₋ are independent Brownian walkers of diffusivity D_f, i.e. R has D_f/2 and u has 2 D_f,
  independent of each other;
- bound: R is a Brownian walker of diffusivity D_b, and u = a + v rattles about an anchor a: v is an
  Ornstein–Uhlenbeck vector of variance s² per component and relaxation time τ_r. At binding v is drawn from
  its stationary law and a = u − v, so the positions stay continuous; at unbinding u continues from where it
  is. s = 0 freezes u while bound (the pair moves as one body).

The charge M = Σ_i z_i r_i = Σ_p u_p, so only separations carry current. Per component and pair, the MSD of
u over a lag t, f(t) = ⟨(u(t) − u(0))²⟩, in the stationary state is (docs/transport.md derives it)

    f(t) = 4 D_f α t + 2 s² (γ/κ) [ (1 − α)(1 − e^{−κt}) + k_u (1 − α) (t − (1 − e^{−κt})/κ) ],

γ = 1/τ_r, κ = k_u + γ. The free parts give 4 D_f α t (independent increments, on for a fraction α of the
time); each bound episode, or its part within the lag, of length ℓ adds 2 s² (1 − e^{−γℓ}) (v is stationary
within it and fresh at each binding), and its expectation over the exponential episode lengths is the
bracket. Hence the exact molar conductivity of the salt (N₊ = n formula units, ⟨|ΔM|²⟩ = 3 n f):

    Λ = lim 3 n f(t) / (6 kT N₊ t) = f'(∞) / (2 kT),     f'(∞) = 4 D_f α + 2 s² k_u (1 − α) / (1 + k_u τ_r).

The charge MSD relaxes towards that slope from above, with the single rate κ, from the early slope
4 D_f α + 2 s² γ (1 − α). Three cases the issue names:

- :func:`exchange`: s = 0. f is exactly linear; the long bound lifetimes make the amount of free time in a
  run fluctuate slowly, which tests the error bars rather than the bias.
- :func:`rattle`: permanent states (no exchange, a fraction α of the pairs always free): the bound pairs'
  separations relax with τ_r and carry no long-time current.
- :func:`exchange_and_rattle`: both, with T_b = τ_r.

Simulation is exact in continuous time (no time-step error): each interval between frames is cut at the
pairs' switching times, and the Brownian and Ornstein–Uhlenbeck propagators are exact over each piece. At
t = 0 exactly round(α n) pairs, chosen at random, are free: every pair's own state process is then
stationary, so the expectations above hold exactly (the count constraint only lowers the scatter).

Units: σ, τ, kT = 1 (the simulators' reduced units); Λ in the project's σ²/τ per formula unit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from core.datatypes import Frame
from core.periodic import wrap

#: Pairs at c = 0.05 σ⁻³ in a box of 1000 beads at ρ = 0.8 σ⁻³ (1250 σ³).
N_PAIRS = 62
BOX_LENGTH = 1250.0 ** (1.0 / 3.0)
#: Diffusivities (σ²/τ) of a free ion and of a bound pair's centre, near the bead model's at c = 0.05.
D_FREE = 0.1
D_BOUND = 0.05
#: The early slope of the charge MSD above the long-time one, as a fraction of it (the named cases).
EXCESS = 0.5
TYPES = ("cation", "anion", "solvent")


@dataclass(frozen=True)
class ExactElectrolyte:
    """Pairs that bind, unbind and rattle while bound; every quantity below is exact.

    free_fraction: α, the stationary fraction of free pairs. bound_lifetime: T_b = 1/k_u, τ (``math.inf``:
    permanent states). rattle_variance: s², σ² per component. rattle_time: τ_r, τ. diffusion_free: D_f and
    diffusion_bound: D_b, σ²/τ. n_pairs: formula units; box_length: σ.
    """

    free_fraction: float = 0.5
    bound_lifetime: float = math.inf
    rattle_variance: float = 0.0
    rattle_time: float = 1.0
    diffusion_free: float = D_FREE
    diffusion_bound: float = D_BOUND
    n_pairs: int = N_PAIRS
    box_length: float = BOX_LENGTH

    def __post_init__(self) -> None:
        if not 0.0 < self.free_fraction <= 1.0:
            raise ValueError(f"free_fraction must be in (0, 1], not {self.free_fraction}")
        if not self.bound_lifetime > 0 or not self.rattle_time > 0 or self.rattle_variance < 0:
            raise ValueError("bound_lifetime and rattle_time must be > 0 and rattle_variance ≥ 0")

    @property
    def unbinding_rate(self) -> float:
        """k_u = 1/T_b, 1/τ (0 for permanent states)."""
        return 0.0 if math.isinf(self.bound_lifetime) else 1.0 / self.bound_lifetime

    @property
    def binding_rate(self) -> float:
        """k_b = k_u (1 − α)/α, 1/τ: the rate that keeps α stationary."""
        return self.unbinding_rate * (1.0 - self.free_fraction) / self.free_fraction

    def separation_msd(self, t: np.ndarray | float) -> np.ndarray:
        """f(t): the MSD of one pair's separation per component at lags t (τ), σ²; the module's formula."""
        t = np.asarray(t, dtype=np.float64)
        alpha, k_u, s2 = self.free_fraction, self.unbinding_rate, self.rattle_variance
        gamma = 1.0 / self.rattle_time
        kappa = k_u + gamma
        relaxed = -np.expm1(-kappa * t)
        bound = (gamma / kappa) * ((1 - alpha) * relaxed + k_u * (1 - alpha) * (t - relaxed / kappa))
        return 4 * self.diffusion_free * alpha * t + 2 * s2 * bound

    def centre_msd(self, t: np.ndarray | float) -> np.ndarray:
        """The MSD of one pair's centre per component, σ²: 2 (α D_f/2 + (1 − α) D_b) t."""
        t = np.asarray(t, dtype=np.float64)
        return 2 * (self.free_fraction * self.diffusion_free / 2 + (1 - self.free_fraction) * self.diffusion_bound) * t

    def charge_msd(self, t: np.ndarray | float) -> np.ndarray:
        """⟨|M(t) − M(0)|²⟩ over the three components, σ² (M = Σ z r = Σ_p u_p, pairs independent)."""
        return 3 * self.n_pairs * self.separation_msd(t)

    def ion_msd(self, t: np.ndarray | float) -> np.ndarray:
        """⟨|r(t) − r(0)|²⟩ of one ion (cation or anion alike), σ²: 3 (centre + f/4); the centre's and the
        separation's increments are uncorrelated in both states."""
        return 3 * (self.centre_msd(t) + self.separation_msd(t) / 4)

    @property
    def long_time_separation_slope(self) -> float:
        """f'(∞) = 4 D_f α + 2 s² k_u (1 − α)/(1 + k_u τ_r), σ²/τ per component."""
        alpha, k_u = self.free_fraction, self.unbinding_rate
        return 4 * self.diffusion_free * alpha + 2 * self.rattle_variance * k_u * (1 - alpha) / (1 + k_u * self.rattle_time)

    @property
    def early_separation_slope(self) -> float:
        """f'(0) = 4 D_f α + 2 s² (1 − α)/τ_r, σ²/τ per component."""
        return 4 * self.diffusion_free * self.free_fraction + 2 * self.rattle_variance * (1 - self.free_fraction) / self.rattle_time

    @property
    def molar_conductivity(self) -> float:
        """The exact long-time Λ = f'(∞)/2 (kT = 1), σ²/τ per formula unit."""
        return self.long_time_separation_slope / 2.0

    @property
    def diffusion(self) -> float:
        """The exact long-time D₊ = D₋ = α D_f/2 + (1 − α) D_b + f'(∞)/8, σ²/τ."""
        alpha = self.free_fraction
        return alpha * self.diffusion_free / 2 + (1 - alpha) * self.diffusion_bound + self.long_time_separation_slope / 8

    @property
    def nernst_einstein(self) -> float:
        """Λ_NE = D₊ + D₋ (kT = 1), σ²/τ per formula unit."""
        return 2 * self.diffusion

    @property
    def relaxation_rate(self) -> float:
        """κ = k_u + 1/τ_r, 1/τ: the one rate at which the charge MSD's slope relaxes."""
        return self.unbinding_rate + 1.0 / self.rattle_time

    def with_excess(self, excess: float) -> "ExactElectrolyte":
        """The same model with s² chosen so that f'(0) = (1 + excess) f'(∞)."""
        alpha, k_u, gamma = self.free_fraction, self.unbinding_rate, 1.0 / self.rattle_time
        if alpha >= 1.0 or not gamma > excess * k_u:
            raise ValueError("no rattle variance gives that excess (needs bound pairs and 1/τ_r > excess · k_u)")
        kappa = k_u + gamma
        scale = 2 * gamma * (1 - alpha) / kappa
        s2 = excess * 4 * self.diffusion_free * alpha / (scale * (gamma - excess * k_u))
        return replace(self, rattle_variance=float(s2))

    def positions(self, duration: float, interval: float, rng: np.random.Generator) -> np.ndarray:
        """Unwrapped positions (n_frames, 2 n_pairs, 3), σ, cations first, a frame every ``interval`` τ from
        t = 0 to ``duration`` τ (n_frames = round(duration/interval) + 1), exact in continuous time."""
        n, length = self.n_pairs, self.box_length
        n_frames = int(round(duration / interval)) + 1
        centre = rng.uniform(-length / 2, length / 2, (n, 3))
        free = np.zeros(n, dtype=bool)
        free[rng.permutation(n)[:int(round(self.free_fraction * n))]] = True
        rattle_sd = math.sqrt(self.rattle_variance)
        # a bound pair starts from its rattle's stationary law about a random contact-like anchor
        rattle = rng.normal(0.0, rattle_sd, (n, 3)) if rattle_sd else np.zeros((n, 3))
        anchor = rng.normal(0.0, 0.5, (n, 3))
        separation = np.where(free[:, None], rng.normal(0.0, 0.5, (n, 3)), anchor + rattle)
        anchor = separation - rattle
        out = np.empty((n_frames, 2 * n, 3))
        k_b, k_u, tau_r = self.binding_rate, self.unbinding_rate, self.rattle_time
        for index in range(n_frames):
            out[index, :n] = centre + separation / 2
            out[index, n:] = centre - separation / 2
            if index == n_frames - 1:
                break
            remaining = np.full(n, float(interval))
            while True:
                moving = np.flatnonzero(remaining > 0)
                if not moving.size:
                    break
                rate = np.where(free[moving], k_b, k_u)
                with np.errstate(divide="ignore"):
                    to_switch = np.where(rate > 0, rng.exponential(1.0, moving.size) / np.where(rate > 0, rate, 1.0),
                                         np.inf)
                piece = np.minimum(to_switch, remaining[moving])
                is_free = free[moving]
                # free: R with D_f/2, u with 2 D_f; bound: R with D_b, v by its exact OU propagator
                centre_sd = np.sqrt(2 * np.where(is_free, self.diffusion_free / 2, self.diffusion_bound) * piece)
                centre[moving] += rng.normal(size=(moving.size, 3)) * centre_sd[:, None]
                kicks = rng.normal(size=(moving.size, 3))
                decay = np.exp(-piece / tau_r)
                new_rattle = rattle[moving] * decay[:, None] + kicks * (rattle_sd * np.sqrt(-np.expm1(-2 * piece / tau_r)))[:, None]
                free_step = kicks * np.sqrt(4 * self.diffusion_free * piece)[:, None]
                separation[moving] = np.where(is_free[:, None], separation[moving] + free_step,
                                              anchor[moving] + new_rattle)
                rattle[moving] = np.where(is_free[:, None], rattle[moving], new_rattle)
                remaining[moving] -= piece
                switched = moving[to_switch <= piece]      # the switch came before the frame
                binding = switched[free[switched]]
                if binding.size:
                    fresh = rng.normal(0.0, rattle_sd, (binding.size, 3)) if rattle_sd else np.zeros((binding.size, 3))
                    rattle[binding] = fresh
                    anchor[binding] = separation[binding] - fresh
                free[switched] = ~free[switched]
        return out

    def write(self, path: Path, duration: float, interval: float, rng: np.random.Generator) -> Path:
        """A localcond GSD file of :meth:`positions` (see :func:`write_frames`)."""
        return write_frames(path, self.positions(duration, interval, rng), self.box_length, interval)


def write_frames(path: Path, positions: np.ndarray, box_length: float, interval: float) -> Path:
    """A localcond GSD file of unwrapped ``positions`` (n_frames, 2 n, 3) σ, cations first: wrapped positions
    with image flags, typeids 0 cation and 1 anion, log timestep 0.005 τ and kT 1 (``interval``/0.005 steps
    between frames, ``interval`` τ)."""
    from core.md.trajectory import LOG_KT, LOG_TIMESTEP, GSDWriter

    n_ions = positions.shape[1]
    typeid = np.repeat(np.array([0, 1], dtype=np.int32), n_ions // 2)
    steps_per_frame = int(round(interval / 0.005))
    box = np.full(3, float(box_length))
    with GSDWriter(path, {LOG_TIMESTEP: 0.005, LOG_KT: 1.0}) as writer:
        for index, frame_positions in enumerate(positions):
            wrapped, image = wrap(frame_positions, box_length)
            writer.append(Frame(wrapped, box, typeid, TYPES, image, np.zeros((0, 2), np.int64),
                                step=index * steps_per_frame, time=index * interval))
    return path


def exchange(bound_lifetime: float, free_fraction: float = 0.5, **fields: float) -> ExactElectrolyte:
    """Neutral pairs that bind and unbind (mean bound lifetime ``bound_lifetime`` τ), rigid while bound."""
    return ExactElectrolyte(free_fraction=free_fraction, bound_lifetime=bound_lifetime, **fields)


def rattle(rattle_time: float, free_fraction: float = 0.5, excess: float = EXCESS, **fields: float) -> ExactElectrolyte:
    """Permanent free ions and bound pairs whose separations rattle (relaxation ``rattle_time`` τ); the early
    slope of the charge MSD is ``excess`` above the long-time one."""
    return ExactElectrolyte(free_fraction=free_fraction, rattle_time=rattle_time, **fields).with_excess(excess)


def exchange_and_rattle(time: float, free_fraction: float = 0.5, excess: float = EXCESS,
                        **fields: float) -> ExactElectrolyte:
    """Both: pairs that bind and unbind with mean bound lifetime ``time`` τ and rattle with τ_r = ``time``."""
    return ExactElectrolyte(free_fraction=free_fraction, bound_lifetime=time, rattle_time=time,
                            **fields).with_excess(excess)


#: The issue's cases by name.
MODELS = {"exchange": exchange, "rattle": rattle, "exchange-and-rattle": exchange_and_rattle}
