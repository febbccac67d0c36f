"""The learn stage: training one ensemble member, and predicting every system with the ensemble."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from core.datatypes import TaskContext
from core.features.store import read_store
from core.learn.members import data_local, member_local, member_local_variance
from core.learn.scores import prediction_scores
from core.learn.dataset import environment_weights, load_learning_data, target_variance
from core.plugin_system.plugin_api import ModelPlugin
from core.storage.layout import (LOCAL_DIR, METRICS_FILE, MODEL_DIR, PREDICTIONS_FILE, STORE_FILE, VARIANT_FILE,
                          read_attribution, read_transport, write_predictions)
from core.results import Estimate, Prediction, SystemTransport
from core.execution.tasks import MemberTask, PredictTask

#: The pseudo-split of ``metrics.json`` scoring the outer-fold predictions of every trainable system.
CROSS_VALIDATED = "cross-validated"


def _model_plugin(task: MemberTask | PredictTask) -> ModelPlugin:
    plugin = task.plugin.instantiate()
    assert isinstance(plugin, ModelPlugin)
    return plugin


def _locations(task: MemberTask | PredictTask,
               inputs: dict[str, Path]) -> tuple[dict[str, Path], dict[str, SystemTransport]]:
    stores = {name: inputs[key] / STORE_FILE for name, key in task.stores.items()}
    transport = {name: read_transport(inputs[key]) for name, key in task.transport.items()}
    return stores, transport


def _attributions(task: MemberTask, inputs: dict[str, Path], systems: list[str]) -> dict:
    """System -> its transport stage's attribution (None without one), for the systems ``systems``."""
    if task.learn.labels == "system-means":
        return {}
    return {name: read_attribution(inputs[task.transport[name]]) for name in systems}


def run_member(task: MemberTask, inputs: dict[str, Path], output_dir: Path, context: TaskContext) -> dict[str, Any]:
    """Fit one member on its training systems (early stopping on its validation systems)."""
    member = task.member
    stores, transport = _locations(task, inputs)
    learn = asdict(task.learn)
    attributions = _attributions(task, inputs, list(member.train) + list(member.validation))
    train = load_learning_data(list(member.train), stores, transport, **learn, attributions=attributions)
    validation = load_learning_data(list(member.validation), stores, transport, **learn,
                                    attributions=attributions) if member.validation else None
    model = _model_plugin(task).create(seed=member.seed, threads=context.threads)
    model.fit(train, validation)
    (output_dir / MODEL_DIR).mkdir()
    model.save(output_dir / MODEL_DIR)
    local = data_local(model, train)
    return {"train_loss": train.weighted_loss(local), "train_local_loss": train.local_loss(local),
            "member": asdict(member)}


def run_predict(task: PredictTask, inputs: dict[str, Path], output_dir: Path, context: TaskContext) -> dict[str, Any]:
    """Predict every system with the mean of all members; write predictions, local k and metrics.

    Systems of an outer fold are also predicted by that fold's members only (``cross_predicted``).
    """
    plugin = _model_plugin(task)
    models = [plugin.load(inputs[key] / MODEL_DIR) for key in task.members]
    outer_models = {}
    for fold in task.outer:
        fold_models = [plugin.load(inputs[key] / MODEL_DIR) for key in fold.members]  # once per fold
        outer_models.update({name: fold_models for name in fold.systems})
    stores, transport = _locations(task, inputs)
    (output_dir / LOCAL_DIR).mkdir()
    predictions: list[Prediction] = []
    for name, store_path in stores.items():
        store = read_store(store_path)
        keep, weight = environment_weights(store.environments["bonded"], task.learn.bonded_ions)
        features = store.features[keep]
        local = np.stack([member_local(m, features, weight) for m in models])  # (members, n_kept)
        system_predictions = local @ weight                                      # (members,)
        k_mean, k_std, k_posterior_std = (np.full(len(keep), np.nan) for _ in range(3))
        k_mean[keep], k_std[keep] = local.mean(axis=0), local.std(axis=0)
        if all(hasattr(m, "local_variance") for m in models):
            k_posterior_std[keep] = np.sqrt(np.mean([member_local_variance(m, features, weight) for m in models],
                                                    axis=0))
        crossed = [member_local(m, features, weight) for m in outer_models.get(name, [])]   # never saw it
        k_cross = np.full(len(keep), np.nan)
        if crossed:
            k_cross[keep] = np.mean(crossed, axis=0)
        np.savez(output_dir / LOCAL_DIR / f"{name}.npz", k_mean=k_mean, k_std=k_std, k_posterior_std=k_posterior_std,
                 k_cross=k_cross)
        cross = np.array([local_k @ weight for local_k in crossed])
        label = transport[name]
        nan = float("nan")
        predictions.append(Prediction(
            system=name, split=task.roles[name], concentration=label.concentration,
            bjerrum_length=label.bjerrum_length, paired_fraction=label.paired_fraction,
            true=Estimate(label.molar_conductivity.value, err=float(np.sqrt(target_variance(label, 0.0)))),
            predicted=Estimate(float(system_predictions.mean()), std=float(system_predictions.std())),
            cross_predicted=Estimate(float(cross.mean()) if len(cross) else nan,
                                     std=float(cross.std()) if len(cross) else nan),
            n_environments=int(len(keep)), **local_confidence(k_mean[keep], k_std[keep], k_posterior_std[keep])))
    write_predictions(output_dir / PREDICTIONS_FILE, predictions)
    metrics = split_metrics(predictions)
    (output_dir / METRICS_FILE).write_text(json.dumps(metrics, indent=1))
    (output_dir / VARIANT_FILE).write_text(json.dumps(task.variant, indent=1))
    return {"metrics": metrics}


def local_confidence(k_mean: np.ndarray, k_std: np.ndarray, k_posterior_std: np.ndarray) -> dict[str, float]:
    """One system's summary of its kept environments' k: mean |k|, median member spread, median posterior std."""
    if not len(k_mean):
        return {"k_mean_abs": float("nan"), "k_std_median": float("nan"), "k_posterior_std_median": float("nan")}
    return {"k_mean_abs": float(np.mean(np.abs(k_mean))), "k_std_median": float(np.median(k_std)),
            "k_posterior_std_median": float(np.median(k_posterior_std))}


def split_metrics(predictions: list[Prediction]) -> dict[str, dict[str, float]]:
    """R², RMSE and the attainable R² (label noise only) of predicted against true Λ, per split.

    With outer folds, the entry ``"cross-validated"`` scores ``cross_predicted`` over every system that has one.
    """
    metrics: dict[str, dict[str, float]] = {}
    for split in sorted({p.split for p in predictions}):
        chosen = [p for p in predictions if p.split == split]
        metrics[split] = _scores(chosen, [p.predicted.value for p in chosen])
    crossed = [p for p in predictions if np.isfinite(p.cross_predicted.value)]
    if crossed:
        metrics[CROSS_VALIDATED] = _scores(crossed, [p.cross_predicted.value for p in crossed])
    return metrics


def _scores(predictions: list[Prediction], predicted: list[float]) -> dict[str, float]:
    return prediction_scores(np.array([p.true.value for p in predictions]), np.array(predicted),
                             np.array([p.true.err for p in predictions]))
