"""The engine-independent electrolyte: ion counts, placement, schedules, checkpoint bookkeeping."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import cKDTree

from core.storage.checkpoints import load_checkpoint, save_checkpoint
from core.datatypes import SimulationSettings, SystemSpec
from core.md.electrolyte import build_topology, frame_schedule, initial_positions, make_frame, wrap
from core.md.trajectory import GSDWriter, frame_count, read_frames, truncate_trajectory


def spec(c: float = 0.05, n: int = 1000, p: float = 0.0, lb: float = 5.0) -> SystemSpec:
    return SystemSpec("s", c, lb, p, n, 0.8, 1, 0)


@pytest.mark.parametrize(("c", "n", "expected"), [(0.05, 1000, 62), (0.05, 40000, 2500), (0.01, 4000, 50),
                                                  (0.0005, 40000, 25)])
def test_ion_counts_density_and_neutrality(c: float, n: int, expected: int) -> None:
    system = spec(c, n)
    topology = build_topology(system)
    assert topology.n_ion_pairs == expected == round(c * n / 0.8)
    assert np.count_nonzero(topology.typeid == 1) == expected
    assert topology.valence.sum() == 0
    assert topology.n_particles / topology.box_length ** 3 == pytest.approx(0.8)


def test_placement_has_no_overlaps_and_bonded_pairs_are_neighbours() -> None:
    topology = build_topology(spec(0.05, 1000, p=0.4))
    positions = initial_positions(topology, seed=3)
    length = topology.box_length
    assert np.all(positions >= -length / 2) and np.all(positions < length / 2)
    tree = cKDTree(positions + length / 2, boxsize=length)
    distances, _ = tree.query(positions + length / 2, k=2)
    assert distances[:, 1].min() > 0.9 * length / np.ceil(1000 ** (1 / 3))
    i, j = topology.bonds.T
    delta = positions[i] - positions[j]
    delta -= length * np.round(delta / length)
    assert np.linalg.norm(delta, axis=1).max() < 1.3
    assert np.all(topology.typeid[i] == 0) and np.all(topology.typeid[j] == 1)


def test_same_seed_same_start_different_seed_different_start() -> None:
    topology = build_topology(spec())
    assert np.array_equal(initial_positions(topology, 1), initial_positions(topology, 1))
    assert not np.allclose(initial_positions(topology, 1), initial_positions(topology, 2))


def test_wrap_round_trips_unwrapped_positions() -> None:
    rng = np.random.default_rng(0)
    unwrapped = rng.uniform(-40, 40, size=(100, 3))
    wrapped, image = wrap(unwrapped, 7.0)
    assert np.all(wrapped >= -3.5) and np.all(wrapped < 3.5)
    np.testing.assert_allclose(wrapped + image * 7.0, unwrapped, atol=1e-12)


def test_schedule_and_resume_truncation(tmp_path) -> None:
    settings = SimulationSettings(steps=1000, equilibration_steps=0, write_period=300, timestep=0.005, kT=1,
                                  wca_cutoff=2 ** (1 / 6), thermostat_tau=0.5, bond_k=100, bond_r0=1, min_ions=1)
    assert frame_schedule(settings) == [0, 300, 600, 900]
    topology = build_topology(spec(n=100, c=0.05))
    path = tmp_path / "t.gsd"
    with GSDWriter(path, {"localcond/timestep": 0.005}) as writer:
        for step in (0, 300, 600):
            writer.append(make_frame(topology, initial_positions(topology, step), step, 0.005),
                          charge=topology.valence)
    truncate_trajectory(path, 2)
    assert [f.step for f in read_frames(path)] == [0, 300]
    assert frame_count(path) == 2
    save_checkpoint(tmp_path, 1, 0, b"one", {"engine": "x"})
    save_checkpoint(tmp_path, 2, 300, b"two", {"engine": "x"})
    record, state = load_checkpoint(tmp_path)
    assert (record.frames_written, record.step, state) == (2, 300, b"two")
    assert len(list(tmp_path.glob("state-*.bin"))) == 1
