"""``report.html``: one self-contained page per run (opens from disk, no server).

It gathers headline metrics, the transport and prediction tables, every
analysis's figures, tables and numbers, the recipe, the versions and the
timings recorded in the manifest. Links are relative to the work directory.
"""

from __future__ import annotations

import fnmatch
import html
import math
import platform
from collections import defaultdict
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from core.storage.artifacts import atomic_write_text
from core.storage.outputs import read_metrics
from core.storage.provenance import SOURCE, source_commit
from core.recipe.loader import ResolvedRecipe
from core.storage.layout import (ABLATION_FILE, attribution_agreement, PREDICTIONS_FILE, REPORT_FILE, TRANSPORT_FIGURE_STEM, TRANSPORT_FILE,
                          prediction_to_row, read_analysis_result, read_predictions, read_table,
                          read_transport_table)
from core.results import Prediction, SystemTransport
from core.execution.tasks import STAGES, TaskOutcome
from core.transport.label_status import LabelStatus

STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:90%}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f3f3f3}td:first-child{text-align:left}.bad{color:#b00}img{max-width:100%}pre{background:#f6f6f6;
padding:1em;overflow:auto}figure{margin:1em 0}.missing{font-size:85%;color:#555;margin:0 0 1em}.scroll{overflow-x:auto;max-width:100%}"""


#: What the report shows for a number that could not be computed (never "nan").
MISSING = "—"
#: The reason given where an analysis recorded none.
UNSTATED_REASON = "not computable from the data of this run (the analysis recorded no reason)"


#: Why a column of the report's own tables may hold no number.
TRANSPORT_REASONS = {
    "kappa_green_kubo": "the trajectories hold no velocities (the Green–Kubo κ integrates their current)",
    "molar_conductivity_attributed*": "transport.attribution is off: no measured shares",
    "attribution_z": "transport.attribution is off: no measured shares",
    "molar_conductivity_relaxed*": "the charge MSD's relaxation could not be fitted on this run (too short, or a "
                                   "degenerate fit; label_status says so)",
    "relaxation_time": "the charge MSD's relaxation could not be fitted on this run",
    "window_bias*": "no relaxation-aware fit to compare the label with",
    "molar_conductivity_std": "one replica: no scatter",
    "molar_conductivity_rel_err": "Λ is zero or not computed",
    "ionicity": "no Nernst–Einstein Λ (no self diffusion measured)"}
PREDICTION_REASONS = {
    "cross_predicted*": "no outer-fold model predicted this system (split.n_folds < 2, or a fold failed)",
    "true_err": "one replica: no scatter",
    "predicted_std": "one ensemble member: no spread",
    "k_*": "no local conductivities for this system"}
METRIC_REASONS = {"*": "fewer than two systems in this split, or no spread of their Λ"}


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def _cell(value: Any) -> str:
    if _is_missing(value):
        return MISSING
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_cell(v) for v in value)
    return html.escape(str(value))


def _reason(name: str, reasons: dict[str, str]) -> str:
    """The reason recorded for ``name`` (exactly, else by the first shell-style pattern that matches)."""
    if name in reasons:
        return reasons[name]
    return next((why for pattern, why in reasons.items() if fnmatch.fnmatchcase(name, pattern)), UNSTATED_REASON)


def _table(rows: list[dict[str, Any]], columns: list[str] | None = None, reasons: dict[str, str] | None = None,
           *, name_column: str | None = None) -> str:
    """An HTML table; a value that could not be computed shows as "—", and under the table each such column
    (or, with ``name_column``, each such row's name) is listed with its reason from ``reasons``."""
    if not rows:
        return "<p>none</p>"
    columns = columns or list(rows[0])
    missing: dict[str, list[str]] = {}
    for row in rows:
        for column in columns:
            if column in row and _is_missing(row[column]):
                name = str(row.get(name_column, column)) if name_column else column
                names = missing.setdefault(_reason(name, reasons or {}), [])
                if name not in names:
                    names.append(name)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_cell(r.get(c, ''))}</td>" for c in columns) + "</tr>" for r in rows)
    notes = "".join(f'<p class="missing">{MISSING} in {html.escape(", ".join(names))}: {html.escape(why)}</p>'
                    for why, names in missing.items())
    return f'<div class="scroll"><table><tr>{head}</tr>{body}</table></div>{notes}'  # wide tables scroll


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def _analysis_section(workdir: Path, outcome: TaskOutcome) -> str:
    artifact = Path(outcome.path or "")
    result = read_analysis_result(artifact)
    relative = artifact.relative_to(workdir)
    parts = [f"<h3>{html.escape(result.title)}</h3>"]
    if result.paper_figure:
        parts.append(f"<p>Reproduces the paper's {html.escape(result.paper_figure)}.</p>")
    for note in result.notes:
        parts.append(f"<p><em>{html.escape(note)}</em></p>")
    for stem, files in _figures_by_stem(result.figures).items():
        shown = next((f for f in files if f.lower().endswith(".png")), files[0])
        src = html.escape(str(relative / shown))
        links = ", ".join(f'<a href="{html.escape(str(relative / f))}">{html.escape(Path(f).suffix.lstrip(".") or f)}'
                          "</a>" for f in files)
        parts.append(f'<figure><img src="{src}" alt="{html.escape(stem)}"><figcaption>{html.escape(stem)} '
                     f"({links})</figcaption></figure>")
    for table in result.tables:
        href = html.escape(str(relative / table))
        parts.append(f'<p>Table: <a href="{href}">{html.escape(table)}</a></p>')
    if result.numbers:
        parts.append(numbers_html(result.numbers, result.missing))
    return "\n".join(parts)


