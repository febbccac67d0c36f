"""Every file a run writes, by name, and how its artifacts are read back.

A run's work directory holds the run-level files below, one artifact directory per task
(``<stage>/<label>-<key>/``, see :class:`core.storage.artifacts.ArtifactStore`) and the report. Each stage writes
the artifact files named here and nowhere else; every reader (later stages, the run-level tables, the
report, the plugin-author kit) takes the names and the readers from this module, so no stage imports
another to learn where its outputs are.
"""

from __future__ import annotations

import math

import csv
import io
import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.datatypes import AnalysisResult
from core.results import (ESTIMATED, AttributionSummary, Estimate, LabelCheck, Prediction, SpeciesTransport,
                          SystemTransport, TransportWindow)

if TYPE_CHECKING:
    from core.transport.onsager import ReplicaTransport

# -- the work directory --------------------------------------------------------------------------------
#: The recipe as run, with every default filled in.
RECIPE_FILE = "recipe.yaml"
#: Every planned task with its key, inputs, status and checksum (:mod:`core.storage.manifest`).
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
#: systems); ``true_err`` is the standard error of the label Λ (``molar_conductivity_err`` of the transport
#: stage, from the trajectories themselves); the other ``_std`` columns are the spread over the members.
#: The last three summarise how well the system's local k are pinned down: the mean |k| over its
#: environments, the median spread of k over the members (``k_std`` of the local file) and the median
#: posterior standard deviation of k from the local prediction rigidity (``k_posterior_std``; NaN for a
#: model without ``local_variance``).
PREDICTION_COLUMNS = ("system", "split", "concentration", "bjerrum_length", "paired_fraction",
                      "true", "true_err", "predicted", "predicted_std", "cross_predicted", "cross_predicted_std",
                      "n_environments", "k_mean_abs", "k_std_median", "k_posterior_std_median")


def read_transport(artifact: Path) -> SystemTransport:
    """The :class:`SystemTransport` of a transport artifact."""
    return transport_from_row(json.loads((Path(artifact) / TRANSPORT_RESULT_FILE).read_text())["system"])


def read_transport_replicas(artifact: Path) -> list[dict[str, Any]]:
    """The per-replica rows of a transport artifact (``transport_replicas.csv``'s, without system and replica)."""
    return json.loads((Path(artifact) / TRANSPORT_RESULT_FILE).read_text())["replicas"]


#: Columns of ``transport.csv`` that hold a truth value (empty: None) or a count.
_TRUTH_COLUMNS = ("test_only", "diffusive", "collective_converged", "relaxation_resolved")
_COUNT_COLUMNS = ("n_replicas", "n_species")


def read_transport_table(path: Path) -> list[SystemTransport]:
    """The :class:`SystemTransport` of every row of a run's ``transport.csv`` (a file, or the work directory),
    in the table's order; ``[]`` where there is none."""
    path = Path(path)
    rows = read_table(path / TRANSPORT_FILE if path.is_dir() else path)
    for row in rows:
        for column in _TRUTH_COLUMNS:
            if column in row:
                row[column] = {"True": True, "False": False}.get(row[column])
        for column in _COUNT_COLUMNS:
            if column in row:
                row[column] = int(row[column])
        row["system"] = str(row["system"])
    return [transport_from_row(row) for row in rows]


def write_transport(artifact: Path, transport: SystemTransport, replicas: list[ReplicaTransport]) -> None:
    """Write a transport artifact's result file: the system's row and its replicas' rows."""
    (Path(artifact) / TRANSPORT_RESULT_FILE).write_text(json.dumps(
        {"system": transport_to_row(transport), "replicas": [replica_to_row(r) for r in replicas]}, indent=1))


def replica_to_row(replica: ReplicaTransport) -> dict[str, Any]:
    """One replica's numbers as a row of ``transport_replicas.csv`` (a mixture's per-species numbers as
    columns of their own)."""
    row = asdict(replica)
    row.update(row.pop("species_values"))
    return row


# -- typed results as rows: the one place their columns are spelt ------------------------------------------
#: Columns of the relaxation-aware label check, in order (present only where the check ran).
LABEL_CHECK_COLUMNS = ("molar_conductivity_relaxed", "molar_conductivity_relaxed_err", "relaxation_time",
                       "relaxation_resolved", "window_bias", "window_bias_err", "label_status")
#: Columns of the attribution summary, in order (present only with ``transport.attribution``).
ATTRIBUTION_COLUMNS = ("molar_conductivity_attributed", "molar_conductivity_attributed_err",
                       "molar_conductivity_attributed_self", "molar_conductivity_attributed_self_err",
                       "attribution_horizon")


