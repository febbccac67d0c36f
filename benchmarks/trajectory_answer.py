"""Local attribution on trajectories with a known answer: system means alone against measured attribution labels.

The run of ``benchmarks/trajectory-answer.yaml`` imports synthetic trajectories (core/learn/trajectory_answer.py)
in which each ion's expected share of Λ is g(r) = 2 D_own(r)/kT, r the distance to its nearest unlike ion,
and pairs drift together (which adds to an ion's self part and takes it back in its distinct part). The
run's own transport gives the labels: Λ per system, and each environment's measured attribution. Every
system is predicted by members that never saw it (a K-fold over systems); per descriptor, learner and
``labels`` setting the table gives system R² (held-out means against Λ), local R² (held-out k against g,
environment by environment) and the 1σ/2σ coverage of the member spread, of the posterior std and of the
predictive std √(spread² + posterior²) that the analyses use.

    python -m core.learn.trajectory_answer data/trajectory-answer
    python -m core run benchmarks/trajectory-answer.yaml
    python benchmarks/trajectory_answer.py [--workdir runs/trajectory-answer] [--descriptor soap-dscribe]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).parent))
from local_attribution import held_out_predictions  # noqa: E402  (the benchmark next to this one)

from core.learn.known_answer import attribution_scores, measured_answer_set, read_stores, stores_in_workdir, \
    transport_in_workdir  # noqa: E402
from core.learn.trajectory_answer import expected_attribution  # noqa: E402

#: learner label -> (model plugin, options)
LEARNERS: dict[str, tuple[str, dict[str, Any]]] = {
    "nn-ensemble (quickstart options)": ("nn-ensemble", {"max_epochs": 300, "patience": 50, "learning_rate": 2e-3}),
    "nn-ensemble (defaults)": ("nn-ensemble", {}),
    "ridge": ("ridge", {}),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=Path("runs/trajectory-answer"))
    parser.add_argument("--descriptor", default="soap-dscribe")
    parser.add_argument("--labels", nargs="+", default=["system-means", "attribution", "both"],
                        choices=["system-means", "attribution", "both"])
    parser.add_argument("--learners", nargs="+", default=list(LEARNERS), choices=list(LEARNERS), metavar="LEARNER")
    parser.add_argument("--environments", type=int, default=None, help="per system (default: every stored one)")
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--members", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    paths = stores_in_workdir(args.workdir, args.descriptor)
    if not paths:
        raise SystemExit(f"{args.workdir}: no {args.descriptor} feature stores (see this script's docstring)")
    stores, transport = read_stores(paths), transport_in_workdir(args.workdir)
    console = Console(width=200)
    table = Table(title=f"known local answer g(r): {args.descriptor} environments of {args.workdir}, "
                        f"{args.folds}-fold over {len(stores)} systems, {args.members} members")
    for column in ("learner", "labels", "system R²", "local R²", "k_std cover 1σ/2σ", "posterior cover 1σ/2σ",
                   "predictive cover 1σ/2σ", "train s"):
        table.add_column(column, justify="left" if column in ("learner", "labels") else "right")
    for label in args.learners:
        plugin, options = LEARNERS[label]
        for labels in args.labels:
            problem = measured_answer_set(stores, transport, expected_attribution, labels=labels,
                                          environments_per_system=args.environments, seed=args.seed)
            k, spread, posterior, seconds = held_out_predictions(problem, plugin, options, args.folds, args.members,
                                                                 args.seed)
            confidence = {"posterior": posterior} if plugin == "ridge" else {"k_std": spread, "posterior": posterior}
            confidence["predictive"] = np.sqrt(spread ** 2 + posterior ** 2)   # what the analyses use
            scores = attribution_scores(problem, k, confidence)
            cover = (lambda name: f"{scores[f'{name}_coverage1']:.2f} / {scores[f'{name}_coverage2']:.2f}"
                     if f"{name}_coverage1" in scores else "-")
            table.add_row(label, labels, f"{scores['system_r2']:.3f}", f"{scores['local_r2']:.3f}", cover("k_std"),
                          cover("posterior"), cover("predictive"), f"{seconds:.0f}")
            console.print(f"  {label}, {labels}: system R² {scores['system_r2']:.3f}, local R² "
                          f"{scores['local_r2']:.3f} ({seconds:.0f} s)")
    console.print(table)


if __name__ == "__main__":
    main()
