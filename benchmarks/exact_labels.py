"""The label estimators on electrolytes whose Λ is exact (issue 42): bias and error bars per simulated time.

For each model of :mod:`core.testing.exact_electrolytes` (``exchange``: pairs that bind and unbind, rigid
while bound; ``rattle``: permanent pairs whose separations relax; ``exchange-and-rattle``: both) and each time
scale (the mean bound lifetime or τ_r, 5, 20 and 50 τ by default), ``--realisations`` systems of
``--replicas`` GSD files of ``--duration`` τ each (62 pairs in a 10.77σ box: N = 1000, c = 0.05's ion
count), written and read back as a user's trajectories are, then labelled by

- ``default``: the transport stage's label (GLS over the automatic window, ``molar_conductivity``);
- ``relaxation``: the relaxation-aware GLS (``molar_conductivity_relaxed``);
- ``stacie``: STACIE's Padé [0, 2; 2] spectrum of the charge current from finite-difference positions.

Per estimator: the mean's bias against the exact Λ (%, with its standard error), the scatter and the RMS
reported error (% of Λ), and their ratio (1 for honest error bars); for the default, its ``label_status``
counts. Two processes by default.

    python benchmarks/exact_labels.py                                   # 16 × 2 × 250 τ per case
    python benchmarks/exact_labels.py --models rattle --times 20 --realisations 4
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

ESTIMATORS = ("default", "relaxation", "stacie")
#: Short names of the default's label_status values, for the table.
STATUS_SHORT = {"converged": "conv", "bias within error": "within", "bias may exceed error": "exceeds",
                "relaxation not resolved": "unresolved", "not checked": "unchecked"}


def label_one(model_name: str, scale: float, realisation: int, replicas: int, duration: float,
              interval: float) -> dict:
    """One system: write its replicas, read them back, and label it with every estimator."""
    from transport_references import spectral

    from core.testing.exact_electrolytes import MODELS, write_frames
    from core.transport.onsager import system_transport
    from core.transport.replica_files import replica_positions

    model = MODELS[model_name](scale)
    rng = np.random.default_rng([realisation, int(1000 * scale), len(model_name)])
    with tempfile.TemporaryDirectory() as directory:
        paths = [write_frames(Path(directory) / f"r{k}.gsd", model.positions(duration, interval, rng),
                              model.box_length, interval) for k in range(replicas)]
        positions = [replica_positions(path) for path in paths]
    row = system_transport([p.curves() for p in positions]).row
    try:
        stacie_value, stacie_err, _ = spectral(positions, "pade")
    except ValueError:       # STACIE found no cutoff frequency: counted as a failed estimate
        stacie_value = stacie_err = math.nan
    return {"exact": model.molar_conductivity,
            "default": (row["molar_conductivity"], row["molar_conductivity_err"]),
            "relaxation": (row["molar_conductivity_relaxed"], row["molar_conductivity_relaxed_err"]),
            "stacie": (stacie_value, stacie_err), "label_status": row["label_status"],
            "window": (row["fit_t0"], row["fit_t1"]), "converged": bool(row["collective_converged"]),
            "window_bias": (row["window_bias"], row["window_bias_err"])}


def summarise(results: list[dict]) -> dict:
    """Per estimator: n, bias % and its s.e., scatter %, RMS reported %, reported/scatter."""
    exact = results[0]["exact"]
    out = {}
    for name in ESTIMATORS:
        values = np.array([r[name] for r in results], dtype=float)
        values = values[np.all(np.isfinite(values), axis=1)]
        if len(values) < 2:
            continue
        mean, scatter = values[:, 0].mean(), values[:, 0].std(ddof=1)
        reported = math.sqrt(float(np.mean(values[:, 1] ** 2)))
        out[name] = {"n": len(values), "failed": len(results) - len(values), "bias": 100 * (mean / exact - 1),
                     "bias_err": 100 * scatter / math.sqrt(len(values)) / exact,
                     "scatter": 100 * scatter / exact, "reported": 100 * reported / exact,
                     "ratio": reported / scatter}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["exchange", "rattle", "exchange-and-rattle"])
    parser.add_argument("--times", nargs="+", type=float, default=[5.0, 20.0, 50.0],
                        help="mean bound lifetime or τ_r, τ")
    parser.add_argument("--realisations", type=int, default=16)
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--duration", type=float, default=250.0, help="τ per replica")
    parser.add_argument("--interval", type=float, default=0.5, help="τ between frames")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--save", type=Path, help="write every system's labels to this JSON file")
    args = parser.parse_args(argv)
    console = Console(width=200)
    cases = [(m, t) for m in args.models for t in args.times]
    jobs = [(m, t, k) for m, t in cases for k in range(args.realisations)]
    started = time.perf_counter()
    results: dict[tuple[str, float], list[dict]] = {case: [] for case in cases}
    with ProcessPoolExecutor(args.workers) as pool:
        futures = {pool.submit(label_one, m, t, k, args.replicas, args.duration, args.interval): (m, t)
                   for m, t, k in jobs}
        for done, future in enumerate(futures, start=1):
            results[futures[future]].append(future.result())
            if done % max(1, len(jobs) // 20) == 0 or done == len(jobs):
                console.print(f"  {done}/{len(jobs)} systems labelled, {time.perf_counter() - started:.0f} s",
                              highlight=False)
    table = Table(title=f"{args.realisations} systems of {args.replicas} × {args.duration:g} τ per case "
                        f"(62 pairs, frames every {args.interval:g} τ); % of the exact Λ")
    for column in ("model", "time τ", "exact Λ", "estimator", "n", "bias %", "± %", "scatter %", "reported %",
                   "reported/scatter", "default's label_status"):
        table.add_column(column, justify="right")
    for (m, t), rows in results.items():
        summary = summarise(rows)
        statuses = Counter(r["label_status"] for r in rows)
        for name, numbers in summary.items():
            table.add_row(m, f"{t:g}", f"{rows[0]['exact']:.4f}", name, str(numbers["n"]), f"{numbers['bias']:+.1f}",
                          f"{numbers['bias_err']:.1f}", f"{numbers['scatter']:.1f}", f"{numbers['reported']:.1f}",
                          f"{numbers['ratio']:.2f}",
                          (" ".join(f"{STATUS_SHORT[k]} {v}" for k, v in sorted(statuses.items()))
                           if name == "default" else ""))
    console.print(table)
    if args.save:
        import json
        args.save.write_text(json.dumps([{"model": m, "time": t, "rows": rows} for (m, t), rows in results.items()]))
    console.print(f"wall {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
