"""Transport numerics: FFT correlations against the naive double loop, and the streaming memory bound.

Part 1 times the mean-squared displacement of N random walkers over T frames
by FFT (``displacement_correlation``, O(T log T)) and by the O(T²) loop over
lags (``displacement_correlation_naive``), in the same process, and prints
the ratio. Part 2 writes random-walk GSD trajectories and runs the whole
per-replica transport (``replica_transport``) on them, reporting wall time and
peak traced memory (numpy allocations, via tracemalloc): memory follows
ions × frames, not all particles × frames, because frames are read one at a
time and only the ions' centre-of-mass-corrected positions are kept.

    python benchmarks/transport.py                       # about a minute on 2 cores
    python benchmarks/transport.py --frames 500 1000 2000 4000 --walkers 500
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from core.datatypes import Frame
from core.md.trajectory import LOG_TIMESTEP, GSDWriter
from core.transport.correlation import displacement_correlation, displacement_correlation_naive
from core.transport.replica_files import replica_transport


def timed(work) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def correlation_table(frame_counts: list[int], walkers: int) -> Table:
    table = Table(title=f"MSD of {walkers} walkers: FFT against the naive loop over lags")
    for column in ("frames", "FFT s", "naive s", "naive / FFT"):
        table.add_column(column, justify="right")
    rng = np.random.default_rng(0)
    for frames in frame_counts:
        walk = np.cumsum(rng.normal(size=(frames, walkers, 3)), axis=0)
        fft = timed(lambda: displacement_correlation(walk))
        naive = timed(lambda: displacement_correlation_naive(walk))
        table.add_row(str(frames), f"{fft:.3f}", f"{naive:.3f}", f"{naive / fft:.1f}×")
    return table


def write_walk(path: Path, ions: int, solvent: int, frames: int) -> None:
    """Random walkers in a 30σ box: ``ions`` (half cations) and ``solvent`` beads, ``frames`` frames."""
    rng = np.random.default_rng(1)
    n = ions + solvent
    length = 30.0
    typeid = np.array([0] * (ions // 2) + [1] * (ions - ions // 2) + [2] * solvent, dtype=np.int32)
    position = rng.uniform(-length / 2, length / 2, (n, 3))
    with GSDWriter(path, {LOG_TIMESTEP: 0.005}) as writer:
        for index in range(frames):
            image = np.floor((position + length / 2) / length).astype(np.int32)
            writer.append(Frame(position - image * length, np.full(3, length), typeid,
                                ("cation", "anion", "solvent"), image, np.zeros((0, 2), np.int64),
                                step=index * 100, time=index * 0.5))
            position = position + rng.normal(scale=0.3, size=(n, 3))


def streaming_table(cases: list[tuple[int, int, int]]) -> Table:
    table = Table(title="replica_transport on GSD files: time and peak traced memory")
    for column in ("ions", "solvent", "frames", "s", "peak MiB", "ions×frames×3×8 MiB"):
        table.add_column(column, justify="right")
    with tempfile.TemporaryDirectory() as directory:
        for ions, solvent, frames in cases:
            path = Path(directory) / f"walk_{ions}_{solvent}_{frames}.gsd"
            write_walk(path, ions, solvent, frames)
            tracemalloc.start()
            seconds = timed(lambda: replica_transport(path, fit_window=(5.0, 50.0)))
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            table.add_row(str(ions), str(solvent), str(frames), f"{seconds:.2f}", f"{peak / 2**20:.1f}",
                          f"{ions * frames * 24 / 2**20:.1f}")
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, nargs="+", default=[250, 500, 1000, 2000])
    parser.add_argument("--walkers", type=int, default=200)
    args = parser.parse_args()
    console = Console()
    console.print(correlation_table(args.frames, args.walkers))
    console.print(streaming_table([(500, 0, 500), (500, 4500, 500), (500, 4500, 1000), (1000, 4000, 1000)]))


if __name__ == "__main__":
    main()
