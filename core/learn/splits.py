"""Splitting systems into test / external / training folds, and the ensemble members trained on them.

The paper's scheme: a random 90/10 train/test split of the (non-external)
systems; the training systems split into K folds; for each fold, S networks
from different seeds train on the other folds and stop early on it.
Systems marked ``test_only`` are never trained on ("external").

For small datasets an outer K-fold adds, for every trainable system, a
prediction from members that never saw it: the trainable systems (train and
test alike) split into outer folds, and for each outer fold the same inner
scheme (K folds × S seeds) trains on the other outer folds only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.datatypes import SystemSpec
from core.recipe import defaults
from core.recipe.schema import SplitConfig


@dataclass(frozen=True)
class Member:
    """One ensemble member: trains on ``train``, stops early on ``validation``.

    ``outer`` is the outer fold whose systems it predicts out of sample, or
    ``None`` for a member of the main ensemble.
    """

    index: int
    fold: int
    seed: int
    train: tuple[str, ...]
    validation: tuple[str, ...]
    outer: int | None = None


@dataclass(frozen=True)
class Split:
    """Which systems play which role, and the ensemble members."""

    train: tuple[str, ...]
    test: tuple[str, ...]
    external: tuple[str, ...]
    members: tuple[Member, ...]
    notes: tuple[str, ...] = ()
    outer_folds: tuple[tuple[str, ...], ...] = ()

    @property
    def main_members(self) -> tuple[Member, ...]:
        """The members of the main ensemble (trained on ``train``)."""
        return tuple(m for m in self.members if m.outer is None)

    def outer_members(self, fold: int) -> tuple[Member, ...]:
        """The members that predict the systems of outer fold ``fold``."""
        return tuple(m for m in self.members if m.outer == fold)

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
    seeds_per_fold = config.seeds_per_fold if stochastic else 1
    members: list[Member] = []
    _add_members(members, train, config.n_folds, seeds_per_fold, rng, None, notes)
    outer_folds: list[tuple[str, ...]] = []
    n_outer = min(_outer_fold_count(config, len(pool)), len(pool))
    if n_outer >= 2:
        notes.append(f"{len(pool)} trainable systems: each is also predicted by an outer {n_outer}-fold "
                     f"({n_outer} × {config.n_folds} folds × {seeds_per_fold} seeds more members)")
        shuffled = [pool[i] for i in rng.permutation(len(pool))]
        outer_folds = [tuple(sorted(shuffled[i::n_outer])) for i in range(n_outer)]
        for index, held_out in enumerate(outer_folds):
            rest = [name for name in shuffled if name not in held_out]
            _add_members(members, rest, config.n_folds, seeds_per_fold, rng, index, [])
    return Split(tuple(sorted(train)), test, external, tuple(members), tuple(notes), tuple(outer_folds))


def _outer_fold_count(config: SplitConfig, n_pool: int) -> int:
    if config.outer_folds == "auto":
        return defaults.OUTER_FOLDS if n_pool < defaults.SMALL_DATASET_SYSTEMS else 0
    return int(config.outer_folds)


def _add_members(members: list[Member], train: list[str], n_folds_wanted: int, seeds_per_fold: int,
                 rng: np.random.Generator, outer: int | None, notes: list[str]) -> None:
    """Append the K folds × S seeds members that train on ``train`` (cross-validated early stopping)."""
    n_folds = min(n_folds_wanted, len(train))
    if n_folds < n_folds_wanted:
        notes.append(f"{len(train)} training systems: {n_folds} folds instead of {n_folds_wanted}")
    folds = [sorted(train[i::n_folds]) for i in range(n_folds)]
    for fold_index, fold in enumerate(folds):
        fit_on = tuple(sorted(train)) if n_folds == 1 else tuple(sorted(set(train) - set(fold)))
        validation = () if n_folds == 1 else tuple(fold)
        for _ in range(seeds_per_fold):
            seed = int(rng.integers(0, 2**31 - 1))
            members.append(Member(len(members), fold_index, seed, fit_on, validation, outer))
