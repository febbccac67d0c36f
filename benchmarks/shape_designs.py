"""Which design a shape model needs to learn the measured shares: held-out χ² and the contact − free contrast.

For a finished run whose transport measured each ion's share (default: the quickstart's), every system's
shares and SOAP features (the 468-column store), one :func:`core.learn.shape.fit_shape` per design, the
penalty chosen by the held-out profiled χ² of whole systems (4 folds). Prints per design: the held-out χ²
per share at the chosen penalty against the flat k's, and the learned contact (< 1.5σ) − free contrast of d
against the measured one (plain means over the systems, both over the same environments). The designs:
the default (features centred over one RMS scale), each column standardised, the first principal
components, and bins of the nearest-unlike distance (the check's own variable, not a descriptor).

    python benchmarks/shape_designs.py --workdir /path/to/precise/run [--columns 468]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from core.features.store import read_store
from core.learn.dataset import load_learning_data
from core.learn.shape import data_shape_groups, fit_shape, shape_design, shape_design_scale
from core.storage.layout import STORE_FILE, read_attribution, read_transport

ALPHAS = np.logspace(-3, 7, 41)


def run_inputs(workdir: Path, columns: int):
    """(system names, stores, transports, attributions) of a run's work directory, the stores with ``columns``."""
    transport = {p.name.rsplit("-", 1)[0]: p for p in (workdir / "transport").iterdir() if p.is_dir()}
    stores: dict[str, Path] = {}
    for path in (workdir / "featurize").iterdir():
        store = path / STORE_FILE
        if store.is_file() and read_store(store).features.shape[1] == columns:
            stores[path.name.rsplit("-", 1)[0]] = store
    names = sorted(set(transport) & set(stores))
    return (names, stores, {n: read_transport(transport[n]) for n in names},
            {n: read_attribution(transport[n]) for n in names})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("runs/quickstart"))
    parser.add_argument("--columns", type=int, default=468, help="the feature store's width (SOAP: 468)")
    args = parser.parse_args()
    names, stores, transport, attributions = run_inputs(args.workdir, args.columns)
    data = load_learning_data(names, stores, transport, bonded_ions="zero", min_relative_std=0.0, labels="both",
                              attributions=attributions)
    precision, shares, groups = data.local_precision(), np.nan_to_num(data.local_target), data_shape_groups(data)
    environments = [read_store(stores[n], features=False).environments for n in names]
    nearest = np.concatenate([e["nearest_unlike"][~e["bonded"]] for e in environments])
    contact = nearest < 1.5
    features = np.asarray(data.features, dtype=np.float64)
    mean, scale = shape_design_scale(features)
    default = shape_design(features, mean, scale)
    spread = features.std(axis=0)
    standardised = (features - features.mean(axis=0)) / np.where(spread > 0, spread, 1.0)
    _, _, axes = np.linalg.svd(default[::7], full_matrices=False)
    designs = {"centred, one RMS scale (default)": default, "each column standardised": standardised,
               "first 10 principal components": default @ axes[:10].T,
               "first 20 principal components": default @ axes[:20].T,
               "7 nearest-unlike bins (not a descriptor)": np.eye(7)[np.digitize(nearest, [1.2, 1.5, 2, 2.5, 3, 4])]}
    table = Table(title=f"shape designs on {args.workdir} ({int((precision > 0).sum())} shares, {len(names)} systems)")
    for column in ("design", "dims", "alpha", "held-out χ²", "flat", "learned contrast", "measured"):
        table.add_column(column)
    for label, design in designs.items():
        fitted = fit_shape(design, shares, precision, groups, ALPHAS)
        shape = design @ fitted.coef
        learned, measured = [], []
        for system in range(data.n_systems):
            rows = (data.system_index == system) & (precision > 0)
            if (rows & contact).sum() > 20 and (rows & ~contact).sum() > 20:
                learned.append(shape[rows & contact].mean() - shape[rows & ~contact].mean())
                measured.append(shares[rows & contact].mean() - shares[rows & ~contact].mean())
        table.add_row(label, str(design.shape[1]), f"{fitted.alpha:.3g}", f"{np.nanmin(fitted.held_out_chi2):.5f}",
                      f"{fitted.held_out_chi2[-1]:.5f}", f"{np.mean(learned):+.4f}", f"{np.mean(measured):+.4f}")
    Console().print(table)


if __name__ == "__main__":
    main()
