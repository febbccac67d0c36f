"""The cation–anion contact lifetime behind ``stride: auto``, on hand-made configurations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.datatypes import Frame
from core.features.lifetime import contact_correlation, contact_pairs, lifetime_from_correlation


def frame(positions, typeid, step: int, box: float = 10.0) -> Frame:
    positions = np.asarray(positions, dtype=float)
    return Frame(positions, np.full(3, box), np.asarray(typeid, np.int32), ("cation", "anion", "solvent"),
                 np.zeros((len(positions), 3), np.int32), np.zeros((0, 2), np.int64), step, step * 0.005)


def test_contacts_use_the_minimum_image_and_ignore_like_pairs() -> None:
    snapshot = frame([[-4.9, 0, 0], [4.8, 0, 0], [0, 0, 0], [1.0, 0, 0], [0, 3, 0]], [0, 1, 0, 0, 2], 0)
    assert contact_pairs(snapshot) == {(0, 1)}  # 0.3σ across the face; the two cations at 1σ do not count


def test_a_contact_lasting_five_frames() -> None:
    together = [[0, 0, 0], [1.2, 0, 0]]
    apart = [[0, 0, 0], [4.0, 0, 0]]
    frames = [frame(together if t < 5 else apart, [0, 1], t) for t in range(10)]
    correlation = contact_correlation(frames)
    np.testing.assert_allclose(correlation[:5], [1.0, 0.8, 0.6, 0.4, 0.2])
    expected = 3 + (0.4 - math.exp(-1)) / 0.2
    assert lifetime_from_correlation(correlation, 1.0) == pytest.approx(expected)


def test_no_decay_within_the_window_gives_none() -> None:
    assert lifetime_from_correlation(np.ones(5), 1.0) is None