def _figures_by_stem(figures: list[str]) -> dict[str, list[str]]:
    """Figure files grouped by name without extension (a PNG and an SVG of one figure are shown once)."""
    grouped: dict[str, list[str]] = {}
    for figure in figures:
        grouped.setdefault(str(Path(figure).with_suffix("")), []).append(figure)
    return grouped


def numbers_html(numbers: dict[str, Any], reasons: dict[str, str] | None = None) -> str:
    """An analysis' numbers as tables, never as a program's dump: scalars (and lists, as comma-separated
    values) as (quantity, value) rows; a mapping of scalars (per system, per split) as one row per key with a
    column per inner quantity; a deeper mapping under its own heading, rendered the same way. A value that
    could not be computed shows as "—" with its reason from ``reasons`` (:attr:`AnalysisResult.missing`)."""
    reasons = reasons or {}
    flat = {k: v for k, v in numbers.items() if not isinstance(v, dict)}
    rows_of = {k: v for k, v in numbers.items() if isinstance(v, dict) and v
               and all(not isinstance(x, dict) for x in v.values())}
    deeper = {k: v for k, v in numbers.items() if isinstance(v, dict) and k not in rows_of}
    parts = []
    if flat:
        parts.append(_table([{"quantity": k, "value": v} for k, v in flat.items()], ["quantity", "value"], reasons,
                            name_column="quantity"))
    if rows_of:
        columns = list(dict.fromkeys(c for inner in rows_of.values() for c in inner))
        parts.append(_table([{"": key, **inner} for key, inner in rows_of.items()], ["", *columns], reasons))
    for key, inner in deeper.items():
        parts.append(f"<h4>{html.escape(key.replace('_', ' '))}</h4>")
        parts.append(numbers_html(inner, reasons) if inner else "<p>none</p>")
    return "\n".join(parts)


def _local_confidence_section(predictions: list[Prediction]) -> list[str]:
    """How well the local k are pinned down: per split, the median over systems of each system's median
    member spread and posterior std of k (local prediction rigidity), relative to its mean |k|."""
    rows = []
    for split in sorted({p.split for p in predictions}):
        chosen = [p for p in predictions if p.split == split and p.k_mean_abs > 0]
        if not chosen:
            continue
        spread = [p.k_std_median / p.k_mean_abs for p in chosen]
        posterior = [p.k_posterior_std_median / p.k_mean_abs for p in chosen]
        rows.append({"split": split, "n_systems": len(chosen),
                     "member spread of k / mean |k| (median)": float(np.nanmedian(spread)),
                     "posterior std of k / mean |k| (median)": (float(np.nanmedian(posterior))
                                                                if np.isfinite(posterior).any() else float("nan"))})
    if not rows:
        return []
    reasons = {"posterior*": "the model gives no posterior std of k (no last linear layer)"}
    return ["<h2>How well the local k are pinned down</h2>", _table(rows, reasons=reasons),
            "<p>The labels fix only the system means of k. <em>Member spread</em> is how much the ensemble's "
            "members disagree on an environment's k; <em>posterior std</em> is the uncertainty of k left by the "
            "labels' errors under the model's last (linear) layer, from its local prediction rigidity "
            "(<code>k_posterior_std</code> in the local files; docs/learn.md). Values near or above 1 mean the "
            "individual k, and the Fig. 4–8 analyses built on them, say more about the model than about the "
            "data. Where the run measured each ion's share of the current (<code>transport.attribution</code>), "
            "the <em>local-attribution</em> analysis below compares the learned k with it per system and "
            "environment bin: a χ²/dof near 1 and an agreeing contact-minus-free contrast mean the Fig. 4–8 "
            "analyses read the electrolyte, not the model's prior.</p>"]


