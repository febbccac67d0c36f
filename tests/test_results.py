"""Typed results (core/results.py) and their rows (core/storage/layout.py): a row read back is the same row, in the same
column order, through JSON (the transport artifact) and through CSV (``transport.csv``); what the typed result
says is what the row said."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest

from core.storage.layout import (PREDICTION_COLUMNS, prediction_from_row, prediction_to_row, read_predictions,
                         read_transport_table, transport_from_row, transport_to_row, write_predictions)
from core.storage.outputs import TRANSPORT_COLUMNS, _csv
from core.results import AttributionSummary, Estimate, Prediction, SystemTransport
from core.md.species import IonSpecies
from core.testing import prediction_of, transport_of
from core.transport.curves import curves_from_positions
from core.transport.onsager import system_transport
from tests.test_species_mixture import COUNTS, INTERVAL, LENGTH, SPECIES, walkers


def same_row(first: dict, second: dict) -> bool:
    """Equal keys in equal order and equal values, NaN equal to NaN."""
    def same(a, b) -> bool:
        return a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))
    return list(first) == list(second) and all(same(first[key], second[key]) for key in first)


def transports(mixture: bool) -> tuple[SystemTransport, list]:
    """Two replicas of the Li/Mg/TFSI walkers (or of the same ions as one cation and one anion species), with
    the label check, and the identity and an attribution summary filled in as the transport stage does; and the
    replicas' own results."""
    types, walker, diffusion = walkers()
    mass = np.array([SPECIES[t][2] for t in types])
    species = tuple(IonSpecies(SPECIES[t][0], SPECIES[t][1], COUNTS[t]) for t in (1, 2, 3))
    curves = []
    for seed, frames in ((1, 200), (2, 160)):   # replicas of unequal length: unequal errors, unequal weights
        rng = np.random.default_rng(seed)
        steps = rng.normal(size=(frames, len(diffusion), 3)) * np.sqrt(2 * diffusion * INTERVAL)[None, :, None]
        positions = np.cumsum(steps, axis=0)[:, walker]
        positions -= np.average(positions, axis=1, weights=mass)[:, None]
        cations, anions = positions[:, types == 1], positions[:, types == 3]
        if mixture:
            cations = positions[:, np.isin(types, (1, 2))]
            curves.append(curves_from_positions(
                cations, anions, INTERVAL, LENGTH ** 3, species=species,
                cation_species=np.array([{1: 0, 2: 1}[t] for t in types[np.isin(types, (1, 2))]]),
                anion_species=np.full(COUNTS[3], 2)))
        else:
            curves.append(curves_from_positions(cations, anions, INTERVAL, LENGTH ** 3))
    fit = system_transport(curves)
    return replace(fit.transport, system="s", concentration=0.01, bjerrum_length=5, paired_fraction=0.0,
                   attribution=AttributionSummary(Estimate(0.1, 0.01), Estimate(0.2, 0.02), 3.0)), fit.replicas


@pytest.mark.parametrize("mixture", [False, True], ids=["salt", "mixture"])
def test_a_transport_row_reads_back_as_the_same_row_through_json_and_csv(tmp_path, mixture):
    transport, _ = transports(mixture)
    row = transport_to_row(transport)
    assert same_row(transport_to_row(transport_from_row(json.loads(json.dumps(row)))), row)
    extra = [column for column in row if column not in TRANSPORT_COLUMNS]
    (tmp_path / "transport.csv").write_text(_csv([row], TRANSPORT_COLUMNS + extra))
    (read_back,) = read_transport_table(tmp_path)
    assert same_row(transport_to_row(read_back), row)
    # what the typed result says is what the columns say
    assert row["molar_conductivity"] == transport.molar_conductivity.value
    assert row["molar_conductivity_err"] == transport.molar_conductivity.err
    assert row["molar_conductivity_std"] == transport.molar_conductivity.std
    assert row["label_status"] == transport.label_status and transport.label_check is not None
    assert row["fit_t0"] == transport.window.t0 and row["diffusive"] == transport.window.diffusive
    if mixture:
        assert [s.name for s in transport.species] == ["Li", "Mg", "TFSI"]
        assert [other for other, _ in transport.species[0].onsager] == ["Li", "Mg", "TFSI"]
        assert row["L_Li_TFSI"] == transport.species[0].onsager[2][1].value
        assert row["D_Mg_err"] == transport.species[1].diffusion.err and row["z_Mg"] == 2
    else:
        assert transport.species == () and not any(key.startswith("L_Li") for key in row)


def test_the_replica_scatter_and_the_standard_error_are_kept_apart():
    """err is the inverse-variance pooled standard error of the replicas' own errors, std the scatter of their
    values (ddof 1), sem = std / √n: each recomputed here from the replicas' results, not from the pooled row."""
    transport, replicas = transports(False)
    values = np.array([r.molar_conductivity for r in replicas])
    errors = np.array([r.molar_conductivity_err for r in replicas])
    weights = 1.0 / errors ** 2
    assert not np.isclose(weights[0], weights[1], rtol=1e-3)    # the weighting is visible
    pooled = transport.molar_conductivity
    assert pooled.value == pytest.approx(float(np.sum(weights * values) / weights.sum()), rel=1e-12)
    assert pooled.err == pytest.approx(float(1.0 / np.sqrt(weights.sum())), rel=1e-12)
    assert pooled.std == pytest.approx(float(np.std(values, ddof=1)), rel=1e-12)
    assert pooled.err != pooled.std
    assert transport.molar_conductivity_sem == pytest.approx(float(np.std(values, ddof=1)) / math.sqrt(len(values)))


def test_a_prediction_row_reads_back_as_the_same_row(tmp_path):
    prediction = Prediction(system="a", split="test", concentration=0.01, bjerrum_length=5.0, paired_fraction=0.0,
                            true=Estimate(0.1, err=0.01), predicted=Estimate(0.12, std=0.02),
                            cross_predicted=Estimate(float("nan"), std=float("nan")), n_environments=120,
                            k_mean_abs=0.3, k_std_median=0.05, k_posterior_std_median=float("nan"))
    row = prediction_to_row(prediction)
    assert tuple(row) == PREDICTION_COLUMNS and row["true_err"] == 0.01 and row["predicted_std"] == 0.02
    write_predictions(tmp_path / "predictions.csv", [prediction])
    (read_back,) = read_predictions(tmp_path / "predictions.csv")
    assert same_row(prediction_to_row(read_back), row) and read_back.n_environments == 120
    assert same_row(prediction_to_row(prediction_from_row(row)), row)


def test_hand_made_results_fill_what_a_test_leaves_out():
    transport = transport_of("x", molar_conductivity=0.1, molar_conductivity_err=0.01, fit_t0=2.0)
    label = transport.molar_conductivity
    assert (label.value, label.err) == (0.1, 0.01) and math.isnan(label.std)
    assert transport.window.t0 == 2.0 and math.isnan(transport.window.t1) and transport.label_check is None
    prediction = prediction_of("x", "test", true=0.1)
    assert prediction.true.value == 0.1 and math.isnan(prediction.predicted.value)
    with pytest.raises(TypeError, match="not columns of predictions.csv: trueish"):
        prediction_of("x", "test", trueish=0.1)
