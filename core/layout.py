"""Every file a run writes, by name, and how its artifacts are read back.

A run's work directory holds the run-level files below, one artifact directory per task
(``<stage>/<label>-<key>/``, see :class:`core.artifacts.ArtifactStore`) and the report. Each stage writes
the artifact files named here and nowhere else; every reader (later stages, the run-level tables, the
report, the plugin-author kit) takes the names and the readers from this module, so no stage imports
another to learn where its outputs are.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from core.datatypes import AnalysisResult

# -- the work directory --------------------------------------------------------------------------------
#: The recipe as run, with every default filled in.
RECIPE_FILE = "recipe.yaml"
#: Every planned task with its key, inputs, status and checksum (:mod:`core.manifest`).
MANIFEST_FILE = "manifest.json"
#: Held while a run works in the directory, so two runs cannot share it.
LOCK_FILE = ".localcond.lock"
#: The rounds of ``simulation.precision``: which replicas were extended, and why.
PRECISION_FILE = "precision.json"
#: One row per system: Λ with its error, the Onsager coefficients, the fit window.
TRANSPORT_FILE = "transport.csv"
#: One row per replica of every system.
TRANSPORT_REPLICAS_FILE = "transport_replicas.csv"
#: One row per descriptor × model pair of an ablation.
ABLATION_FILE = "ablation.csv"
#: The run's report.
REPORT_FILE = "report.html"
#: The stdout and stderr of each SLURM worker job (``executor.slurm.log_directory`` unset).
SLURM_LOG_DIR = "slurm-logs"

# -- inside artifacts ----------------------------------------------------------------------------------
#: simulate: the replica's GSD trajectory.
TRAJECTORY_FILE = "trajectory.gsd"
#: simulate: the engine state at the last frame, which an extension continues from.
FINAL_STATE_FILE = "final_state.bin"
#: transport: ``{"system": row, "replicas": [rows]}``.
TRANSPORT_RESULT_FILE = "transport.json"
#: transport: each ion's measured share of Λ at every frame (:mod:`core.transport.attribution`).
ATTRIBUTION_FILE = "attribution.npz"
#: transport: stem of the diagnostic figure (``.png`` and ``.svg``).
TRANSPORT_FIGURE_STEM = "transport"
#: featurize: the HDF5 feature store (:mod:`core.features.store`).
STORE_FILE = "features.h5"
#: learn (member): the directory a model saves itself into.
MODEL_DIR = "model"
#: The label of the main ensemble's predict task, whose predictions and metrics are the run's.
MAIN_PREDICTION = "ensemble"
#: learn (predict), and copied to the work directory for the main ensemble: one row per system.
PREDICTIONS_FILE = "predictions.csv"
#: learn (predict), and copied to the work directory: scores per split.
METRICS_FILE = "metrics.json"
#: learn (predict) of an ablation: which descriptor and model it compares.
VARIANT_FILE = "variant.json"
#: learn (predict): ``<system>.npz`` with ``k_mean``, ``k_std``, ``k_posterior_std`` per environment.
LOCAL_DIR = "local"
#: analyze: the :class:`core.datatypes.AnalysisResult` as JSON.
ANALYSIS_RESULT_FILE = "result.json"

#: Columns of ``predictions.csv``. ``predicted``: the main ensemble's mean over members; ``cross_predicted``:
#: the mean of the outer-fold members that never saw the system (NaN without outer folds, and for external
#: systems); ``true_std`` is the standard error of the label Λ (``molar_conductivity_err`` of the transport
#: stage, from the trajectories themselves); the other ``_std`` columns are the spread over the members.
#: The last three summarise how well the system's local k are pinned down: the mean |k| over its
#: environments, the median spread of k over the members (``k_std`` of the local file) and the median
#: posterior standard deviation of k from the local prediction rigidity (``k_posterior_std``; NaN for a
#: model without ``local_variance``).
PREDICTION_COLUMNS = ("system", "split", "concentration", "bjerrum_length", "paired_fraction",
                      "true", "true_std", "predicted", "predicted_std", "cross_predicted", "cross_predicted_std",
                      "n_environments", "k_mean_abs", "k_std_median", "k_posterior_std_median")


def read_transport(artifact: Path) -> dict[str, Any]:
    """The ``{"system": row, "replicas": [rows]}`` result of a transport artifact."""
    return json.loads((Path(artifact) / TRANSPORT_RESULT_FILE).read_text())


def read_attribution(artifact: Path):
    """The :class:`core.transport.attribution.SystemAttribution` of a transport artifact, or None without one."""
    from core.transport.attribution import load_attribution

    path = Path(artifact) / ATTRIBUTION_FILE
    return load_attribution(path) if path.is_file() else None


def read_table(path: Path, numeric: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
    """Rows of a CSV table the run wrote (``[]`` where there is no file): the one CSV reader.

    ``numeric``: these columns become floats (NaN where empty or not a number); None: every value that
    parses as a number becomes a float, the rest stay strings.
    """
    path = Path(path)
    if not path.is_file():
        return []
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        for column in (numeric if numeric is not None else list(row)):
            if column in row:
                row[column] = _number(row[column], strict=numeric is not None)
    return rows


def _number(text: str, strict: bool = True) -> float | str:
    try:
        return float(text)
    except (TypeError, ValueError):
        return float("nan") if strict else text


def read_predictions(path: Path) -> list[dict[str, Any]]:
    """Rows of a ``predictions.csv`` (a file, or the predict artifact holding one), numbers as floats."""
    path = Path(path)
    return read_table(path / PREDICTIONS_FILE if path.is_dir() else path, numeric=PREDICTION_COLUMNS[2:])


def read_metrics_file(path: Path) -> dict[str, Any]:
    """A ``metrics.json`` (a file, or the directory holding one) as written: scores by split, and at the
    run level the systems left out; ``{}`` where there is none. The one metrics reader."""
    path = Path(path)
    path = path / METRICS_FILE if path.is_dir() else path
    return json.loads(path.read_text()) if path.is_file() else {}


def read_analysis_result(artifact: Path) -> AnalysisResult:
    """The result an analysis artifact recorded."""
    return AnalysisResult(**json.loads((Path(artifact) / ANALYSIS_RESULT_FILE).read_text()))


def local_conductivity_files(artifact: Path) -> dict[str, Path]:
    """System name -> its ``.npz`` of local conductivities in a predict artifact."""
    return {path.stem: path for path in sorted((Path(artifact) / LOCAL_DIR).glob("*.npz"))}
