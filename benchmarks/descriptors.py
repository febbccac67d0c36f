"""Descriptor throughput: ion environments per second on one large frame.

Builds one frame of the paper's size (default N = 40 000 beads at
c = 0.05σ⁻³: 5 000 ions) on the start lattice with thermal jitter, which
has the liquid's density and hence its neighbour counts, and times on one
thread:

- the floor: a periodic neighbour search of every ion within r_cut (scipy
  cKDTree), which any descriptor must at least do;
- the baseline: the paper's approach, DScribe ``SOAP.create`` on one ASE
  ``Atoms`` holding the snapshot's ions;
- every installed descriptor plugin at its defaults, through ``compute``.

Prints environments/s and each row's speed relative to the baseline, measured
in the same process.

    python benchmarks/descriptors.py                      # N = 40 000 (about a minute on one core)
    python benchmarks/descriptors.py --n-particles 8000 --repeats 3
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
from rich.console import Console
from rich.table import Table
from scipy.spatial import cKDTree
from threadpoolctl import threadpool_limits

from core.datatypes import Frame, SystemSpec
from core.md.electrolyte import build_topology, initial_positions, make_frame
from core.plugin_system.registry import get_registry

PLUGINS = ("soap-dscribe", "soap-featomic", "soap-quippy", "radial-shells")


def electrolyte_frame(n_particles: int, concentration: float) -> Frame:
    """A frame of ``n_particles`` beads at density 0.8 with ``concentration`` cations per σ³."""
    topology = build_topology(SystemSpec("bench", concentration, 10.0, 0.0, n_particles, 0.8, 1, 0))
    return make_frame(topology, initial_positions(topology, seed=1), step=0, timestep=0.005)


def best_time(work: Callable[[], object], repeats: int) -> float:
    """Shortest wall time of ``repeats`` calls, s."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def neighbour_search(frame: Frame, r_cut: float) -> int:
    """Number of (ion, ion) pairs within ``r_cut``, periodic."""
    ions = frame.ion_indices
    box = np.asarray(frame.box, dtype=np.float64)
    wrapped = np.mod(frame.positions[ions], box)
    wrapped = np.where(wrapped >= box, 0.0, wrapped)
    return int(cKDTree(wrapped, boxsize=box).count_neighbors(cKDTree(wrapped, boxsize=box), r_cut))


def dscribe_baseline(frame: Frame) -> np.ndarray:
    """The paper's way: DScribe SOAP (its defaults r_cut 5, n_max 6, l_max 5, σ 1) on one Atoms of the ions."""
    from ase import Atoms
    from dscribe.descriptors import SOAP

    ions = frame.ion_indices
    symbols = ["Na" if frame.types[t] == "cation" else "Cl" for t in frame.typeid[ions]]
    atoms = Atoms(symbols=symbols, positions=np.mod(frame.positions[ions], frame.box), cell=np.diag(frame.box),
                  pbc=True)
    soap = SOAP(species=["Na", "Cl"], r_cut=5.0, n_max=6, l_max=5, sigma=1.0, rbf="gto", periodic=True)
    return soap.create(atoms, n_jobs=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-particles", type=int, default=40_000)
    parser.add_argument("--concentration", type=float, default=0.05, help="cations per σ³")
    parser.add_argument("--repeats", type=int, default=1, help="timings per row; the best is kept")
    args = parser.parse_args()

    frame = electrolyte_frame(args.n_particles, args.concentration)
    n_envs = len(frame.ion_indices)
    registry = get_registry()
    rows: list[tuple[str, float]] = []
    with threadpool_limits(1):
        rows.append(("neighbour search only (floor)", best_time(lambda: neighbour_search(frame, 5.0), args.repeats)))
        if registry.info("descriptor", "soap-dscribe").available:
            rows.append(("DScribe on one Atoms (baseline)", best_time(lambda: dscribe_baseline(frame), args.repeats)))
        for name in PLUGINS:
            info = registry.info("descriptor", name)
            if not info.available:
                rows.append((f"{name}: {info.unavailable_reason}", float("nan")))
                continue
            plugin = registry.instantiate("descriptor", name, {})
            plugin.compute(frame, frame.ion_indices[:2])  # set-up outside the timing
            rows.append((name, best_time(lambda: plugin.compute(frame, frame.ion_indices), args.repeats)))

    baseline = dict(rows).get("DScribe on one Atoms (baseline)", float("nan"))
    table = Table(title=f"Descriptors on one frame: N = {args.n_particles}, {n_envs} ion environments, 1 thread")
    for column in ("descriptor", "seconds", "environments/s", "speed vs baseline"):
        table.add_column(column, justify="left" if column == "descriptor" else "right")
    for name, seconds in rows:
        table.add_row(name, f"{seconds:.3f}", f"{n_envs / seconds:,.0f}", f"{baseline / seconds:.2f}×")
    Console().print(table)


if __name__ == "__main__":
    main()
