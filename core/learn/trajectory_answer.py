"""Synthetic trajectories whose local conductivity is known: ions whose mobility and pairing follow their environment.

Each ion takes Gaussian steps with no drift, so every coordinate is a martingale and the attribution
(:mod:`core.transport.attribution`) has a conditional expectation that can be written down. With r the
minimum-image distance to an ion's nearest unlike ion, at every sub-step

- each ion takes its own step of variance 2 D_own(r) dt per axis, with
  D_own(r) = D_FREE · (1 − DEPTH · exp(−(r − CONTACT)/RANGE)), floored at D_FLOOR;
- a cation and an anion that are each other's nearest unlike ion and closer than PAIR_DISTANCE also take
  one shared step of variance 2 D_PAIR dt (they drift together, as an ion pair does).

For a 1:1 salt, z_i Σ_j z_j ⟨Δr_i·Δr_j⟩ = 6 D_own dt: the shared steps add D_PAIR to an ion's self part and
take it back in its distinct part. So each ion's expected attribution is

    g(r) = n_ions · D_own(r) / (kT F) = 2 D_own(r) / kT         (F = N₊ formula units, n_ions = 2 N₊)

at the state where its velocity is taken, up to the environment's change over the velocity window ±δ
(measured in tests: a few per cent of g's range). Λ of a system is the mean of g over its ions and frames,
and Λ differs between systems through their concentration and the pairing it brings (the stationary
density of a drift-free walk with varying D is ∝ 1/D, so slow contact ions accumulate).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.periodic import minimum_image, wrap

#: D_own of a free ion, σ²/τ.
D_FREE = 0.05
#: D_own at contact is D_FREE (1 − DEPTH).
DEPTH = 0.8
#: Contact distance and decay length of the counter-ion's effect, σ.
CONTACT = 1.0
RANGE = 0.5
#: The smallest D_own, σ²/τ (overlapping ions).
D_FLOOR = 0.002
#: Mutual nearest unlike ions closer than this (σ) move together with D_PAIR (σ²/τ).
PAIR_DISTANCE = 1.3
D_PAIR = 0.05


def own_diffusion(nearest_unlike: np.ndarray) -> np.ndarray:
    """D_own(r), σ²/τ, for distances r (σ) to the nearest unlike ion, (n,) -> (n,)."""
    r = np.asarray(nearest_unlike, dtype=np.float64)
    return np.maximum(D_FREE * (1.0 - DEPTH * np.exp(-(r - CONTACT) / RANGE)), D_FLOOR)


def expected_attribution(nearest_unlike: np.ndarray, kT: float = 1.0) -> np.ndarray:
    """g(r) = 2 D_own(r) / kT: an ion's expected attribution (Λ units) at nearest-unlike distance r (σ)."""
    return 2.0 * own_diffusion(nearest_unlike) / kT


def _nearest_unlike(position: np.ndarray, n_cations: int, length: float) -> tuple[np.ndarray, np.ndarray]:
    """(distance, index of the nearest unlike ion) for every ion (cations first), minimum image."""
    cations, anions = position[:n_cations], position[n_cations:]
    delta = cations[:, None, :] - anions[None, :, :]
    delta = minimum_image(delta, length)
    distance = np.sqrt(np.sum(delta ** 2, axis=-1))                  # (N₊, N₋)
    to_anion, to_cation = distance.argmin(axis=1), distance.argmin(axis=0)
    nearest = np.concatenate([distance.min(axis=1), distance.min(axis=0)])
    partner = np.concatenate([n_cations + to_anion, to_cation])
    return nearest, partner


def write_trajectory(path: Path, n_pairs: int, length: float, frames: int, rng: np.random.Generator, *,
                     interval: float = 0.2, substeps: int = 20, equilibration_frames: int = 50) -> None:
    """A localcond GSD file of ``n_pairs`` cations and anions (±1, no solvent) in a cubic box of ``length`` σ,
    a frame every ``interval`` τ, ``substeps`` steps per frame, after ``equilibration_frames`` unrecorded ones."""
    from core.datatypes import Frame
    from core.testing import TYPES
    from core.md.trajectory import LOG_KT, LOG_TIMESTEP, GSDWriter

    n = 2 * n_pairs
    typeid = np.repeat(np.array([0, 1], dtype=np.int32), n_pairs)
    position = rng.uniform(-length / 2, length / 2, (n, 3))
    dt = interval / substeps
    with GSDWriter(path, {LOG_TIMESTEP: dt, LOG_KT: 1.0}) as writer:
        for index in range(-equilibration_frames, frames):
            if index >= 0:
                wrapped, image = wrap(position, length)
                writer.append(Frame(wrapped, np.full(3, length), typeid, TYPES, image,
                                    np.zeros((0, 2), np.int64), step=index * substeps, time=index * interval))
            for _ in range(substeps):
                nearest, partner = _nearest_unlike(position, n_pairs, length)
                step = rng.normal(size=position.shape) * np.sqrt(2.0 * own_diffusion(nearest) * dt)[:, None]
                cations = np.arange(n_pairs)
                paired = cations[(partner[partner[cations]] == cations) & (nearest[cations] < PAIR_DISTANCE)]
                shared = rng.normal(size=(len(paired), 3)) * np.sqrt(2.0 * D_PAIR * dt)
                step[paired] += shared
                step[partner[paired]] += shared
                position = position + step


def box_length(n_pairs: int, concentration: float) -> float:
    """Edge (σ) of the cubic box holding ``n_pairs`` formula units at ``concentration`` (σ⁻³)."""
    return float((n_pairs / concentration) ** (1.0 / 3.0))


def write_systems(directory: Path, concentrations: list[float], *, replicas: int = 2, n_pairs: int = 30,
                  frames: int = 1000, seed: int = 0) -> list[Path]:
    """``directory/c{concentration}/run{replica}.gsd`` for every concentration and replica (files that exist
    are kept); returns the paths. Each replica's walk is drawn from its own seed."""
    paths = []
    for concentration in concentrations:
        for replica in range(replicas):
            path = Path(directory) / f"c{concentration}" / f"run{replica}.gsd"
            paths.append(path)
            if path.exists():
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(path.name + ".partial")
            rng = np.random.default_rng([seed, int(round(concentration * 1e6)), replica])
            write_trajectory(partial, n_pairs, box_length(n_pairs, concentration), frames, rng)
            partial.replace(path)
    return paths


def main(argv: list[str] | None = None) -> None:
    """``python -m core.learn.trajectory_answer DIRECTORY``: the files of ``benchmarks/trajectory-answer.yaml``."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--concentrations", type=float, nargs="+",
                        default=[0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.08, 0.1])
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--pairs", type=int, default=30)
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for path in write_systems(args.directory, args.concentrations, replicas=args.replicas, n_pairs=args.pairs,
                              frames=args.frames, seed=args.seed):
        print(path)


if __name__ == "__main__":
    main()
