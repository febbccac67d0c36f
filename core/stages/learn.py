"""The learn stage: training one ensemble member, and predicting every system with the ensemble."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from core.datatypes import TaskContext
from core.features.store import read_store
from core.learn.scores import attainable_r2, r2_score
from core.learn.dataset import environment_weights, load_learning_data, target_variance
from core.plugin_api import ModelPlugin
from core.registry import get_registry
from core.stages import transport as transport_stage
from core.stages.featurize import STORE_FILE
from core.units import Unit

MODEL_DIR = "model"
PREDICTIONS_FILE = "predictions.csv"
METRICS_FILE = "metrics.json"
LOCAL_DIR = "local"
PREDICTION_COLUMNS = ("system", "split", "concentration", "bjerrum_length", "paired_fraction",
                      "true", "true_std", "predicted", "predicted_std", "n_environments")


def _model_plugin(payload: dict[str, Any]) -> ModelPlugin:
    plugin = get_registry().instantiate("model", payload["plugin"], payload["options"])
    assert isinstance(plugin, ModelPlugin)
    return plugin


def _locations(payload: dict[str, Any], inputs: dict[str, Path]) -> tuple[dict[str, Path], dict[str, dict]]:
    stores = {name: inputs[key] / STORE_FILE for name, key in payload["stores"].items()}
    transport = {name: transport_stage.load(inputs[key])["system"] for name, key in payload["transport"].items()}
    return stores, transport


def run_member(unit: Unit, inputs: dict[str, Path], output_dir: Path, context: TaskContext) -> dict[str, Any]:
    """Fit one member on its training systems (early stopping on its validation systems)."""
    payload = unit.payload
    member = payload["member"]
    stores, transport = _locations(payload, inputs)
    learn = payload["learn"]
    train = load_learning_data(member["train"], stores, transport, **learn)
    validation = load_learning_data(member["validation"], stores, transport, **learn) \
        if member["validation"] else None
    model = _model_plugin(payload).create(seed=member["seed"], threads=context.threads)
    model.fit(train, validation)
    (output_dir / MODEL_DIR).mkdir()
    model.save(output_dir / MODEL_DIR)
    local = model.predict_local(train.features)
    return {"train_loss": train.weighted_loss(local), "member": member}


def run_predict(unit: Unit, inputs: dict[str, Path], output_dir: Path, context: TaskContext) -> dict[str, Any]:
    """Predict every system with the mean of all members; write predictions, local k and metrics."""
    payload = unit.payload
    plugin = _model_plugin(payload)
    models = [plugin.load(inputs[key] / MODEL_DIR) for key in payload["members"]]
    stores, transport = _locations(payload, inputs)
    (output_dir / LOCAL_DIR).mkdir()
    rows = []
    for name, store_path in stores.items():
        store = read_store(store_path)
        keep, weight = environment_weights(store.environments["bonded"], payload["learn"]["bonded_ions"])
        local = np.stack([m.predict_local(store.features[keep]) for m in models])  # (members, n_kept)
        system_predictions = local @ weight                                          # (members,)
        k_mean = np.full(len(keep), np.nan)
        k_std = np.full(len(keep), np.nan)
        k_mean[keep], k_std[keep] = local.mean(axis=0), local.std(axis=0)
        np.savez(output_dir / LOCAL_DIR / f"{name}.npz", k_mean=k_mean, k_std=k_std)
        row = transport[name]
        rows.append({"system": name, "split": payload["roles"][name], "concentration": row["concentration"],
                     "bjerrum_length": row["bjerrum_length"], "paired_fraction": row["paired_fraction"],
                     "true": row["molar_conductivity"],
                     "true_std": float(np.sqrt(target_variance(row, 0.0))),
                     "predicted": float(system_predictions.mean()),
                     "predicted_std": float(system_predictions.std()), "n_environments": int(len(keep))})
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=PREDICTION_COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    (output_dir / PREDICTIONS_FILE).write_text(buffer.getvalue())
    metrics = split_metrics(rows)
    (output_dir / METRICS_FILE).write_text(json.dumps(metrics, indent=1))
    return {"metrics": metrics}


def split_metrics(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """R², RMSE and the attainable R² (label noise only) of predicted against true Λ, per split."""
    metrics: dict[str, dict[str, float]] = {}
    for split in sorted({r["split"] for r in rows}):
        chosen = [r for r in rows if r["split"] == split]
        true = np.array([r["true"] for r in chosen])
        predicted = np.array([r["predicted"] for r in chosen])
        attainable, attainable_std = attainable_r2(true, np.array([r["true_std"] for r in chosen]))
        metrics[split] = {"n_systems": int(len(true)), "rmse": float(np.sqrt(np.mean((true - predicted) ** 2))),
                          "r2": r2_score(true, predicted), "attainable_r2": attainable,
                          "attainable_r2_std": attainable_std}
    return metrics


def load_predictions(artifact: Path) -> list[dict[str, Any]]:
    """Rows of an ensemble prediction's ``predictions.csv`` (numbers as floats)."""
    with open(artifact / PREDICTIONS_FILE) as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        for column in PREDICTION_COLUMNS[2:]:
            row[column] = float(row[column])
    return rows