def build_report(workdir: Path, resolved: ResolvedRecipe, outcomes: list[TaskOutcome],
                 left_out_systems: list[str] | None = None) -> str:
    """The report's HTML text."""
    workdir = Path(workdir)
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    seconds: dict[str, float] = defaultdict(float)
    for o in outcomes:
        counts[o.stage][o.status] += 1
        seconds[o.stage] += o.wall_time or 0.0
    status_rows = [{"stage": s, **{k: counts[s].get(k, 0) for k in ("done", "cached", "failed", "skipped")},
                    "task seconds": seconds[s]} for s in STAGES if s in counts]
    problems = [{"stage": o.operation, "task": o.label, "system": o.system or "", "status": o.status,
                 "error": o.error or ""} for o in outcomes if not o.ok]
    metric_rows = [{"split": split, **values} for split, values in read_metrics(workdir).items()]
    sections = [f"<h1>localcond run: {html.escape(resolved.name)}</h1>",
                f"<p>{len(resolved.systems)} systems; work directory <code>{html.escape(str(workdir))}</code>.</p>",
                "<h2>Status</h2>", _table(status_rows)]
    if problems:
        sections += ['<h2 class="bad">Problems</h2>', _table(problems)]
    if metric_rows:
        held_out = _table(metric_rows, reasons=METRIC_REASONS)
    elif resolved.model is None:
        held_out = "<p>no learn stage in this recipe</p>"
    else:
        held_out = ('<p class="bad">no learn results: the main ensemble did not finish in this run '
                    "(see Problems); nothing from an earlier run is shown</p>")
    sections += ["<h2>Held-out accuracy</h2>", held_out]
    if left_out_systems:
        sections.append(f'<p class="bad">learned without {len(left_out_systems)} system(s) that have no transport '
                        f"or features (<code>model.on_failed_systems: skip</code>): "
                        f'{html.escape(", ".join(left_out_systems))}; the split was made over the others</p>')
    predictions = read_predictions(workdir / PREDICTIONS_FILE) if (workdir / PREDICTIONS_FILE).is_file() else []
    sections += _local_confidence_section(predictions)
    ablation = [r for r in read_table(workdir / ABLATION_FILE) if r.get("split") in ("test", "cross-validated",
                                                                                      "external")]
    if ablation:
        sections += [f'<h2>Ablation (<a href="{ABLATION_FILE}">{ABLATION_FILE}</a>): held-out scores per descriptor '
                     '× model</h2>', _table(ablation, ["descriptor", "model", "descriptor_options", "model_options",
                                                       "split", "n_systems", "r2", "rmse", "attainable_r2"],
                                                      METRIC_REASONS)]
    analyses = [o for o in outcomes if o.operation == "analyze" and o.ok]
    if analyses:
        sections.append("<h2>Analyses</h2>")
        sections += [_analysis_section(workdir, o) for o in sorted(analyses, key=lambda o: o.label)]
    transport_rows = read_table(workdir / TRANSPORT_FILE)
    transports = read_transport_table(workdir / TRANSPORT_FILE)
    missing = [system.name for system in resolved.systems if system.name not in {t.system for t in transports}]
    sections += [f'<h2>Transport (<a href="{TRANSPORT_FILE}">{TRANSPORT_FILE}</a>)</h2>',
                 f'<p class="bad">no transport in this run for {len(missing)} of {len(resolved.systems)} systems: '
                 f'{html.escape(", ".join(missing[:20]))}{" …" if len(missing) > 20 else ""}</p>' if missing else "",
                 _table(transport_rows,
                        ["system", "ions", "n_replicas", "simulated_time", "kappa", "kappa_green_kubo",
                         "molar_conductivity", "molar_conductivity_err", "molar_conductivity_attributed",
                         "molar_conductivity_attributed_err", "attribution_z", "molar_conductivity_rel_err",
                         "molar_conductivity_std", "molar_conductivity_basis", "ionicity", "fit_t0", "fit_t1",
                         "diffusive", "collective_converged", "molar_conductivity_relaxed",
                         "molar_conductivity_relaxed_err", "relaxation_time", "window_bias", "window_bias_err",
                         "label_status"], TRANSPORT_REASONS),
                 _label_bias_note(transports), _label_agreement_note(transports),
                 "<p>Λ is pooled over the replicas; <code>molar_conductivity_err</code> is its standard error from the "
                 "trajectories (GLS with the covariance of overlapping time origins), "
                 "<code>molar_conductivity_std</code> the scatter of single replicas (a check: it should be about "
                 "err·√n_replicas); <code>simulated_time</code> is summed over replicas, τ. "
                 "<code>molar_conductivity_relaxed</code> fits the charge MSD's relaxation from above "
                 "(docs/transport.md); <code>window_bias</code> is the label's estimated remaining bias against it.</p>"]
    diagnostics = sorted((o.label, Path(o.path).relative_to(workdir) / f"{TRANSPORT_FIGURE_STEM}.png")
                         for o in outcomes if o.operation == "transport" and o.ok and o.path
                         and (Path(o.path) / f"{TRANSPORT_FIGURE_STEM}.png").is_file())
    if diagnostics:
        sections.append("<p>Fit diagnostics (MSD and running Λ, the fit window shaded, pooled Λ ± error): " + ", ".join(
            f'<a href="{html.escape(str(path))}">{html.escape(label)}</a>' for label, path in diagnostics) + "</p>")
    if predictions:
        sections += [f'<h2>Predictions (<a href="{PREDICTIONS_FILE}">{PREDICTIONS_FILE}</a>)</h2>',
                     _table([prediction_to_row(p) for p in predictions], reasons=PREDICTION_REASONS)]
    plugins = [resolved.simulator, resolved.descriptor, resolved.model, *resolved.analyses]
    versions = [{"component": "localcond source", "version": source_commit(), "package": str(SOURCE)},
                {"component": "python", "version": platform.python_version(), "package": ""},
                *({"component": d, "version": _version(d), "package": ""}
                  for d in ("localcond", "numpy", "dask", "distributed", "gsd", "h5py")),
                *({"component": f"{p.kind} {p.name}", "version": p.version, "package": p.package}
                  for p in plugins if p is not None)]
    sections += ["<h2>Provenance: versions and commit</h2>", _table(versions), "<h2>Recipe (with defaults)</h2>",
                 f"<pre>{html.escape(yaml.safe_dump(resolved.recipe.model_dump(mode='json'), sort_keys=False))}"
                 "</pre>"]
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>localcond: "
            f"{html.escape(resolved.name)}</title><style>{STYLE}</style></head><body>\n"
            + "\n".join(sections) + "\n</body></html>\n")


