"""Time for one ``nn-ensemble`` member to reach the full-batch validation loss, per training loop, same process.

Data: paper-shaped synthetic systems (``--systems`` × ``--environments`` ×
``--dim`` float32 features, systems differing in the centres of the first 4;
k a fixed nonlinear function of the first 3; Λ_s its system mean plus 2 % noise),
80 % of systems to train, 20 % to validate. Every loop trains the paper's
network (468 → 100 → 100 → 1, Adam lr 5·10⁻⁴) from the same start on the same
data for ``--epochs`` epochs, validating each epoch:

- paper's loop: k of every environment, per-system means by ``torch.split``
  and a Python mean per system, one full-batch step per epoch;
- full batch, nn-ensemble 1.0: the segment-sum loop with glibc handing every
  step's activations back to the kernel (what shipped before);
- full batch, nn-ensemble 1.1: the same inside ``core.memory.retained_heap``;
- subsampled, m per system: ``environments_per_step`` = m (unbiased,
  variance-corrected), ⌈n̄/m⌉ steps per epoch.

The target is the best validation RMSE of Λ the 1.0 full-batch loop reaches
in ``--epochs`` epochs (plus 0.1 %); each loop's time to target is its seconds per epoch ×
the epochs it needed (epochs cost the same throughout a run). Ratios are
against the 1.0 full-batch loop and against the paper's loop.

    python benchmarks/nn_training.py                          # 100 × 2 500 × 468 (1/10 of the paper's data)
    python benchmarks/nn_training.py --environments 25000 --epochs 40   # the paper's size (~5 GB)
"""

from __future__ import annotations

import argparse
import contextlib
import math
import time

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

import plugins.models.nn_ensemble as nn_ensemble
from core.datatypes import LearningData
from plugins.models.nn_ensemble import NNEnsembleConfig, NNMember, SystemBatch, _best_constant, _network


#: A loop has reached the target within this relative margin (the paper's loop sums in another order).
TOLERANCE = 1e-3
#: Features whose system centres differ.
STRUCTURED = 4


def synthetic_problem(n_systems: int, per_system: int, dim: int, seed: int = 0) -> tuple[LearningData, LearningData]:
    """(train, validation): float32 features, k = f(first 3 features).

    Systems differ in the centres of their first ``STRUCTURED`` features (as state points differ in a few
    structural directions); the other features are per-environment noise. Centres in every direction
    would let a network tell the 80 training systems apart by their centres alone and fit their labels
    without learning k, leaving nothing to generalise to the validation systems.
    """
    rng = np.random.default_rng(seed)
    centres = np.zeros((n_systems, dim), dtype=np.float32)
    centres[:, :STRUCTURED] = rng.normal(scale=0.7, size=(n_systems, min(STRUCTURED, dim)))
    features = np.repeat(centres, per_system, axis=0)
    features += rng.standard_normal(features.shape, dtype=np.float32)
    index = np.repeat(np.arange(n_systems), per_system)
    local = 0.1 * np.tanh(features[:, 0]) + 0.05 * np.maximum(features[:, 1], 0) - 0.02 * features[:, 2] ** 2
    weight = np.full(len(index), 1.0 / per_system)
    target = np.bincount(index, weights=weight * local, minlength=n_systems)
    target = target + 0.02 * np.abs(target).mean() * rng.normal(size=n_systems)
    variance = np.full(n_systems, (0.02 * np.abs(target).mean()) ** 2)
    cut = int(0.8 * n_systems)

    def part(systems: np.ndarray) -> LearningData:
        rows = np.isin(index, systems)
        return LearningData(features[rows], index[rows] - systems[0], weight[rows], target[systems],
                            variance[systems], [f"s{s}" for s in systems])

    return part(np.arange(cut)), part(np.arange(cut, n_systems))


