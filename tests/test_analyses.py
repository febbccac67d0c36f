"""Analysis plugins on inputs with known answers."""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from core.analysis.inputs import AnalysisInputs
from core.results import Estimate
from core.testing import prediction_of, transport_of
from core.learn.scores import attainable_r2, r2_score
from core.plugin_system.registry import get_registry


def rows(true, predicted, split, std=0.01):
    return [prediction_of(f"{split}{i}", split, true=t, true_err=std, predicted=p, predicted_std=0.005)
            for i, (t, p) in enumerate(zip(true, predicted))]


def test_scores_have_known_values() -> None:
    assert r2_score(np.array([1.0, 2, 3]), np.array([1.0, 2, 3])) == 1.0
    assert r2_score(np.array([1.0, 2, 3]), np.array([2.0, 2, 2])) == 0.0
    assert np.isnan(r2_score(np.array([1.0]), np.array([1.0])))
    mean, std = attainable_r2(np.linspace(0, 1, 20), np.zeros(20))
    assert (mean, std) == (1.0, 0.0)
    true = np.linspace(0, 1, 30)
    noise = 0.1
    mean, _ = attainable_r2(true, np.full(30, noise), draws=4000)
    # E[R²] ≈ 1 − n σ² / Σ (Λ − mean Λ)² for a perfect model scored against noisy labels
    assert mean == pytest.approx(1 - 30 * noise ** 2 / np.sum((true - true.mean()) ** 2), abs=0.01)


def test_parity_writes_figures_tables_and_scores(tmp_path: Path) -> None:
    analysis = get_registry().instantiate("analysis", "parity", {})
    true = np.linspace(0.05, 0.15, 6)
    predictions = rows(true, true, "test") + rows(true, true + 0.01, "train") + rows([0.1], [0.2], "external")
    result = analysis.run(AnalysisInputs(systems=[], predictions=predictions), tmp_path)
    assert result.numbers["test"]["r2"] == pytest.approx(1.0)
    assert result.numbers["train"]["rmse"] == pytest.approx(0.01)
    assert result.numbers["test"]["attainable_r2"] < 1.0
    assert any("external" in note for note in result.notes)
    for name in [*result.figures, *result.tables]:
        assert (tmp_path / name).stat().st_size > 0
    assert (tmp_path / "parity.csv").read_text().count("\n") == len(predictions) + 1



def test_parity_plots_outer_fold_predictions_where_the_run_has_them(tmp_path: Path) -> None:
    true = np.linspace(0.05, 0.15, 6)
    predictions = rows(true, true, "train") + rows([0.1], [0.2], "external")
    predictions = [replace(p, cross_predicted=Estimate(cross, std=0.003))
                   for p, cross in zip(predictions, [*(true + 0.02), np.nan])]
    registry = get_registry()
    auto = registry.instantiate("analysis", "parity", {}).run(AnalysisInputs([], predictions=predictions), tmp_path)
    assert set(auto.numbers) == {"heldout", "external"}
    assert auto.numbers["heldout"]["rmse"] == pytest.approx(0.02)
    ensemble = registry.instantiate("analysis", "parity", {"source": "ensemble"}).run(
        AnalysisInputs([], predictions=predictions), tmp_path)
    assert ensemble.numbers["train"]["rmse"] == pytest.approx(0.0)
    plain = rows(true, true, "train")
    with pytest.raises(ValueError, match="no outer-fold predictions"):
        registry.instantiate("analysis", "parity", {"source": "cross-validated"}).run(
            AnalysisInputs([], predictions=plain), tmp_path)

