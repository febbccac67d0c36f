"""Seconds per training epoch of the ``nn-ensemble`` member: segment means against a per-system loop.

One epoch = one full-batch Adam step on the paper's loss (eq. 12) over every
environment of every training system, the forward pass through the MLP
(468 → 100 → 100 → 1 by default) included. Two ways to form the per-system
means are timed in the same process on the same random data:

- baseline: the original code's way, ``torch.split`` of the local k by system
  and a Python-level mean per system, stacked;
- ``index_add_``: the plugin's ``SystemBatch.system_means``, one segment sum
  with no Python loop over systems.

Both give the same loss (checked). Prints a table of seconds per epoch and
the speed-up against the baseline.

    python benchmarks/nn_epoch.py                                  # 100 systems × 2 500 environments
    python benchmarks/nn_epoch.py --environments 25000 --epochs 3  # the paper's size (~5 GB of features)
    python benchmarks/nn_epoch.py --device cuda                    # on a GPU
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

from core.datatypes import LearningData
from plugins.models.nn_ensemble import SystemBatch, _network


def synthetic_data(n_systems: int, per_system: int, dim: int, seed: int = 0) -> LearningData:
    """Random standardised features, equal-sized systems, targets ~ 0.1, variances 1e-4."""
    rng = np.random.default_rng(seed)
    index = np.repeat(np.arange(n_systems), per_system)
    return LearningData(features=rng.standard_normal((n_systems * per_system, dim), dtype=np.float32),
                        system_index=index, weight=np.full(len(index), 1.0 / per_system),
                        target=rng.uniform(0.05, 0.15, n_systems), variance=np.full(n_systems, 1e-4),
                        system_names=[f"s{i}" for i in range(n_systems)])


def loop_means(network, batch: SystemBatch, sizes: list[int]) -> torch.Tensor:
    """The baseline: per-system means by ``torch.split`` and a Python loop."""
    local = network(batch.features).squeeze(-1)
    return torch.stack([chunk.mean() for chunk in torch.split(local, sizes)])


def time_epochs(mean_of, batch: SystemBatch, hidden: list[int], epochs: int, device) -> tuple[float, float]:
    """(best seconds per epoch, first epoch's loss) with a fresh seeded network."""
    torch.manual_seed(0)
    network = _network(batch.features.shape[1], hidden).to(device)
    optimiser = torch.optim.Adam(network.parameters(), lr=5e-4)
    times, first_loss = [], float("nan")
    for epoch in range(epochs):
        if device.type == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        loss = torch.sum(batch.inverse_variance * (batch.target - mean_of(network)) ** 2) / torch.sum(
            batch.inverse_variance)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - started)
        if epoch == 0:
            first_loss = float(loss.detach())
    return min(times), first_loss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--systems", type=int, default=100)
    parser.add_argument("--environments", type=int, default=2500, help="per system")
    parser.add_argument("--dim", type=int, default=468, help="descriptor length (SOAP at the paper's settings)")
    parser.add_argument("--hidden", type=int, nargs="+", default=[100, 100])
    parser.add_argument("--epochs", type=int, default=5, help="timed epochs per method; the best is kept")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    data = synthetic_data(args.systems, args.environments, args.dim)
    batch = SystemBatch(data, np.zeros(args.dim, np.float32), np.ones(args.dim, np.float32), 1.0, device)
    sizes = [args.environments] * args.systems
    baseline, baseline_loss = time_epochs(lambda net: loop_means(net, batch, sizes), batch, args.hidden,
                                          args.epochs, device)
    segment, segment_loss = time_epochs(lambda net: batch.system_means(net), batch, args.hidden, args.epochs, device)
    if not np.isclose(baseline_loss, segment_loss, rtol=1e-4):
        raise SystemExit(f"the two ways disagree: loss {baseline_loss} against {segment_loss}")

    table = Table(title=f"One full-batch epoch: {args.systems} systems × {args.environments} environments × "
                        f"{args.dim} features, MLP {args.hidden}, {device}, {args.threads} threads")
    for column in ("system means", "s / epoch", "speed-up"):
        table.add_column(column, justify="left" if column == "system means" else "right")
    table.add_row("torch.split + Python mean (baseline)", f"{baseline:.3f}", "1.00×")
    table.add_row("index_add_ segment sum (nn-ensemble)", f"{segment:.3f}", f"{baseline / segment:.2f}×")
    Console().print(table)


if __name__ == "__main__":
    main()
