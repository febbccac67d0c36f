"""Analysis plugins on inputs with known answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.datatypes import AnalysisInputs
from core.learn.scores import attainable_r2, r2_score
from core.registry import get_registry


def rows(true, predicted, split, std=0.01):
    return [{"system": f"{split}{i}", "split": split, "true": t, "true_std": std, "predicted": p,
             "predicted_std": 0.005} for i, (t, p) in enumerate(zip(true, predicted))]


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
    for row, cross in zip(predictions, [*(true + 0.02), np.nan]):
        row.update(cross_predicted=cross, cross_predicted_std=0.003)
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
        predictions.append({"system": name, "split": "train", "true": true, "concentration": 0.01 * (i + 1),
                            "true_std": 0.01, "predicted": true, "predicted_std": 0.0})
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
