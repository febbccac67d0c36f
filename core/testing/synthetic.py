"""Synthetic inputs with known answers, for plugin checks and tests: frames, learning data, jobs, walks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from core.datatypes import Frame, LearningData, SimulationJob, SimulationSettings, SystemSpec
from core.storage.layout import TRAJECTORY_FILE
from core.periodic import minimum_image, wrap

TYPES = ("cation", "anion", "solvent")


def make_frame(positions: np.ndarray, typeid: np.ndarray, box_length: float) -> Frame:
    """A frame of ``positions`` (N, 3) σ, wrapped into a cubic box of ``box_length`` σ, types cation/anion/solvent."""
    box = np.full(3, float(box_length))
    positions = np.asarray(positions, dtype=np.float64)
    wrapped, _ = wrap(positions, box_length)        # a single frame: its images are not kept
    return Frame(wrapped, box, np.asarray(typeid, dtype=np.int32), TYPES, np.zeros((len(positions), 3), np.int32),
                 np.zeros((0, 2), np.int64), step=0, time=0.0)


def random_liquid(n_ions: int, n_solvent: int, box_length: float, seed: int = 0,
                  radius: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(positions (N, 3) σ, typeid (N,)): no two closer than 0.8σ, ions first; within ``radius`` of the origin
    if given (a cluster in a large box, for rotations)."""
    rng = np.random.default_rng(seed)
    accepted: list[np.ndarray] = []
    while len(accepted) < n_ions + n_solvent:
        if radius is None:
            trial = rng.uniform(-box_length / 2, box_length / 2, 3)
        else:
            trial = rng.uniform(-radius, radius, 3)
            if np.linalg.norm(trial) > radius:
                continue
        if accepted:
            delta = np.asarray(accepted) - trial
            delta = minimum_image(delta, box_length)
            if np.min(np.linalg.norm(delta, axis=1)) < 0.8:
                continue
        accepted.append(trial)
    typeid = np.array([0] * (n_ions // 2) + [1] * (n_ions - n_ions // 2) + [2] * n_solvent)
    return np.asarray(accepted), typeid


LINEAR = np.array([0.3, -0.2, 0.5, 0.1])


def synthetic_learning_data(local: Callable[[np.ndarray], np.ndarray], n_systems: int = 30, per_system: int = 150,
                            dim: int = 4, seed: int = 0, bonded_fraction: float = 0.0) -> LearningData:
    """Systems whose environments scatter around system-specific centres; Λ_s = Σ_i w_i local(x_i) exactly."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=1.0, size=(n_systems, dim))
    features = np.concatenate([c + rng.normal(scale=0.7, size=(per_system, dim)) for c in centres])
    index = np.repeat(np.arange(n_systems), per_system)
    kept = int(round(per_system * (1 - bonded_fraction)))
    keep = np.concatenate([np.arange(per_system) < kept for _ in range(n_systems)])
    weight = np.full(len(index), 1.0 / per_system)
    features, index, weight = features[keep], index[keep], weight[keep]
    target = np.bincount(index, weights=weight * local(features), minlength=n_systems)
    variance = (0.02 * np.abs(target)) ** 2 + 1e-6
    return LearningData(features.astype(np.float32), index, weight, target, variance,
                        [f"s{i}" for i in range(n_systems)])


def _linear_data() -> LearningData:
    return synthetic_learning_data(lambda x: x @ LINEAR + 0.7)


def tiny_job(directory: Path, replica: int = 0) -> SimulationJob:
    """A 300-bead system at c = 0.05, l_B = 5, 10 % paired, 1000 steps with a frame every 100."""
    system = SystemSpec("c0.05_lB5_p0.1_N300_rho0.8", 0.05, 5.0, 0.1, 300, 0.8, 1, 7)
    settings = SimulationSettings(steps=1000, equilibration_steps=200, write_period=100, timestep=0.005, kT=1.0,
                                  wca_cutoff=2 ** (1 / 6), thermostat_tau=0.5, bond_k=100.0, bond_r0=1.0,
                                  min_ions=4)
    return SimulationJob(system, replica, system.replica_seed(replica), settings, directory / TRAJECTORY_FILE)


def write_random_walks(path: Path, typeid: np.ndarray, diffusion: np.ndarray, length: float, frames: int,
                       interval: float, rng: np.random.Generator, *, valence: np.ndarray | None = None,
                       drift: float = 0.0, riders: tuple[np.ndarray, np.ndarray] | None = None) -> None:
    """A localcond GSD file of independent random walks with a known answer (D_i per particle).

    typeid: (N,) 0 cation, 1 anion, 2 solvent; diffusion: (N,) σ²/τ; a cubic box of ``length`` σ; a frame
    every ``interval`` τ (100 steps of 0.005 τ in the log's terms); starting points uniform, drawn from
    ``rng`` before the steps. ``drift``: σ/τ added to every step. ``riders``: (followers, leaders) index
    arrays; each follower takes its leader's steps (a rigid pair). ``valence``: (N,) z, else ±1.
    """
    from core.md.trajectory import LOG_KT, LOG_TIMESTEP, GSDWriter

    typeid = np.asarray(typeid, dtype=np.int32)
    position = rng.uniform(-length / 2, length / 2, (len(typeid), 3))
    with GSDWriter(path, {LOG_TIMESTEP: 0.005, LOG_KT: 1.0}) as writer:
        for index in range(frames):
            wrapped, image = wrap(position, length)
            writer.append(Frame(wrapped, np.full(3, length), typeid, TYPES, image,
                                np.zeros((0, 2), np.int64), step=index * 100, time=index * interval,
                                valence=valence))
            step = rng.normal(size=position.shape) * np.sqrt(2 * diffusion * interval)[:, None] + drift * interval
            if riders is not None:
                step[riders[0]] = step[riders[1]]
            position = position + step


def write_synthetic_trajectories(directory: Path, frames: int = 120) -> None:
    """GSD files ``lB{1.0,2.0,3.0}_r{0,1}.gsd``: 20 cations, 20 anions, 160 solvent beads in a 10σ box,
    independent random walks with D = 0.5/l_B (so Λ falls with the label), frames every 0.5 τ."""
    directory.mkdir(parents=True, exist_ok=True)
    typeid = np.repeat([0, 1, 2], [20, 20, 160])
    for lb in (1.0, 2.0, 3.0):
        for replica in range(2):
            path = directory / f"lB{lb}_r{replica}.gsd"
            if not path.exists():
                write_random_walks(path, typeid, np.where(typeid < 2, 0.5 / lb, 1.0), 10.0, frames, 0.5,
                                   np.random.default_rng([int(lb), replica]))
