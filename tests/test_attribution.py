"""Local attribution (core/transport/attribution.py) against what is known independently.

- a naive per-ion loop computes the same numbers;
- the sum over ions is the exact identity [M(s+δ) − M(s−δ)]·[M(s+h) − M(s−h)] / (2δ) (scaled);
- on independent walkers, each species' mean is its known share 2 D_a / kT, and the mean over all ions Λ;
- on walkers whose mobility and pairing follow their environment, bins of the nearest-unlike distance
  recover the known g(r), the self part says the opposite of the total for contact ions, and the cutoff
  keeps the bins' means while halving the noise of one label;
- reported errors match the scatter over independent realisations;
- bad arguments are refused.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from core.features.neighbours import nearest_unlike_distance
from core.learn.trajectory_answer import expected_attribution, write_trajectory
from core.testing import write_random_walks
from core.md.trajectory import read_frames
from core.transport.attribution import (block_mean, frame_blocks, load_attribution, replica_attribution,
                                        save_attribution, summary, system_attribution)
from core.transport.replica_files import ReplicaPositions, replica_positions


def random_positions(rng, frames=40, n_cations=5, n_anions=5, valences=(1.0, -1.0)) -> ReplicaPositions:
    cations = np.cumsum(rng.normal(size=(frames, n_cations, 3)) * 0.3, axis=0)
    anions = np.cumsum(rng.normal(size=(frames, n_anions, 3)) * 0.3, axis=0)
    valence = np.concatenate([np.full(n_cations, valences[0]), np.full(n_anions, valences[1])])
    return ReplicaPositions("arrays", cations, anions, 0.5, 1000.0, ion_index=np.arange(n_cations + n_anions),
                            ion_valence=valence, box=np.full(3, 10.0))


def test_matches_a_naive_loop_and_the_exact_identity():
    rng = np.random.default_rng(0)
    positions = random_positions(rng, n_cations=4, n_anions=8, valences=(2.0, -1.0))
    h, d, units, kT = 3, 1, 4.0, 1.3
    result = replica_attribution(positions, horizon_frames=h, delta_frames=d, formula_units=units, kT=kT)
    ions, z, dt = positions.ions, positions.ion_valence, positions.frame_interval
    n = len(z)
    for s in range(h, ions.shape[0] - h):
        charge = sum(z[j] * (ions[s + h, j] - ions[s - h, j]) for j in range(n))
        for i in range(n):
            velocity = (ions[s + d, i] - ions[s - d, i]) / (2 * d * dt)
            expected = n * z[i] * velocity @ charge / (6 * kT * units)
            assert result.total[s, i] == pytest.approx(expected, rel=1e-5, abs=1e-6)
            own = n * z[i] ** 2 * velocity @ (ions[s + h, i] - ions[s - h, i]) / (6 * kT * units)
            assert result.self_part[s, i] == pytest.approx(own, rel=1e-5, abs=1e-6)
        moment = np.einsum("j,tjd->td", z, ions)                 # M(t), (T, 3)
        identity = (moment[s + d] - moment[s - d]) @ (moment[s + h] - moment[s - h]) / (2 * d * dt)
        assert result.total[s].sum() == pytest.approx(n * identity / (6 * kT * units), rel=1e-4)
    assert np.isnan(result.total[:h]).all() and np.isnan(result.total[-h:]).all()


def test_cutoff_keeps_near_terms_and_the_plain_sum_is_recovered():
    rng = np.random.default_rng(1)
    positions = random_positions(rng)
    plain = system_attribution([positions], plateau_start=1.0, formula_units=5.0)
    near = system_attribution([positions], plateau_start=1.0, formula_units=5.0, cutoff=4.0)
    np.testing.assert_allclose(near.full(0), plain.replicas[0].total, rtol=1e-5, atol=1e-6)
    assert summary(near).molar_conductivity.value == pytest.approx(summary(plain).molar_conductivity.value, rel=1e-6)
    huge = system_attribution([positions], plateau_start=1.0, formula_units=5.0, cutoff=100.0)   # every ion is near
    np.testing.assert_allclose(huge.replicas[0].total, plain.replicas[0].total, rtol=1e-5, atol=1e-6)


def test_round_trip_and_lookup(tmp_path):
    rng = np.random.default_rng(2)
    positions = random_positions(rng)
    attribution = system_attribution([positions, random_positions(rng)], plateau_start=0.5, formula_units=5.0, cutoff=3.0)
    save_attribution(attribution, tmp_path / "a.npz")
    loaded = load_attribution(tmp_path / "a.npz")
    assert loaded.cutoff == 3.0 and loaded.horizon_frames == attribution.horizon_frames
    total, own, variance = loaded.at(np.array([1, 0]), np.array([10, 12]), np.array([7, 2]))
    assert total[0] == attribution.replicas[1].total[10, 7] and own[1] == attribution.replicas[0].self_part[12, 2]
    assert np.all(variance > 0)
    late, _, _ = loaded.at(np.array([0]), np.array([10_000]), np.array([0]))       # beyond the run: no label
    assert np.isnan(late[0])
    with pytest.raises(ValueError, match="not ions"):
        loaded.at(np.array([0]), np.array([10]), np.array([99]))


@pytest.mark.parametrize("bad", [dict(horizon_frames=0), dict(horizon_frames=2, delta_frames=3),
                                 dict(horizon_frames=2, formula_units=0.0), dict(horizon_frames=2, kT=float("nan")),
                                 dict(horizon_frames=2, cutoff=-1.0), dict(horizon_frames=2, cutoff=float("inf")),
                                 dict(horizon_frames=2.5)])
def test_bad_arguments_are_refused(bad):
    arguments = {"formula_units": 5.0, **bad}
    with pytest.raises(ValueError):
        replica_attribution(random_positions(np.random.default_rng(3)), **arguments)


#: Independent walkers: 20 cations (D = 0.3), 20 anions (D = 0.1) and 160 solvent beads (D = 1) of equal mass.
#: In the centre-of-mass frame an ion's velocity is v_i − V, and ⟨V·ΔM⟩ = Σ_j z_j 6 D_j / N, so species a's
#: share is (n_ions / F)(z_a² D_a − z_a Σ_j z_j D_j / N) = 2 (D_a − z_a (20·0.3 − 20·0.1) / 200).
SHARES = (2 * (0.3 - 0.02), 2 * (0.1 + 0.02))


def independent_walkers(path, rng, frames=400):
    typeid = np.repeat([0, 1, 2], [20, 20, 160])
    write_random_walks(path, typeid, np.choose(typeid, [0.3, 0.1, 1.0]), 8.0, frames, 0.5, rng)


def species_means(attribution, positions):
    """(mean, error) of k over the cations and over the anions of every defined frame, blocked by frame."""
    data = attribution.replicas[0]
    frames = np.flatnonzero(np.isfinite(data.total[:, 0]))
    blocks = frame_blocks(np.zeros(len(frames)), frames, attribution.horizon_frames)
    out = []
    for sign in (1, -1):
        columns = np.sign(data.valence) == sign
        per_frame = data.total[frames][:, columns].mean(axis=1)
        mean, error, _ = block_mean(per_frame, blocks)
        common = float(attribution.far_mean_err[columns][0]) if attribution.far_mean_err is not None else 0.0
        out.append((mean, float(np.hypot(error, common))))
    return out


@pytest.mark.parametrize("cutoff", [None, 2.5])
def test_independent_walkers_give_each_species_its_share_with_honest_errors(tmp_path, cutoff):
    z_cation, z_anion, z_total = [], [], []
    for realisation in range(16):
        path = tmp_path / f"walk{realisation}.gsd"
        independent_walkers(path, np.random.default_rng([5, realisation]))
        positions = replica_positions(path)
        attribution = system_attribution([positions], plateau_start=1.0, formula_units=20.0, cutoff=cutoff)
        (cation, cation_err), (anion, anion_err) = species_means(attribution, positions)
        z_cation.append((cation - SHARES[0]) / cation_err)
        z_anion.append((anion - SHARES[1]) / anion_err)
        attributed = summary(attribution).molar_conductivity
        z_total.append((attributed.value - 0.4) / attributed.err)
    for z in (z_cation, z_anion, z_total):
        z = np.array(z)
        assert abs(z.mean()) < 3.0 / np.sqrt(len(z)) + 0.35, z       # unbiased
        assert 0.6 < z.std(ddof=1) < 1.5, z                          # errors match the scatter


@pytest.fixture(scope="module")
def environment_walk(tmp_path_factory):
    """A trajectory whose expected attribution is g(r) (core/learn/trajectory_answer.py), 60 ions, 1500 frames."""
    path = tmp_path_factory.mktemp("walk") / "run.gsd"
    write_trajectory(path, 30, 30 ** (1 / 3) / 0.04 ** (1 / 3), 1500, np.random.default_rng(11))
    return path


def binned(path, attribution, edges=(0.9, 1.5)):
    """Per bin of nearest-unlike distance: (g, measured mean, error, self part mean) over every 3rd frame."""
    frames = list(range(0, 1500, 3))
    distance, replica_frame, ions = [], [], []
    for index, frame in zip(frames, read_frames(path, frames)):
        centres = frame.ion_indices
        distance.append(nearest_unlike_distance(frame.positions, frame.ion_sign, frame.box, centres))
        replica_frame.append(np.full(len(centres), index))
        ions.append(centres)
    distance, frame_index, ions = (np.concatenate(a) for a in (distance, replica_frame, ions))
    total, own, _ = attribution.at(np.zeros(len(ions), int), frame_index, ions)
    usable = np.isfinite(total)
    which = np.digitize(distance, edges)
    blocks = frame_blocks(np.zeros(len(ions)), frame_index, attribution.horizon_frames)
    rows = []
    for number in range(len(edges) + 1):
        chosen = usable & (which == number)
        mean, error, _ = block_mean(total[chosen], blocks[chosen])
        rows.append((float(expected_attribution(distance[chosen]).mean()), mean, error, float(own[chosen].mean())))
    return rows


def test_environment_dependent_walkers_recover_the_known_local_answer(environment_walk):
    positions = replica_positions(environment_walk)
    curves = positions.curves()
    plain = system_attribution([positions], plateau_start=0.0, formula_units=curves.formula_units)
    near = system_attribution([positions], plateau_start=0.0, formula_units=curves.formula_units, cutoff=3.0)
    rows_plain, rows_near = binned(environment_walk, plain), binned(environment_walk, near)
    for (g, mean, error, _), (_, near_mean, near_error, _) in zip(rows_plain, rows_near):
        # the velocity window ±δ smooths g a little (measured: ≤ 0.007 here); the error bars cover the rest
        assert abs(mean - g) < 4 * error + 0.01, (g, mean, error)
        assert abs(near_mean - g) < 4 * near_error + 0.01, (g, near_mean, near_error)
    defined = np.isfinite(plain.replicas[0].total[:, 0])
    noise_plain, noise_near = (np.std(a.replicas[0].total[defined]) for a in (plain, near))
    assert noise_near < 0.6 * noise_plain           # same means, half the noise of one label (measured 0.49)
    contact, free = rows_near[0], rows_near[-1]
    assert contact[1] < free[1] - 0.05              # contact ions carry less ...
    assert contact[3] > free[1]                     # ... although their self part says they move more


def test_a_mixture_gives_each_species_its_share_per_equivalent(tmp_path):
    """Mg²⁺ (D 0.1), Li⁺ (D 0.4) and X⁻ (D 0.2) walkers with solvent: Λ per equivalent, and each species'
    share (n_ions/F)(z_a² D_a − z_a Σ_j z_j D_j / N) in the centre-of-mass frame."""
    valence = np.repeat([2.0, 1.0, -1.0, 0.0], [8, 8, 24, 160])
    diffusion = np.repeat([0.1, 0.4, 0.2, 1.0], [8, 8, 24, 160])
    typeid = np.repeat([0, 0, 1, 2], [8, 8, 24, 160])
    path = tmp_path / "mixture.gsd"
    write_random_walks(path, typeid, diffusion, 9.0, 1500, 0.5, np.random.default_rng(21), valence=valence)
    positions = replica_positions(path)
    curves = positions.curves()
    assert curves.mixture and curves.formula_units == pytest.approx(2 * 8 + 8)     # equivalents
    attribution = system_attribution([positions], plateau_start=0.5, formula_units=curves.formula_units, cutoff=3.0)
    n_ions, drift = 40, float(np.sum(valence * diffusion)) / len(valence)
    data = attribution.replicas[0]
    frames = np.flatnonzero(np.isfinite(data.total[:, 0]))
    blocks = frame_blocks(np.zeros(len(frames)), frames, attribution.horizon_frames)
    for z, d in ((2.0, 0.1), (1.0, 0.4), (-1.0, 0.2)):
        columns = data.valence == z
        mean, error, _ = block_mean(data.total[frames][:, columns].mean(axis=1), blocks)
        error = float(np.hypot(error, attribution.far_mean_err[columns][0]))
        expected = n_ions / curves.formula_units * (z * z * d - z * drift)
        assert abs(mean - expected) < 4 * error, (z, mean, expected, error)
    exact = sum(count * z * z * d for count, z, d in ((8, 2, 0.1), (8, 1, 0.4), (24, -1, 0.2)))
    exact -= float(np.sum(valence * diffusion)) ** 2 / len(valence)       # the centre-of-mass frame's share
    attributed = summary(attribution).molar_conductivity
    assert abs(attributed.value - exact / curves.formula_units) < 4 * attributed.err


@pytest.mark.parametrize("convention", ["zero", "exclude"])
def test_local_labels_keep_the_system_mean_under_either_bonded_convention(tmp_path, convention):
    """Labels are the attribution rescaled so that the model's weighted system mean of them is the mean share
    (bonded ions' expected share being zero): unchanged when bonded ions count as zero, × kept/all ions when
    they are left out of the mean."""
    from core.datatypes import LearningData
    from core.features.store import FeatureStoreWriter
    from core.learn.dataset import load_learning_data
    from core.testing import transport_of
    from core.transport.attribution import ReplicaAttribution, SystemAttribution

    frames, ions = 6, 4
    total = np.arange(frames * ions, dtype=np.float32).reshape(frames, ions) / 10
    attribution = SystemAttribution([ReplicaAttribution(total, total / 2, np.array([3, 5, 7, 9]), np.ones(ions))],
                                    horizon=0.5, horizon_frames=1, delta_frames=1, variance=np.full(ions, 0.25))
    writer = FeatureStoreWriter(tmp_path / "s.h5", dim=1, attributes={})
    for frame in (1, 2, 3):
        writer.append(np.zeros((ions, 1)), replica=np.zeros(ions), frame=np.full(ions, frame),
                      ion_index=np.array([3, 5, 7, 9]), charge_sign=np.array([1, 1, -1, -1]),
                      bonded=np.array([True, False, False, True]), nearest_unlike=np.ones(ions))
    writer.close()
    data: LearningData = load_learning_data(["s"], {"s": tmp_path / "s.h5"}, {"s": transport_of(
        "s", molar_conductivity=1.0, molar_conductivity_err=0.1)},
                                            bonded_ions=convention, min_relative_std=0.0, labels="both",
                                            attributions={"s": attribution})
    kept = total[1:4][:, [1, 2]].ravel()                              # the free ions 5 and 7 at frames 1–3
    factor = 1.0 if convention == "zero" else 0.5                     # 4 ions, 2 kept: × kept/all
    np.testing.assert_allclose(data.local_target, kept * factor, rtol=1e-6)
    np.testing.assert_allclose(data.local_variance, 0.25 * factor ** 2)
    # either way the model's system mean of the labels is the free ions' summed share per ion of the box
    np.testing.assert_allclose(data.system_means(data.local_target), kept.sum() / 12, rtol=1e-6)
    with pytest.raises(ValueError, match="no attribution"):
        load_learning_data(["s"], {"s": tmp_path / "s.h5"}, {"s": transport_of("s", molar_conductivity=1.0)},
                           bonded_ions=convention,
                           min_relative_std=0.0, labels="attribution", attributions={"s": None})


def _mixed_salt(rng, frames: int = 80) -> ReplicaPositions:
    """A 2:1 salt with a 1:1 co-salt (4 divalent and 4 monovalent cations, 12 monovalent anions) as independent
    walkers in a 10σ box: with a 1.5σ cutoff most distinct terms are far, so the far part's means carry much of
    every group's noise, and the groups below have unequal valence mixes."""
    n = (4, 4, 12)
    start = rng.uniform(0, 10, size=(1, sum(n), 3))
    walk = start + np.cumsum(rng.normal(size=(frames, sum(n), 3)) * 0.4, axis=0)
    valence = np.concatenate([np.full(n[0], 2.0), np.full(n[1], 1.0), np.full(n[2], -1.0)])
    return ReplicaPositions("mixed salt", walk[:, :8], walk[:, 8:], 0.5, 1000.0, ion_index=np.arange(sum(n)),
                            ion_valence=valence, box=np.full(3, 10.0))


def test_group_errors_with_an_unequal_valence_mix_match_the_scatter():
    """On a 2:1 salt with a 1:1 co-salt, the jackknife error of a group mean and of a contrast between groups of
    different valence mixes (divalent cations against all monovalent ions) matches the scatter over independent
    realisations; treating the far part's mean as exact, as analyses did before (its error cancelling in
    contrasts), is too small by far."""
    from core.analysis.attribution_check import compare_groups, shares_of

    rng = np.random.default_rng(11)
    contrasts, errors, old_errors, means, mean_errors = [], [], [], [], []
    for _ in range(120):
        positions = _mixed_salt(rng)
        attribution = system_attribution([positions], plateau_start=1.0, formula_units=8.0, cutoff=1.5)
        frames = np.arange(positions.ions.shape[0])
        environments = {"replica": np.zeros(frames.size * 20, np.int64), "frame": np.repeat(frames, 20),
                        "ion_index": np.tile(np.arange(20), frames.size)}
        shares = shares_of(attribution, environments, np.zeros(frames.size * 20))
        group = np.where(np.tile(np.arange(20), frames.size) < 4, 0, 1)
        usable = np.isfinite(shares.measured)
        comparison = compare_groups(replace(shares, learned=np.where(usable, 0.0, np.nan)), group, 2)
        result = comparison.contrast(0, 1)
        contrasts.append(result.measured)
        errors.append(result.measured_err)
        means.append(comparison.measured[1])
        mean_errors.append(comparison.measured_err[1])
        old = [block_mean(shares.measured[usable & (group == g)], shares.blocks[usable & (group == g)])[1]
               for g in (0, 1)]
        old_errors.append(float(np.hypot(*old)))
    scatter = float(np.std(contrasts, ddof=1))
    reported = float(np.sqrt(np.mean(np.square(errors))))
    assert 0.8 < reported / scatter < 1.25, (reported, scatter)
    assert float(np.sqrt(np.mean(np.square(mean_errors)))) / float(np.std(means, ddof=1)) == pytest.approx(1.0, abs=0.25)
    assert float(np.sqrt(np.mean(np.square(old_errors)))) / scatter < 0.7     # the old treatment fails here