def _label_agreement_note(transports: list[SystemTransport]) -> str:
    """Whether the two label kinds agree: χ²/dof of ``attribution_z`` (the shares' mean against Λ) over the systems."""
    z = np.array([attribution_agreement(t) for t in transports], dtype=float)
    z = z[np.isfinite(z)]
    if not len(z):
        return ""
    chi2 = float(np.mean(z ** 2))
    flag = ' class="bad"' if chi2 > 1.5 else ""
    return (f"<p{flag}>The two label kinds: the mean of the measured shares against Λ, χ²/dof {chi2:.2f} over "
            f"{len(z)} systems (<code>attribution_z</code>, combined errors; above 1.5 the shares' horizon "
            "<code>attribution_horizon</code> is not on the label's plateau).</p>")


def _label_bias_note(transports: list[SystemTransport]) -> str:
    """A flag on the labels whose estimated remaining bias may exceed their error, or whose relaxation the run
    does not resolve (``label_status``, :class:`core.transport.label_status.LabelStatus`)."""
    parts = []
    for status, what in ((LabelStatus.MAY_EXCEED, "the straight-line window may still be biased by more than the "
                          "label's error (<code>window_bias</code> against the relaxation-aware fit)"),
                         (LabelStatus.UNRESOLVED, "the charge MSD relaxes more slowly than the run resolves, so "
                          "the label's remaining bias is not bounded")):
        flagged = [t.system for t in transports if t.label_status == status]
        if flagged:
            parts.append(f'<p class="bad">{len(flagged)} of {len(transports)} labels: {what}: '
                         f'{html.escape(", ".join(flagged[:20]))}{" …" if len(flagged) > 20 else ""}. Longer runs, '
                         "or <code>simulation.precision</code>.</p>")
    return "\n".join(parts)


def write_report(workdir: Path, resolved: ResolvedRecipe, outcomes: list[TaskOutcome], *,
                 left_out_systems: list[str] | None = None) -> Path:
    path = Path(workdir) / REPORT_FILE
    atomic_write_text(path, build_report(workdir, resolved, outcomes, left_out_systems))
    return path