def _estimate_columns(row: dict[str, Any], name: str, estimate: Estimate, err: bool = True) -> None:
    row[name] = estimate.value
    if err:
        row[f"{name}_err"] = estimate.err
    row[f"{name}_std"] = estimate.std


def transport_to_row(transport: SystemTransport) -> dict[str, Any]:
    """``transport`` as a row of ``transport.csv`` (and of ``transport.json``): ``<q>``, ``<q>_err`` (standard
    error) and ``<q>_std`` (replica scatter) per coefficient, a mixture's species as ``z_a``, ``n_a``,
    ``L_a_b``, ``L_self_a``, ``D_a`` columns. :func:`transport_from_row` inverts it exactly."""
    t = transport
    row: dict[str, Any] = {"system": t.system, "concentration": t.concentration, "bjerrum_length": t.bjerrum_length,
                           "paired_fraction": t.paired_fraction, "test_only": t.test_only,
                           "n_replicas": t.n_replicas, "z_plus": t.z_plus, "z_minus": t.z_minus, "ions": t.ions,
                           "n_species": t.n_species, "molar_conductivity_basis": t.molar_conductivity_basis}
    for name in ESTIMATED:
        _estimate_columns(row, name, getattr(t, name))
    _estimate_columns(row, "ionicity", t.ionicity)
    _estimate_columns(row, "kappa_green_kubo", t.kappa_green_kubo, err=False)
    row.update(molar_conductivity_rel_err=t.molar_conductivity.relative_err,
               molar_conductivity_sem=t.molar_conductivity_sem, simulated_time=t.simulated_time,
               formula_concentration=t.formula_concentration)
    for species in t.species:
        row[f"z_{species.name}"] = species.valence
        row[f"n_{species.name}"] = species.count
        for other, value in species.onsager:
            _estimate_columns(row, f"L_{species.name}_{other}", value)
        _estimate_columns(row, f"L_self_{species.name}", species.self_onsager)
        _estimate_columns(row, f"D_{species.name}", species.diffusion)
    w = t.window
    row.update(fit_t0=w.t0, fit_t1=w.t1, msd_loglog_slope=w.msd_loglog_slope, diffusive=w.diffusive,
               collective_converged=w.collective_converged, late_molar_conductivity=w.late_molar_conductivity.value,
               late_molar_conductivity_err=w.late_molar_conductivity.err)
    if (check := t.label_check) is not None:
        row.update(zip(LABEL_CHECK_COLUMNS, (
            check.molar_conductivity_relaxed.value, check.molar_conductivity_relaxed.err, check.relaxation_time,
            check.relaxation_resolved, check.window_bias.value, check.window_bias.err, check.label_status)))
    if (attribution := t.attribution) is not None:
        row.update(zip(ATTRIBUTION_COLUMNS, (
            attribution.molar_conductivity.value, attribution.molar_conductivity.err, attribution.self_part.value,
            attribution.self_part.err, attribution.horizon)))
        row["attribution_z"] = attribution_agreement(t)
    return row


def attribution_agreement(transport: SystemTransport) -> float:
    """z = (Λ_attributed − Λ) / √(σ_attributed² + σ_Λ²): whether the mean of the measured shares agrees with the
    label (both estimate the long-time Λ; their errors are combined as if independent, although they come
    from the same trajectories, so |z| is if anything too small). NaN without an attribution."""
    if transport.attribution is None:
        return float("nan")
    shares, label = transport.attribution.molar_conductivity, transport.molar_conductivity
    spread = math.hypot(shares.err, label.err)
    return (shares.value - label.value) / spread if spread > 0 else float("nan")


def _estimate(row: dict[str, Any], name: str) -> Estimate:
    nan = float("nan")
    return Estimate(row.get(name, nan), row.get(f"{name}_err", nan), row.get(f"{name}_std", nan))