def test_heterogeneity_correlates_spread_with_conductivity(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    predictions, local = [], {}
    for i, (true, spread) in enumerate([(0.15, 0.1), (0.12, 0.2), (0.08, 0.3), (0.05, 0.4)]):
        name = f"s{i}"
        k = rng.normal(true, spread, 5000)
        k[:100] = np.nan  # bonded ions carry no k
        np.savez(tmp_path / f"{name}.npz", k_mean=k, k_std=np.zeros_like(k))
        local[name] = tmp_path / f"{name}.npz"
        predictions.append(prediction_of(name, "train", true=true, concentration=0.01 * (i + 1), true_err=0.01,
                                         predicted=true, predicted_std=0.0))
    out = tmp_path / "out"
    out.mkdir()
    analysis = get_registry().instantiate("analysis", "heterogeneity", {})
    result = analysis.run(AnalysisInputs(systems=[], predictions=predictions, local_conductivities=local), out)
    assert result.numbers["n_systems"] == 4
    assert result.numbers["pearson_r"] < -0.95
    table = (out / "heterogeneity.csv").read_text().splitlines()
    assert len(table) == 5 and float(table[1].split(",")[5]) == pytest.approx(0.1, rel=0.05)
    for name in result.figures:
        assert (out / name).stat().st_size > 0


def write_store(path: Path, positions: np.ndarray, sign: np.ndarray, box: float, *, frame: int = 0) -> Path:
    """A one-snapshot feature store of ions at ``positions`` (features unused), nearest unlike from core."""
    from core.features.neighbours import nearest_unlike_distance
    from core.features.store import FeatureStoreWriter

    n = len(sign)
    centers = np.arange(n)
    writer = FeatureStoreWriter(path, dim=1, attributes={"system": path.stem})
    writer.append(np.zeros((n, 1), np.float32), replica=np.zeros(n), frame=np.full(n, frame), ion_index=centers,
                  charge_sign=sign, bonded=np.zeros(n, bool),
                  nearest_unlike=nearest_unlike_distance(positions, sign, np.full(3, box), centers))
    writer.close()
    return path


def test_near_and_far_negative_fractions_on_a_hand_made_configuration(tmp_path: Path) -> None:
    from plugins.analyses.local_distribution import negative_fractions

    box = 20.0
    # Two contact pairs (1.2σ; one across the box face), a pair at 1.7σ (not in contact), three lone ions.
    positions = np.array([[0, 0, 0], [1.2, 0, 0], [9.6, 5, 5], [-9.6 + 0.4, 5, 5],
                          [5, -5, 0], [5, -3.3, 0], [-5, -5, -5], [-5, 5, 5], [5, 5, -5.0]])
    sign = np.array([1, -1, 1, -1, 1, -1, 1, -1, 1])
    k = np.array([-1.0, 0.5, -0.2, -0.3, 0.4, -0.1, 0.2, 0.3, np.nan])  # the last ion is bonded: no k
    store = write_store(tmp_path / "s0.h5", positions, sign, box)
    from core.features.store import read_store

    nearest = read_store(store, features=False).environments["nearest_unlike"]
    np.testing.assert_allclose(nearest[:6], [1.2, 1.2, 1.2, 1.2, 1.7, 1.7], atol=1e-6)
    fractions = negative_fractions(k, nearest, 1.6)
    assert (fractions.n_near, fractions.n_far) == (4, 4)
    assert fractions.negative_near_percent == pytest.approx(75.0)   # −1.0, −0.2, −0.3 of 4
    assert fractions.negative_far_percent == pytest.approx(25.0)    # −0.1 of 4

    np.savez(tmp_path / "s0.npz", k_mean=k, k_std=np.zeros_like(k))
    prediction = prediction_of("s0", "train", concentration=0.01, bjerrum_length=5.0, true=0.1, true_err=0.01,
                               predicted=0.1, predicted_std=0.0)
    out = tmp_path / "out"
    out.mkdir()
    result = get_registry().instantiate("analysis", "local-distribution", {}).run(
        AnalysisInputs([], predictions=[prediction], feature_stores={"s0": store},
                       local_conductivities={"s0": tmp_path / "s0.npz"}), out)
    assert result.numbers["s0"]["negative_near_percent"] == pytest.approx(75.0)
    assert result.numbers["s0"]["negative_percent"] == pytest.approx(50.0)
    for name in [*result.figures, *result.tables]:
        assert (out / name).stat().st_size > 0


def test_bimodality_coefficient_separates_one_mode_from_two() -> None:
    from plugins.analyses.local_distribution import UNIFORM_BIMODALITY, bimodality_coefficient

    rng = np.random.default_rng(1)
    one = rng.normal(0, 1, 20000)
    two = np.concatenate([rng.normal(-3, 0.7, 10000), rng.normal(3, 0.7, 10000)])
    assert bimodality_coefficient(one) == pytest.approx(1 / 3, abs=0.02)  # normal: 1/3
    assert bimodality_coefficient(two) > UNIFORM_BIMODALITY > bimodality_coefficient(one)


def test_correlation_histogram_matches_a_naive_double_sum() -> None:
    from plugins.analyses.spatial_correlation import CorrelationHistogram, add_snapshot

    rng = np.random.default_rng(2)
    box = np.array([9.0, 9.0, 9.0])
    positions = rng.uniform(-4.5, 4.5, (60, 3))
    sign = np.where(np.arange(60) < 30, 1, -1)
    k = rng.normal(0.1, 1.0, 60)
    histograms = {kind: CorrelationHistogram(0.2, 20) for kind in ("like", "unlike")}
    add_snapshot(histograms, positions, sign, k, box)
    delta = k.copy()
    for charge in (1, -1):
        delta[sign == charge] -= delta[sign == charge].mean()
    sums = {kind: np.zeros(20) for kind in ("like", "unlike")}
    counts = {kind: np.zeros(20) for kind in ("like", "unlike")}
    for i in range(60):
        for j in range(60):
            if i == j:
                continue
            d = positions[i] - positions[j]
            r = np.linalg.norm(d - box * np.round(d / box))
            b = int(r // 0.2)
            if b < 20:
                kind = "like" if sign[i] == sign[j] else "unlike"
                sums[kind][b] += delta[i] * delta[j]
                counts[kind][b] += 1
    for kind in ("like", "unlike"):
        np.testing.assert_array_equal(histograms[kind].count, counts[kind])
        np.testing.assert_allclose(histograms[kind].product_sum, sums[kind], atol=1e-12)


def test_correlation_length_of_a_synthetic_exponential_field_is_recovered() -> None:
    from plugins.analyses.spatial_correlation import CorrelationHistogram, add_snapshot, fit_exponential

    rng = np.random.default_rng(3)
    length, box_length, n = 1.5, 16.0, 500
    box = np.full(3, box_length)
    histograms = {kind: CorrelationHistogram(0.2, 30) for kind in ("like", "unlike")}
    for _ in range(12):
        positions = rng.uniform(0, box_length, (n, 3))
        d = positions[:, None, :] - positions[None, :, :]
        r = np.linalg.norm(d - box * np.round(d / box), axis=-1)
        values, vectors = np.linalg.eigh(np.exp(-r / length))
        field = vectors @ (np.sqrt(np.clip(values, 0, None)) * rng.standard_normal(n))
        add_snapshot(histograms, positions, rng.permutation(np.repeat([1, -1], n // 2)), field, box)
    for kind in ("like", "unlike"):
        h = histograms[kind]
        window = (h.r > 0.5) & (h.r < 5.0)
        fit = fit_exponential(h.r[window], h.correlation[window], h.standard_error[window])
        assert fit.length == pytest.approx(length, rel=0.15), (kind, fit)
        assert fit.amplitude == pytest.approx(1.0, rel=0.2), (kind, fit)
        assert 0 < fit.length_error < 0.3


def test_onsager_relations_count_negative_fractions_per_system(tmp_path: Path) -> None:
    transport, predictions, local = [], [], {}
    for i, (c, lb, negative) in enumerate([(0.01, 2.5, 5), (0.01, 5.0, 15), (0.01, 10.0, 30), (0.05, 5.0, 25)]):
        name = f"s{i}"
        k = np.where(np.arange(200) < 2 * negative, -0.1, 0.2)  # `negative` % of 200 ions below zero
        np.savez(tmp_path / f"{name}.npz", k_mean=k, k_std=np.zeros_like(k))
        local[name] = tmp_path / f"{name}.npz"
        transport.append(transport_of(name, concentration=c, bjerrum_length=lb,
                                      L_self_pp=c * (1.0 - negative / 100), L_self_pp_std=0.0,
                                      L_pm=c * negative / 1000, L_pm_std=0.0))
        predictions.append(prediction_of(name, "train"))
    out = tmp_path / "out"
    out.mkdir()
    result = get_registry().instantiate("analysis", "onsager-relations", {}).run(
        AnalysisInputs([], transport=transport, predictions=predictions, local_conductivities=local), out)
    with open(out / "onsager_relations.csv") as handle:
        table = list(csv.DictReader(handle))
    assert [float(r["negative_percent"]) for r in table] == [5.0, 15.0, 30.0, 25.0]
    assert result.numbers["L_self^{++} / c"]["pearson_r"] == pytest.approx(-1.0)
    assert result.numbers["L^{+-} / c"]["pearson_r"] == pytest.approx(1.0)
    assert result.numbers["L^{+-} / c"]["spearman_at_c=0.01"] == pytest.approx(1.0)
    assert np.isnan(result.numbers["L^{+-} / c"]["spearman_at_c=0.05"])
    for name in [*result.figures, *result.tables]:
        assert (out / name).stat().st_size > 0


def test_clusters_join_unlike_ions_only_and_across_the_box_face() -> None:
    from plugins.analyses.cluster_nernst_einstein import cluster_labels

    box = np.full(3, 10.0)
    positions = np.array([[0, 0, 0], [1.2, 0, 0], [2.4, 0, 0],   # + − + chain: one cluster of charge +1
                          [4.9, 3, 3], [-4.9, 3, 3],              # + − across the face: a neutral pair
                          [0, 4, -4], [1.0, 4, -4]])              # two cations 1σ apart: not joined
    sign = np.array([1, -1, 1, 1, -1, 1, 1])
    labels = cluster_labels(positions, sign, box, 1.6)
    assert len({labels[0], labels[1], labels[2]}) == 1 and labels[3] == labels[4]
    assert len(set(labels)) == 4


def write_walkers(path: Path, unwrapped: np.ndarray, sign: np.ndarray, box_length: float, interval: float,
                  valence: np.ndarray | None = None, masses: np.ndarray | None = None) -> Path:
    """A GSD trajectory of ions (no solvent) at ``unwrapped`` (n_frames, n, 3), a frame every ``interval`` τ
    (``valence`` and ``masses`` per ion where given)."""
    from core.datatypes import Frame
    from core.md.electrolyte import wrap
    from core.md.trajectory import LOG_KT, LOG_TIMESTEP, GSDWriter

    typeid = np.where(sign > 0, 0, 1).astype(np.int32)
    steps_per_frame = 100
    with GSDWriter(path, {LOG_TIMESTEP: interval / steps_per_frame, LOG_KT: 1.0}) as writer:
        for index, positions in enumerate(unwrapped):
            wrapped, image = wrap(positions, box_length)
            writer.append(Frame(wrapped, np.full(3, box_length), typeid, ("cation", "anion", "solvent"), image,
                                np.zeros((0, 2), np.int64), index * steps_per_frame, index * interval,
                                masses=masses, valence=valence))
    return path


def test_cluster_nernst_einstein_counts_free_ions_and_not_neutral_pairs(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    box_length, diffusion, n_frames = 30.0, 0.01, 80
    lattice = np.stack(np.meshgrid(*[np.arange(-12.0, 12.1, 6.0)] * 3), axis=-1).reshape(-1, 3)[:40]
    sites = lattice[rng.permutation(len(lattice))]
    free_sign = np.repeat([1, -1], 10)                          # 20 free ions on their own sites
    pair_sign = np.tile([1, -1], 10)                            # 10 neutral pairs, partners 1σ apart
    starts = np.concatenate([sites[:20], np.repeat(sites[20:30], 2, axis=0) + np.tile([[0, 0, 0], [1.0, 0, 0]],
                                                                                      (10, 1))])
    steps = rng.normal(0, np.sqrt(2 * diffusion), (n_frames, 30, 3))  # 30 walkers: 20 ions and 10 pairs
    walk = np.cumsum(steps, axis=0) - steps[0]
    unwrapped = starts + np.concatenate([walk[:, :20], np.repeat(walk[:, 20:], 2, axis=1)], axis=1)
    sign = np.concatenate([free_sign, pair_sign])
    path = write_walkers(tmp_path / "walk.gsd", unwrapped, sign, box_length, 1.0)
    transport = [transport_of("walk", concentration=20 / box_length ** 3, bjerrum_length=5.0, fit_t0=2.0,
                              fit_t1=20.0, molar_conductivity=0.01, molar_conductivity_ne=0.02)]
    out = tmp_path / "out"
    out.mkdir()
    result = get_registry().instantiate("analysis", "cluster-nernst-einstein", {"max_origins": 40}).run(
        AnalysisInputs([], transport=transport, trajectories={"walk": [path]}), out)
    with open(out / "cluster_nernst_einstein.csv") as handle:
        row = next(csv.DictReader(handle))
    # Σ_c q_c² MSD_c = 20 free ions × 6 D t; divided by 6 kT V c with c V = 20 cations: Λ_cNE = D.
    assert float(row["cluster_nernst_einstein"]) == pytest.approx(diffusion, rel=0.2)
    assert float(row["free_fraction"]) == pytest.approx(0.5, abs=0.05)
    assert result.numbers["cluster_nernst_einstein"]["n_systems"] == 1
    for name in [*result.figures, *result.tables]:
        assert (out / name).stat().st_size > 0


def test_cluster_nernst_einstein_weighs_clusters_by_their_summed_valence(tmp_path: Path) -> None:
    """A 2:1 salt: 10 free Mg²⁺, 30 free X⁻ and 10 MgX⁺ pairs (charge +1, unequal masses). Σ_c q_c² MSD_c =
    (10 × 4 + 30 × 1 + 10 × 1) 6 D t; per formula unit MgX₂ (c V = 20): Λ_cNE = 4 D."""
    rng = np.random.default_rng(5)
    box_length, diffusion, n_frames = 30.0, 0.01, 80
    lattice = np.stack(np.meshgrid(*[np.arange(-12.0, 12.1, 6.0)] * 3), axis=-1).reshape(-1, 3)
    sites = lattice[rng.permutation(len(lattice))[:50]]
    valence = np.concatenate([np.full(10, 2.0), np.full(30, -1.0), np.tile([2.0, -1.0], 10)])
    masses = np.concatenate([np.full(10, 24.0), np.full(30, 60.0), np.tile([24.0, 60.0], 10)])
    starts = np.concatenate([sites[:40], np.repeat(sites[40:], 2, axis=0) + np.tile([[0, 0, 0], [1.0, 0, 0]],
                                                                                    (10, 1))])
    steps = rng.normal(0, np.sqrt(2 * diffusion), (n_frames, 50, 3))
    walk = np.cumsum(steps, axis=0) - steps[0]
    unwrapped = starts + np.concatenate([walk[:, :40], np.repeat(walk[:, 40:], 2, axis=1)], axis=1)
    path = write_walkers(tmp_path / "mx2.gsd", unwrapped, np.sign(valence), box_length, 1.0, valence, masses)
    transport = [transport_of("mx2", concentration=0.123, formula_concentration=20 / box_length ** 3,
                              bjerrum_length=5.0, fit_t0=2.0, fit_t1=20.0, molar_conductivity=0.01,
                              molar_conductivity_ne=0.02)]
    out = tmp_path / "out"
    out.mkdir()
    get_registry().instantiate("analysis", "cluster-nernst-einstein", {"max_origins": 40}).run(
        AnalysisInputs([], transport=transport, trajectories={"mx2": [path]}), out)
    with open(out / "cluster_nernst_einstein.csv") as handle:
        row = next(csv.DictReader(handle))
    assert float(row["cluster_nernst_einstein"]) == pytest.approx(4 * diffusion, rel=0.2)


def test_confidence_filter_keeps_only_well_determined_k(tmp_path: Path) -> None:
    """max_relative_uncertainty: environments whose member spread or posterior std exceeds the fraction of
    the system's mean |k| are left out of Figs. 4 and 5; the tables say how many were kept."""
    from core.analysis.local_conductivity import load_local

    box = 20.0
    positions = np.array([[0, 0, 0], [1.2, 0, 0], [-5, -5, -5], [-5, 5, 5], [5, 5, -5.0], [5, -5, 5.0]])
    sign = np.array([1, -1, 1, -1, 1, -1])
    k = np.array([-1.0, 0.5, -0.2, 0.3, 0.4, 0.6])                  # mean |k| = 0.5
    posterior = np.array([0.01, 0.01, 0.9, 0.01, 0.01, np.nan])      # the third is loose
    spread = np.array([0.0, 0.0, 0.0, 0.0, 0.6, 0.0])                # the members disagree on the fifth
    store = write_store(tmp_path / "s0.h5", positions, sign, box)
    np.savez(tmp_path / "s0.npz", k_mean=k, k_std=spread, k_posterior_std=posterior)
    local = load_local(tmp_path / "s0.npz")
    np.testing.assert_array_equal(local.confident(0.2), [True, True, False, True, False, True])
    assert local.confident(None).all()
    np.savez(tmp_path / "old.npz", k_mean=k, k_std=spread)          # written before k_posterior_std existed
    assert np.isnan(load_local(tmp_path / "old.npz").k_posterior_std).all()

    prediction = prediction_of("s0", "train", concentration=0.01, bjerrum_length=5.0, true=0.1, true_err=0.01,
                               predicted=0.1, predicted_std=0.0)
    inputs = AnalysisInputs([], predictions=[prediction], feature_stores={"s0": store},
                            local_conductivities={"s0": tmp_path / "s0.npz"})
    numbers = {}
    for threshold in (None, 0.2):
        out = tmp_path / f"out-{threshold}"
        out.mkdir()
        numbers[threshold] = get_registry().instantiate(
            "analysis", "local-distribution", {"max_relative_uncertainty": threshold}).run(inputs, out).numbers["s0"]
    assert numbers[None]["confident_percent"] == pytest.approx(100.0)
    assert numbers[0.2]["confident_percent"] == pytest.approx(100 * 4 / 6)
    assert numbers[None]["negative_percent"] == pytest.approx(100 * 2 / 6)
    assert numbers[0.2]["negative_percent"] == pytest.approx(100 * 1 / 4)   # −0.2 was the loose one
    assert numbers[0.2]["k_posterior_std_median"] == pytest.approx(0.01)
    out = tmp_path / "heterogeneity"
    out.mkdir()
    get_registry().instantiate("analysis", "heterogeneity", {"max_relative_uncertainty": 0.2}).run(inputs, out)
    row = (out / "heterogeneity.csv").read_text().splitlines()[1].split(",")
    assert int(row[6]) == 4 and float(row[7]) == pytest.approx(0.01)


def attribution_inputs(tmp_path: Path, learned) -> AnalysisInputs:
    """One system of environment-dependent walkers (known share g(r)), its measured attribution, a feature store
    of every 3rd frame and local k = ``learned(r)``."""
    from core.features.neighbours import nearest_unlike_distance
    from core.features.store import FeatureStoreWriter
    from core.learn.trajectory_answer import write_trajectory
    from core.md.trajectory import read_frames
    from core.transport.attribution import save_attribution, system_attribution
    from core.transport.replica_files import replica_positions

    path = tmp_path / "walk.gsd"
    write_trajectory(path, 30, (30 / 0.04) ** (1 / 3), 1200, np.random.default_rng(4))
    positions = replica_positions(path)
    attribution = system_attribution([positions], plateau_start=0.0, formula_units=positions.curves().formula_units,
                                     cutoff=3.0)
    save_attribution(attribution, tmp_path / "attribution.npz")
    writer = FeatureStoreWriter(tmp_path / "features.h5", dim=1, attributes={"system": "walk"})
    distances = []
    frames = list(range(0, 1200, 3))
    for index, frame in zip(frames, read_frames(path, frames)):
        ions = frame.ion_indices
        distance = nearest_unlike_distance(frame.positions, frame.ion_sign, frame.box, ions)
        distances.append(distance)
        writer.append(np.zeros((len(ions), 1)), replica=np.zeros(len(ions)), frame=np.full(len(ions), index),
                      ion_index=ions, charge_sign=frame.ion_sign[ions], bonded=np.zeros(len(ions), bool),
                      nearest_unlike=distance)
    writer.close()
    distance = np.concatenate(distances)
    np.savez(tmp_path / "walk.npz", k_mean=learned(distance), k_std=np.zeros(len(distance)))
    return AnalysisInputs(systems=[], predictions=[prediction_of("walk", "test")],
                          feature_stores={"walk": tmp_path / "features.h5"},
                          local_conductivities={"walk": tmp_path / "walk.npz"},
                          attributions={"walk": tmp_path / "attribution.npz"})


@pytest.mark.parametrize("learned, agrees", [("truth", True), ("constant", False)])
def test_local_attribution_tells_a_right_local_k_from_a_constant_one(tmp_path: Path, learned, agrees) -> None:
    """Learned k equal to the walkers' known share g(r) agrees with the measurement (χ²/dof ~ 1, contrast within
    2 s.e.); a constant k with the right mean does not."""
    from core.learn.trajectory_answer import expected_attribution

    function = expected_attribution if learned == "truth" else (lambda r: np.full(len(r), 0.03))
    inputs = attribution_inputs(tmp_path, function)
    analysis = get_registry().instantiate("analysis", "local-attribution", {"distance_bins": [1.0, 1.5]})
    result = analysis.run(inputs, tmp_path)
    numbers = result.numbers
    assert numbers["n_system_bins_held_out"] == 3 and numbers["n_system_bins_all"] == 3
    with open(tmp_path / "local_attribution.csv") as handle:
        table = list(csv.DictReader(handle))
    assert [row["bin"] for row in table] == ["0–1σ", "1–1.5σ", "1.5–infσ"]
    if agrees:
        # the velocity window ±δ smooths g slightly (docs/transport.md): a χ² a little above 1 is expected
        assert numbers["chi2_per_dof_all"] < 4, numbers
    else:
        assert numbers["chi2_per_dof_all"] > 25, numbers
    assert "contrast_z" not in numbers          # three bins: no contact-minus-free contrast
    assert (tmp_path / "local_attribution.png").is_file()


@pytest.mark.parametrize("learned", ["truth", "constant", "inverted"])
def test_figure_analyses_check_learned_k_against_the_measured_shares(tmp_path: Path, learned: str) -> None:
    """Figs. 4, 5, 6 and 7/8 set the learned k beside the measured attribution on the walkers' known share g(r).

    The truth agrees everywhere. A constant k with the right mean fails the group means (Fig. 4), the spread
    the nearest-unlike distance explains (Fig. 5) and the contrast (Figs. 7/8); it claims no spatial
    correlation, which the data cannot refute through C_lm (Fig. 6 checks what a model claims). An inverted
    k (2 mean − g) has the truth's C(r) exactly, and C_lm of the opposite sign: Fig. 6's check fails.
    """
    from core.learn.trajectory_answer import expected_attribution

    functions = {"truth": expected_attribution, "constant": lambda r: np.full(len(r), 0.03),
                 "inverted": lambda r: 0.06 - expected_attribution(r)}
    inputs = attribution_inputs(tmp_path, functions[learned])
    inputs.predictions[0] = prediction_of("walk", "test", concentration=0.04, bjerrum_length=1.0, true=0.03)
    inputs.trajectories["walk"] = [tmp_path / "walk.gsd"]
    inputs.transport.append(transport_of("walk", concentration=0.04, bjerrum_length=1.0, L_self_pp=1.0, L_pm=0.1))
    results = {}
    for name in ("local-distribution", "heterogeneity", "spatial-correlation", "onsager-relations"):
        out = tmp_path / name
        out.mkdir()
        results[name] = get_registry().instantiate("analysis", name, {}).run(inputs, out)
    figure4 = results["local-distribution"].numbers["measured_agreement"]
    assert figure4["n_system_groups"] == 2
    figure5 = results["heterogeneity"].numbers["measured_agreement"]
    assert figure5["n_systems"] == 1
    figure6 = results["spatial-correlation"].numbers["measured_agreement"]
    assert figure6["n_bins"] > 30 or learned == "constant"
    with open(tmp_path / "onsager-relations" / "onsager_relations.csv") as handle:
        contrast = next(csv.DictReader(handle))
    contrast_z = float(contrast["contrast_z"])
    assert float(contrast["contrast_measured"]) < -3 * float(contrast["contrast_measured_err"])  # contact ions carry less
    if learned == "truth":
        assert figure4["chi2_per_dof"] < 4 and figure5["chi2_per_dof"] < 4 and abs(contrast_z) < 2.5, \
            (figure4, figure5, contrast_z)
        assert figure6["chi2_per_dof"] < 2, figure6
    elif learned == "constant":
        assert figure4["chi2_per_dof"] > 25 and figure5["chi2_per_dof"] > 9 and abs(contrast_z) > 5, \
            (figure4, figure5, contrast_z)
        assert figure6["n_bins"] == 0     # C and C_lm both vanish exactly: nothing claimed, nothing to refute
    else:
        assert figure6["chi2_per_dof"] > 4, figure6
        assert contrast_z > 5    # the inverted contrast has the wrong sign
    assert all(any(note.startswith("Measured check") for note in result.notes)
               for name, result in results.items() if name != "onsager-relations")


@pytest.mark.parametrize("name", ["heterogeneity", "local-attribution"])
@pytest.mark.parametrize("edges", [[2.0, 1.0], [1.0, 1.0], [0.0, 1.5], [-1.0]])
def test_distance_bins_must_be_positive_and_increasing(name: str, edges: list[float]) -> None:
    """One validated option type (``core.api.DistanceBinEdges``) for both analyses' bin edges."""
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="distance_bins"):
        get_registry().instantiate("analysis", name, {"distance_bins": edges})


@pytest.mark.parametrize("name", ["heterogeneity", "local-distribution", "spatial-correlation"])
@pytest.mark.parametrize("limit", [0.0, -0.5, True])
def test_the_confidence_filter_is_one_validated_option(name: str, limit) -> None:
    """``core.api.MaxRelativeUncertainty`` is the one option type of the three analyses' confidence filter."""
    from pydantic import ValidationError

    assert get_registry().instantiate("analysis", name, {"max_relative_uncertainty": 0.5}).config \
        .max_relative_uncertainty == 0.5
    with pytest.raises(ValidationError, match="max_relative_uncertainty"):
        get_registry().instantiate("analysis", name, {"max_relative_uncertainty": limit})


def test_shared_check_helpers_have_known_values() -> None:
    """A contrast between groups drops the common error; the summary counts finite z only."""
    from core.api import GroupComparison, agreement_numbers

    comparison = GroupComparison(n_environments=np.array([50, 80]), learned=np.array([0.3, 0.1]),
                                 measured=np.array([0.5, 0.2]), measured_err=np.array([0.03, 0.04]),
                                 common_err=7.0)
    contrast = comparison.contrast(0, 1)
    assert contrast.learned == pytest.approx(0.2) and contrast.measured == pytest.approx(0.3)
    assert contrast.measured_err == pytest.approx(0.05)       # √(0.03² + 0.04²): the common 7.0 cancels
    assert contrast.z == pytest.approx(-2.0)
    numbers = agreement_numbers([1.0, -3.0, np.nan, 0.5, 2.0], "n_systems")
    assert numbers == {"chi2_per_dof": pytest.approx((1 + 9 + 0.25 + 4) / 4), "n_systems": 4, "within_2_se": 3}
    assert agreement_numbers([np.nan], "n_bins")["n_bins"] == 0


def test_identity_line_spans_the_finite_values() -> None:
    from core.api import identity_line, pyplot

    figure, axes = pyplot().subplots()
    identity_line(axes, [0.2, np.nan, 1.2, 0.7], "k:", pad_fraction=0.1)
    identity_line(axes, [np.nan])                                   # nothing to span: nothing drawn
    (line,) = axes.get_lines()
    assert list(line.get_xdata()) == pytest.approx([0.1, 1.3]) and list(line.get_ydata()) == pytest.approx([0.1, 1.3])
    pyplot().close(figure)


def test_install_hint_defaults_to_pip_install_of_what_is_required() -> None:
    from core.api import AnalysisPlugin

    class Needs(AnalysisPlugin):
        name, requires = "needs-two", ("matplotlib", "scipy")

    class Says(AnalysisPlugin):
        name, requires, install_hint = "says-its-own", ("hoomd",), "conda install -c conda-forge hoomd"

    assert Needs.install_hint == "pip install matplotlib scipy"
    assert Says.install_hint == "conda install -c conda-forge hoomd"
    assert get_registry().info("analysis", "spatial-correlation").plugin_class.install_hint == \
        "pip install matplotlib scipy"


def test_per_system_runs_on_a_hand_made_view_without_a_pipeline() -> None:
    """The template's unit: parity's per_system on rows written by hand (no run, no scikit-learn)."""
    from core.api import AnalysisInputs, AnalysisResult, SystemView

    parity = get_registry().instantiate("analysis", "parity", {})
    rows = [prediction_of("a", "train", true=0.10, true_err=0.01, predicted=0.12, predicted_std=0.02,
                          cross_predicted=0.09, cross_predicted_std=0.03),
            prediction_of("b", "external", true=0.05, true_err=0.01, predicted=0.04, predicted_std=0.01)]
    inputs = AnalysisInputs(systems=[], predictions=rows)
    parity.prepare(inputs, AnalysisResult(title=""))
    views = list(parity.views(inputs))
    assert [v.name for v in views] == ["a", "b"] and views[0].split == "train" and views[0].transport is None
    from dataclasses import asdict

    assert asdict(parity.per_system(views[0])) == {"system": "a", "split": "heldout", "true": 0.10, "true_err": 0.01,
                                                   "predicted": 0.09, "predicted_std": 0.03, "residual": 0.09 - 0.10}
    assert parity.per_system(SystemView("b", "external", rows[1], None, inputs)).split == "external"


def test_the_template_writes_the_declared_table_and_refuses_what_was_not_declared(tmp_path) -> None:
    """The base writes exactly the declared columns; a row with another column, or a result naming a file
    that was not written, is an error rather than a silent table."""
    from core.api import AnalysisInputs, PluginConfig, SystemAnalysis

    class Means(SystemAnalysis):
        name, version, Config = "means", "0", PluginConfig
        table, columns = "means.csv", ("system", "true")
        system_needs = frozenset({"prediction"})
        extra: dict = {}
        promised: list = []

        def per_system(self, view):
            return {"system": view.name, "true": view.prediction.true.value, **self.extra}

        def conclude(self, rows, inputs, result, output_dir):
            result.numbers["mean"] = sum(r["true"] for r in rows) / len(rows)
            result.figures += self.promised

    inputs = AnalysisInputs(systems=[], predictions=[prediction_of("a", "train", true=1.0),
                                                     prediction_of("b", "test", true=3.0)])
    assert Means.needs == frozenset({"predictions"})
    result = Means(PluginConfig()).run(inputs, tmp_path)
    assert (tmp_path / "means.csv").read_text().splitlines() == ["system,true", "a,1.0", "b,3.0"]
    assert result.tables == ["means.csv"] and result.numbers == {"mean": 2.0}
    Means.extra = {"undeclared": 1}
    with pytest.raises(ValueError, match="undeclared"):
        Means(PluginConfig()).run(inputs, tmp_path)
    Means.extra, Means.promised = {}, ["figure.png"]
    with pytest.raises(RuntimeError, match="figure.png"):
        Means(PluginConfig()).run(inputs, tmp_path)


def test_the_template_writes_several_declared_tables_and_refuses_an_undeclared_one(tmp_path) -> None:
    """With ``tables``, per_system gives rows by file name; each table is written with its own columns, and
    conclude sees every table's rows."""
    from core.api import AnalysisInputs, PluginConfig, SystemAnalysis

    class Two(SystemAnalysis):
        name, version, Config = "two", "0", PluginConfig
        tables = {"values.csv": ("system", "true"), "errors.csv": ("system", "kind", "err")}
        system_needs = frozenset({"prediction"})
        target = "errors.csv"

        def per_system(self, view):
            p = view.prediction
            return {"values.csv": [{"system": view.name, "true": p.true.value}],
                    self.target: [{"system": view.name, "kind": kind, "err": p.true.err} for kind in ("a", "b")]}

        def conclude(self, rows, inputs, result, output_dir):
            result.numbers["rows"] = {name: len(part) for name, part in rows.items()}

    inputs = AnalysisInputs(systems=[], predictions=[prediction_of("a", "train", true=1.0, true_err=0.5),
                                                     prediction_of("b", "test", true=3.0, true_err=0.25)])
    result = Two(PluginConfig()).run(inputs, tmp_path)
    assert result.tables == ["values.csv", "errors.csv"]
    assert result.numbers["rows"] == {"values.csv": 2, "errors.csv": 4}
    assert (tmp_path / "errors.csv").read_text().splitlines() == [
        "system,kind,err", "a,a,0.5", "a,b,0.5", "b,a,0.25", "b,b,0.25"]
    Two.target = "other.csv"
    with pytest.raises(ValueError, match="'other.csv', which is not one of its tables"):
        Two(PluginConfig()).run(inputs, tmp_path)
