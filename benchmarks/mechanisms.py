"""The mechanism decomposition on rigid-cluster electrolytes with exact per-class contributions (issue 43).

``--realisations`` systems of 2 × ``--duration`` τ of :class:`core.testing.RigidClusters` (free ions, neutral
pairs, ±1 triples; 128 ions in a 20σ box), written as GSD files and read back, shares at a 0.5 τ plateau,
classes by cluster at a 1.3σ cutoff. Per class: the mean fraction of ions in it, the mean exact Λ_c, the
mean of (measured − exact) / reported error (0 if unbiased) and its RMS (1 if the errors are honest).

    python benchmarks/mechanisms.py [--realisations 16] [--duration 500]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CUTOFF = 1.3


def one(seed: int, duration: float) -> dict[str, tuple[float, float, float]]:
    """{class: (fraction, exact Λ_c, z)} of one realisation."""
    from core.testing.exact_electrolytes import write_frames
    from core.testing.rigid_clusters import RigidClusters, class_fractions, expected_contributions
    from core.transport.attribution import system_attribution
    from core.transport.mechanisms import decompose
    from core.transport.replica_files import replica_positions

    model = RigidClusters()
    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory() as directory:
        paths = [write_frames(Path(directory) / f"r{k}.gsd", model.positions(duration, 0.5, rng), model.box_length,
                              0.5) for k in range(2)]
        positions = [replica_positions(path) for path in paths]
    attribution = system_attribution(positions, plateau_start=0.5, formula_units=positions[0].curves().formula_units)
    result = decompose(positions, attribution, kind="cluster", cutoff=CUTOFF)
    names = [c.name for c in result.classes]
    exact = expected_contributions(model, class_fractions(positions, attribution, "cluster", CUTOFF, names))
    return {c.name: (c.fraction, float(e), (c.contribution.value - e) / c.contribution.err)
            for c, e in zip(result.classes, exact) if c.contribution.err > 0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--realisations", type=int, default=16)
    parser.add_argument("--duration", type=float, default=500.0, help="τ per replica")
    args = parser.parse_args()
    started = time.perf_counter()
    rows: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
    for seed in range(args.realisations):
        for name, values in one(seed, args.duration).items():
            rows[name].append(values)
        print(f"  {seed + 1}/{args.realisations} systems, {time.perf_counter() - started:.0f} s", flush=True)
    table = Table(title=f"{args.realisations} rigid-cluster systems of 2 × {args.duration:g} τ, cluster classes "
                        f"at {CUTOFF} σ")
    for column in ("class", "systems", "ions in it", "exact Λ_c", "mean z", "RMS z"):
        table.add_column(column, justify="right")
    for name, values in rows.items():
        data = np.array(values)
        table.add_row(name, str(len(data)), f"{100 * data[:, 0].mean():.1f} %", f"{data[:, 1].mean():.5f}",
                      f"{data[:, 2].mean():+.2f}", f"{np.sqrt(np.mean(data[:, 2] ** 2)):.2f}")
    Console(width=160).print(table)
    print(f"wall {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