def transport_from_row(row: dict[str, Any]) -> SystemTransport:
    """The :class:`SystemTransport` of a row :func:`transport_to_row` wrote (a column missing from an older
    row reads as NaN, a missing check or attribution as None)."""
    nan = float("nan")
    names = [key[2:] for key in row if key.startswith("z_") and key not in ("z_plus", "z_minus")
             and f"n_{key[2:]}" in row]
    species = tuple(SpeciesTransport(
        name=name, valence=row[f"z_{name}"], count=row[f"n_{name}"],
        onsager=tuple((other, _estimate(row, f"L_{name}_{other}")) for other in names[index:]),
        self_onsager=_estimate(row, f"L_self_{name}"), diffusion=_estimate(row, f"D_{name}"))
        for index, name in enumerate(names))
    window = TransportWindow(row.get("fit_t0", nan), row.get("fit_t1", nan), row.get("msd_loglog_slope", nan),
                             row.get("diffusive", False), row.get("collective_converged"),
                             Estimate(row.get("late_molar_conductivity", nan), row.get("late_molar_conductivity_err", nan)))
    check = None
    if "label_status" in row:
        check = LabelCheck(Estimate(row.get("molar_conductivity_relaxed", nan), row.get("molar_conductivity_relaxed_err", nan)),
                           row.get("relaxation_time", nan), row.get("relaxation_resolved"),
                           Estimate(row.get("window_bias", nan), row.get("window_bias_err", nan)), row["label_status"])
    attribution = None
    if "molar_conductivity_attributed" in row:
        attribution = AttributionSummary(
            Estimate(row["molar_conductivity_attributed"], row.get("molar_conductivity_attributed_err", nan)),
            Estimate(row.get("molar_conductivity_attributed_self", nan),
                     row.get("molar_conductivity_attributed_self_err", nan)),
            row.get("attribution_horizon", nan))
    return SystemTransport(
        system=row.get("system", ""), concentration=row.get("concentration", nan),
        bjerrum_length=row.get("bjerrum_length", nan), paired_fraction=row.get("paired_fraction", nan),
        test_only=row.get("test_only", False), n_replicas=row.get("n_replicas", 1), z_plus=row.get("z_plus", 1.0),
        z_minus=row.get("z_minus", -1.0), ions=row.get("ions", ""), n_species=row.get("n_species", 2),
        molar_conductivity_basis=row.get("molar_conductivity_basis", "formula unit"),
        **{name: _estimate(row, name) for name in ESTIMATED}, ionicity=_estimate(row, "ionicity"),
        kappa_green_kubo=_estimate(row, "kappa_green_kubo"), simulated_time=row.get("simulated_time", nan),
        formula_concentration=row.get("formula_concentration", nan), species=species, window=window,
        label_check=check, attribution=attribution)


def prediction_to_row(prediction: Prediction) -> dict[str, Any]:
    """``prediction`` as a row of ``predictions.csv`` (:data:`PREDICTION_COLUMNS`; ``true_err`` is the label's
    standard error, ``predicted_std`` and ``cross_predicted_std`` the members' spread)."""
    p = prediction
    return {"system": p.system, "split": p.split, "concentration": p.concentration,
            "bjerrum_length": p.bjerrum_length, "paired_fraction": p.paired_fraction, "true": p.true.value,
            "true_err": p.true.err, "predicted": p.predicted.value, "predicted_std": p.predicted.std,
            "cross_predicted": p.cross_predicted.value, "cross_predicted_std": p.cross_predicted.std,
            "n_environments": p.n_environments, "k_mean_abs": p.k_mean_abs, "k_std_median": p.k_std_median,
            "k_posterior_std_median": p.k_posterior_std_median}


def prediction_from_row(row: dict[str, Any]) -> Prediction:
    """The :class:`Prediction` of a ``predictions.csv`` row (numbers already floats, as :func:`read_table`
    gives them with ``numeric``)."""
    n = row["n_environments"]
    return Prediction(system=row["system"], split=row["split"], concentration=row["concentration"],
                      bjerrum_length=row["bjerrum_length"], paired_fraction=row["paired_fraction"],
                      true=Estimate(row["true"], err=row.get("true_err", row.get("true_std"))),   # older files
                      predicted=Estimate(row["predicted"], std=row["predicted_std"]),
                      cross_predicted=Estimate(row["cross_predicted"], std=row["cross_predicted_std"]),
                      n_environments=int(n) if n == n else 0, k_mean_abs=row["k_mean_abs"],
                      k_std_median=row["k_std_median"], k_posterior_std_median=row["k_posterior_std_median"])


def write_predictions(path: Path, predictions: list[Prediction]) -> None:
    """Write ``predictions.csv`` at ``path`` (a file)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=PREDICTION_COLUMNS)
    writer.writeheader()
    writer.writerows(prediction_to_row(p) for p in predictions)
    Path(path).write_text(buffer.getvalue())


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


def read_predictions(path: Path) -> list[Prediction]:
    """The :class:`Prediction` of every row of a ``predictions.csv`` (a file, or the predict artifact holding one)."""
    path = Path(path)
    rows = read_table(path / PREDICTIONS_FILE if path.is_dir() else path,
                      numeric=PREDICTION_COLUMNS[2:] + ("true_std",))   # true_std: the name of true_err before
    return [prediction_from_row(row) for row in rows]


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
