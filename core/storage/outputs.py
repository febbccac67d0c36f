"""Run-level tables gathered from artifacts: ``transport.csv``, ``transport_replicas.csv``, ``predictions.csv``,
``metrics.json`` and, for an ablation, ``ablation.csv``."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from core.storage.artifacts import atomic_write_text
from core.storage.layout import (ABLATION_FILE, MAIN_PREDICTION, METRICS_FILE, PREDICTIONS_FILE, TRANSPORT_FILE,
                          TRANSPORT_REPLICAS_FILE, VARIANT_FILE, read_metrics_file, read_transport,
                          read_transport_replicas, transport_to_row)
from core.execution.tasks import TaskOutcome

#: The table comparing descriptor × model combinations of an ablation (one row per combination and split).
TRANSPORT_COLUMNS = ["system", "concentration", "bjerrum_length", "paired_fraction", "test_only", "n_replicas",
                     "L_pp", "L_mm", "L_pm", "L_self_pp", "L_self_mm", "D_p", "D_m", "kappa",
                     "molar_conductivity", "molar_conductivity_err", "molar_conductivity_rel_err",
                     "molar_conductivity_std", "molar_conductivity_sem", "molar_conductivity_ne", "ionicity",
                     "simulated_time", "fit_t0", "fit_t1", "diffusive", "collective_converged"]


#: The key of ``metrics.json`` (beside the splits) naming the systems learning went on without.
LEFT_OUT_KEY = "left_out_systems"


def _csv(rows: list[dict[str, Any]], columns: list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    """Every key of ``rows`` in first-seen order (systems of different species have different columns)."""
    return list(dict.fromkeys(key for row in rows for key in row))


def write_run_outputs(workdir: Path, outcomes: list[TaskOutcome], order: list[str] | None = None, *,
                      left_out_systems: list[str] | None = None) -> dict[str, Path]:
    """Write the run-level tables from the successful artifacts; return what was written.

    A table this run has nothing for is removed, so that no earlier run's table passes for this one's.

    ``order``: system names in the recipe's grid order, which the transport tables follow (else the
    order of ``outcomes``, i.e. of completion). ``left_out_systems``: systems learning went on without
    (``model.on_failed_systems: skip``), recorded in ``metrics.json`` under ``left_out_systems``.
    """
    written: dict[str, Path] = {}
    systems, replicas = [], []
    rank = {name: index for index, name in enumerate(order or [])}
    transports = [o for o in outcomes if o.operation == "transport" and o.ok and o.path]
    for outcome in sorted(transports, key=lambda o: rank.get(o.system or "", len(rank))):
        transport = read_transport(Path(outcome.path))
        systems.append(transport_to_row(transport))
        replicas += [{"system": transport.system, "replica": i, **row}
                     for i, row in enumerate(read_transport_replicas(Path(outcome.path)))]
    if systems:
        extra = [c for c in _columns(systems) if c not in TRANSPORT_COLUMNS]
        atomic_write_text(workdir / TRANSPORT_FILE, _csv(systems, TRANSPORT_COLUMNS + extra))
        atomic_write_text(workdir / TRANSPORT_REPLICAS_FILE, _csv(replicas, _columns(replicas)))
        written["transport"] = workdir / TRANSPORT_FILE
    else:  # tables of an earlier run must not pass for this one's
        for name in (TRANSPORT_FILE, TRANSPORT_REPLICAS_FILE):
            (workdir / name).unlink(missing_ok=True)
    ablation = []
    for outcome in outcomes:
        if outcome.operation != "predict" or not outcome.ok or not outcome.path:
            continue
        artifact = Path(outcome.path)
        main = outcome.label == MAIN_PREDICTION
        if main:
            atomic_write_text(workdir / PREDICTIONS_FILE,
                              (artifact / PREDICTIONS_FILE).read_text())
            run_metrics = read_metrics_file(artifact)
            if left_out_systems:
                run_metrics[LEFT_OUT_KEY] = list(left_out_systems)
            atomic_write_text(workdir / METRICS_FILE, json.dumps(run_metrics, indent=1))
            written[PREDICTIONS_FILE] = workdir / PREDICTIONS_FILE
            written[METRICS_FILE] = workdir / METRICS_FILE
        variant_path = artifact / VARIANT_FILE
        variant = {**(json.loads(variant_path.read_text()) if variant_path.is_file() else {}), "main": main}
        metrics = read_metrics_file(artifact)
        ablation += [{"descriptor": variant.get("descriptor", ""), "model": variant.get("model", ""),
                      "descriptor_options": json.dumps(variant.get("descriptor_options", {})),
                      "model_options": json.dumps(variant.get("model_options", {})), "main": main,
                      "split": split, **scores} for split, scores in metrics.items()]
    if not any(row["main"] for row in ablation):
        for name in (PREDICTIONS_FILE, METRICS_FILE):
            (workdir / name).unlink(missing_ok=True)  # an earlier run's, not this plan's
    if any(not row["main"] for row in ablation):
        atomic_write_text(workdir / ABLATION_FILE, _csv(ablation, list(ablation[0])))
        written["ablation"] = workdir / ABLATION_FILE
    else:
        (workdir / ABLATION_FILE).unlink(missing_ok=True)  # from an earlier run of a recipe with an ablation
    return written


def read_metrics(workdir: Path) -> dict[str, Any]:
    """The run's scores by split (``metrics.json`` without :data:`LEFT_OUT_KEY`)."""
    metrics = read_metrics_file(Path(workdir) / METRICS_FILE)
    return {split: values for split, values in metrics.items() if isinstance(values, dict)}