def paper_loop(train: LearningData, valid: LearningData, epochs: int, threads: int) -> tuple[list[float], float]:
    """(validation RMSE per epoch, seconds): per-system means by torch.split and a Python loop."""
    torch.set_num_threads(threads)
    member = NNMember(NNEnsembleConfig(max_epochs=epochs), seed=0, threads=threads)
    torch.manual_seed(0)
    features = np.asarray(train.features, dtype=np.float64)
    mean, std = features.mean(axis=0).astype(np.float32), features.std(axis=0).astype(np.float32)
    scale = float(np.mean(np.abs(train.target)))
    network = _network(train.features.shape[1], [100, 100])
    with torch.no_grad():
        network[-1].bias.fill_(_best_constant(train) / scale)
    optimiser = torch.optim.Adam(network.parameters(), lr=5e-4)
    batch = SystemBatch(train, mean, std, scale, torch.device("cpu"))
    valid_batch = SystemBatch(valid, mean, std, scale, torch.device("cpu"))
    sizes = np.bincount(train.system_index, minlength=train.n_systems).tolist()
    history = []
    started = time.perf_counter()
    for _ in range(epochs):
        local = network(batch.features).squeeze(-1)
        means = torch.stack([chunk.mean() * float(w) for chunk, w in
                             zip(torch.split(local, sizes), np.bincount(train.system_index, weights=train.weight))])
        loss = torch.sum(batch.inverse_variance * (batch.target - means) ** 2) / torch.sum(batch.inverse_variance)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        history.append(member._rmse(network, valid_batch) * scale)
    return history, time.perf_counter() - started


def plugin_loop(train: LearningData, valid: LearningData, epochs: int, threads: int, *, per_step: int | None,
                retained: bool) -> tuple[list[float], float]:
    """(validation RMSE per epoch, seconds) of NNMember.fit, with or without the retained heap."""
    config = NNEnsembleConfig(max_epochs=epochs, patience=epochs, environments_per_step=per_step)  # None: full
    original = nn_ensemble.retained_heap
    if not retained:
        nn_ensemble.retained_heap = contextlib.nullcontext
    try:
        started = time.perf_counter()
        member = NNMember(config, seed=0, threads=threads).fit(train, valid)
        seconds = time.perf_counter() - started
    finally:
        nn_ensemble.retained_heap = original
    return member.history_, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--systems", type=int, default=100)
    parser.add_argument("--environments", type=int, default=2500, help="per system")
    parser.add_argument("--dim", type=int, default=468)
    parser.add_argument("--epochs", type=int, default=150)
    parser.add_argument("--subsample", type=int, nargs="*", default=[256, 64], help="environments per step")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    console = Console(width=160)
    train, valid = synthetic_problem(args.systems, args.environments, args.dim)
    runs: dict[str, tuple[list[float], float]] = {}
    loops = [("paper's loop (torch.split, Python mean per system)", lambda: paper_loop(train, valid, args.epochs,
                                                                                      args.threads)),
             ("full batch, nn-ensemble 1.0", lambda: plugin_loop(train, valid, args.epochs, args.threads,
                                                                 per_step=None, retained=False)),
             ("full batch, nn-ensemble 1.1 (retained heap)", lambda: plugin_loop(
                 train, valid, args.epochs, args.threads, per_step=None, retained=True))]
    loops += [(f"subsampled, {m} per system per step (1.1)", (lambda m=m: plugin_loop(
        train, valid, args.epochs, args.threads, per_step=m, retained=True))) for m in args.subsample]
    for label, run in loops:
        runs[label] = run()
        console.print(f"  {label}: {runs[label][1]:.1f} s for {len(runs[label][0])} epochs, best validation RMSE "
                      f"{min(runs[label][0]):.4g}")
    reference_label, paper_label = loops[1][0], loops[0][0]
    target = min(runs[reference_label][0]) * (1 + TOLERANCE)

    def time_to_target(label: str) -> float:
        history, seconds = runs[label]
        reached = next((i for i, value in enumerate(history) if value <= target), None)
        return math.inf if reached is None else seconds / len(history) * (reached + 1)

    table = Table(title=f"time to the full-batch validation RMSE ({target:.4g}): {args.systems} systems × "
                        f"{args.environments} environments × {args.dim} features, MLP [100, 100], "
                        f"{args.threads} thread(s), ≤ {args.epochs} epochs")
    for column in ("loop", "s / epoch", "best validation RMSE", "epochs to target", "s to target",
                   "vs nn-ensemble 1.0", "vs paper's loop"):
        table.add_column(column, justify="left" if column == "loop" else "right")
    for label, _ in loops:
        history, seconds = runs[label]
        needed = time_to_target(label)
        reached = next((i + 1 for i, value in enumerate(history) if value <= target), None)
        table.add_row(label, f"{seconds / len(history):.3f}", f"{min(history):.4g}",
                      str(reached) if reached else f"not in {len(history)}",
                      f"{needed:.1f}" if math.isfinite(needed) else "-",
                      f"{time_to_target(reference_label) / needed:.1f}×" if math.isfinite(needed) else "-",
                      f"{time_to_target(paper_label) / needed:.1f}×"
                      if math.isfinite(needed) and math.isfinite(time_to_target(paper_label)) else "-")
    console.print(table)


if __name__ == "__main__":
    main()
