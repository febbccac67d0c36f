"""Splitting systems into test / external / training folds, and the ensemble members trained on them.

The paper's scheme: a random 90/10 train/test split of the (non-external)
systems; the training systems split into K folds; for each fold, S networks
from different seeds train on the other folds and stop early on it.
Systems marked ``test_only`` are never trained on ("external").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.datatypes import SystemSpec
from core.recipe.schema import SplitConfig


@dataclass(frozen=True)
class Member:
    """One ensemble member: trains on ``train``, stops early on ``validation``."""

    index: int
    fold: int
    seed: int
    train: tuple[str, ...]
    validation: tuple[str, ...]


@dataclass(frozen=True)
class Split:
    """Which systems play which role, and the ensemble members."""

    train: tuple[str, ...]
    test: tuple[str, ...]
    external: tuple[str, ...]
    members: tuple[Member, ...]
    notes: tuple[str, ...] = ()

    def role(self, system: str) -> str:
        """"train", "test" or "external"."""
        if system in self.test:
            return "test"
        if system in self.external:
            return "external"
        return "train"


def make_split(systems: list[SystemSpec], config: SplitConfig, *, stochastic: bool) -> Split:
    """The deterministic split of ``systems`` for ``config.seed``.

    Needs at least one trainable system. With fewer training systems than
    folds, the fold count drops to the number of training systems (noted);
    with one training system there is no validation fold.
    """
    rng = np.random.default_rng(config.seed)
    external = tuple(s.name for s in systems if s.test_only)
    pool = [s.name for s in systems if not s.test_only]
    if not pool:
        raise ValueError("every system is test_only: nothing to train on")
    order = [pool[i] for i in rng.permutation(len(pool))]
    n_test = int(round(config.test_fraction * len(pool)))
    if config.test_fraction > 0 and n_test == 0 and len(pool) >= 3:
        n_test = 1
    n_test = min(n_test, len(pool) - 1)
    test, train = tuple(sorted(order[:n_test])), order[n_test:]
    notes: list[str] = []
    n_folds = min(config.n_folds, len(train))
    if n_folds < config.n_folds:
        notes.append(f"{len(train)} training systems: {n_folds} folds instead of {config.n_folds}")
    folds = [sorted(train[i::n_folds]) for i in range(n_folds)]
    seeds_per_fold = config.seeds_per_fold if stochastic else 1
    members: list[Member] = []
    for fold_index, fold in enumerate(folds):
        fit_on = tuple(sorted(train)) if n_folds == 1 else tuple(sorted(set(train) - set(fold)))
        validation = () if n_folds == 1 else tuple(fold)
        for repeat in range(seeds_per_fold):
            seed = int(rng.integers(0, 2**31 - 1))
            members.append(Member(len(members), fold_index, seed, fit_on, validation))
    return Split(tuple(sorted(train)), test, external, tuple(members), tuple(notes))
