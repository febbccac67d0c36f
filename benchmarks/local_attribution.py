"""Local attribution on a known answer: do learners recover a hidden local k, not just its system means?

Environments are a run's own feature stores (real simulated structure); each
environment gets the hidden g(r) of :mod:`core.learn.known_answer` (r: distance
to the nearest unlike ion), each system the mean of g plus noise of known size.
Every system is predicted by members that never saw it (an outer K-fold over
systems; inside it each stochastic member stops early on a fifth of its training
systems). Per learner and data size the table gives:

- system R²: held-out predicted means against the noisy labels (the score the
  product reports), and against the noise-free means;
- local R²: held-out k against g, environment by environment;
- coverage of |k − g| ≤ 1σ and ≤ 2σ (0.68 / 0.95 when calibrated) and the rank
  correlation of σ with |k − g|, for σ = the members' spread (``k_std``) and the
  posterior std from local prediction rigidity (``k_posterior_std``);
- training seconds (wall, all members, this process).

    python -m core run benchmarks/known-answer.yaml          # 36 systems' stores (~15 min on 2 cores)
    python benchmarks/local_attribution.py                   # reads runs/known-answer
    python benchmarks/local_attribution.py --workdir runs/precise --descriptor soap-dscribe --systems 20
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from core.learn.known_answer import KnownAnswerSet, attribution_scores, known_answer_set, read_stores, stores_in_workdir
from core.plugin_system.registry import get_registry

#: Learners compared: label -> (model plugin, options). The first is the reference.
LEARNERS: dict[str, tuple[str, dict[str, Any]]] = {
    "nn-ensemble 1.1 defaults (full batch)": ("nn-ensemble", {"environments_per_step": None}),
    "nn-ensemble 1.2 defaults (64 per step)": ("nn-ensemble", {}),
    "nn-ensemble (laptop recipe: lr 2e-3, ≤500 epochs)": (
        "nn-ensemble", {"learning_rate": 2e-3, "max_epochs": 500, "patience": 50, "environments_per_step": None}),
    "nn-ensemble, weight decay 1e-2": (
        "nn-ensemble", {"learning_rate": 2e-3, "max_epochs": 500, "patience": 50, "weight_decay": 1e-2,
                        "environments_per_step": None}),
    "nn-ensemble, hidden [32]": (
        "nn-ensemble", {"learning_rate": 2e-3, "max_epochs": 500, "patience": 50, "hidden": [32],
                        "environments_per_step": None}),
    "nn-ensemble, 64 environments per step": (
        "nn-ensemble", {"learning_rate": 2e-3, "max_epochs": 500, "patience": 50, "environments_per_step": 64}),
    "nn-ensemble 1.2, randomized prior 3": ("nn-ensemble", {"prior_scale": 3.0}),
    "ridge": ("ridge", {}),
}


def held_out_predictions(problem: KnownAnswerSet, plugin_name: str, options: dict[str, Any], folds: int,
                         members: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(k, member spread of k, posterior std of k) for every row, each from members that never saw its
    system; and the training seconds."""
    registry = get_registry()
    plugin = registry.instantiate("model", plugin_name, options)
    rng = np.random.default_rng(seed)
    order = rng.permutation(problem.data.n_systems)
    k, spread, posterior = (np.full(len(problem.truth), np.nan) for _ in range(3))
    seconds = 0.0
    for fold in range(folds):
        test = np.sort(order[fold::folds])
        train_systems = np.setdiff1d(order, test)
        rows = np.isin(problem.data.system_index, test)
        test_features = problem.data.features[rows]
        local, variance = [], []
        for member in range(members if plugin.stochastic else 1):
            shuffled = np.random.default_rng(seed + 1000 * fold + member).permutation(train_systems)
            n_valid = max(1, len(shuffled) // 5) if plugin.stochastic else 0
            fit = problem.systems(np.sort(shuffled[n_valid:])).data
            valid = problem.systems(np.sort(shuffled[:n_valid])).data if n_valid else None
            started = time.perf_counter()
            model = plugin.create(seed=seed + member, threads=1).fit(fit, valid)
            seconds += time.perf_counter() - started
            local.append(model.predict_local(test_features))
            variance.append(model.local_variance(test_features))
        local_array = np.array(local)
        k[rows], spread[rows] = local_array.mean(axis=0), local_array.std(axis=0)
        posterior[rows] = np.sqrt(np.mean(variance, axis=0))
    return k, spread, posterior, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=Path("runs/known-answer"))
    parser.add_argument("--descriptor", default="radial-shells")
    parser.add_argument("--systems", type=int, nargs="+", default=[12, 36], help="numbers of systems used")
    parser.add_argument("--environments", type=int, nargs="+", default=[250, 1000], help="per system")
    parser.add_argument("--relative-noise", type=float, default=0.1)
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--members", type=int, default=3)
    parser.add_argument("--learners", nargs="+", default=list(LEARNERS), choices=list(LEARNERS), metavar="LEARNER")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    paths = stores_in_workdir(args.workdir, args.descriptor)
    if not paths:
        raise SystemExit(f"{args.workdir}: no {args.descriptor} feature stores (run: python -m core run "
                         f"benchmarks/known-answer.yaml)")
    stores = read_stores(paths)
    console = Console(width=200)
    table = Table(title=f"local attribution on a known answer: {args.descriptor} environments of {args.workdir}, "
                        f"label noise {args.relative_noise:g} × mean |label|, {args.folds}-fold over systems, "
                        f"{args.members} members")
    for column in ("learner", "systems", "env/system", "system R² (labels)", "system R² (true means)",
                   "local R²", "k_std cover 1σ/2σ", "k_std rank ρ", "posterior cover 1σ/2σ", "posterior rank ρ",
                   "train s"):
        table.add_column(column, justify="left" if column == "learner" else "right")
    rng = np.random.default_rng(args.seed)
    names = list(stores)
    for n_systems in args.systems:
        chosen = sorted(rng.choice(len(names), size=min(n_systems, len(names)), replace=False))
        subset = {names[i]: stores[names[i]] for i in chosen}
        for environments in args.environments:
            problem = known_answer_set(subset, relative_noise=args.relative_noise,
                                       environments_per_system=environments, seed=args.seed)
            for label in args.learners:
                plugin_name, options = LEARNERS[label]
                k, spread, posterior, seconds = held_out_predictions(problem, plugin_name, options, args.folds,
                                                                     args.members, args.seed)
                confidence = {"k_std": spread, "posterior": posterior}
                if plugin_name == "ridge":
                    confidence.pop("k_std")   # one deterministic member per fold: no spread
                scores = attribution_scores(problem, k, confidence)
                cover = (lambda name: f"{scores[f'{name}_coverage1']:.2f} / {scores[f'{name}_coverage2']:.2f}"
                         if f"{name}_coverage1" in scores else "-")
                rank = (lambda name: f"{scores[f'{name}_rank_correlation']:.2f}"
                        if f"{name}_rank_correlation" in scores else "-")
                table.add_row(label, str(len(subset)), str(environments), f"{scores['system_r2']:.3f}",
                              f"{scores['system_r2_true']:.3f}", f"{scores['local_r2']:.3f}", cover("k_std"),
                              rank("k_std"), cover("posterior"), rank("posterior"), f"{seconds:.0f}")
                console.print(f"  {label}: {len(subset)} systems × {environments}: system R² "
                              f"{scores['system_r2']:.3f}, local R² {scores['local_r2']:.3f} ({seconds:.0f} s)")
    console.print(table)


if __name__ == "__main__":
    main()
