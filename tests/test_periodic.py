"""core/periodic.py, the one place periodic boundaries are handled: invariants a naive reading checks."""

from __future__ import annotations

import numpy as np

from core.periodic import minimum_image, unwrap, wrap


def test_wrap_then_unwrap_gives_back_the_positions_and_lands_in_the_box() -> None:
    rng = np.random.default_rng(3)
    box = np.array([4.0, 5.0, 7.5])
    positions = rng.uniform(-60, 60, (500, 3))
    wrapped, image = wrap(positions, box)
    assert image.dtype == np.int32
    assert np.all(wrapped >= -box / 2) and np.all(wrapped < box / 2)
    np.testing.assert_allclose(unwrap(wrapped, image, box), positions, atol=1e-12)


def test_positions_that_rounding_puts_outside_the_box_move_with_their_image() -> None:
    """Positions next to the box's edges, where floor((u + L/2)/L) rounds the wrong way: 4098.95 in a 7.3 box
    came out at +L/2 (image kept, so off by L once raised), and about 1 in 1000 edge positions a hair below
    −L/2. Every one must land in [−L/2, L/2) with wrapped + image × L the position."""
    for length in (0.1, 0.3, 7.3, 10.0, 11.7):
        edges = (np.arange(-1000, 1000) + 0.5) * length
        near = np.concatenate([np.nextafter(edges, -np.inf), edges, np.nextafter(edges, np.inf)])
        positions = np.repeat(near[:, None], 3, axis=1)
        wrapped, image = wrap(positions, length)
        assert np.all(wrapped >= -length / 2) and np.all(wrapped < length / 2), length
        np.testing.assert_allclose(wrapped + image * length, positions, rtol=0, atol=1e-9 * length * 1000)
    wrapped, image = wrap(np.array([[4098.95, 0.0, 0.0]]), 7.3)
    assert wrapped[0, 0] < 7.3 / 2 and abs(wrapped[0, 0] + image[0, 0] * 7.3 - 4098.95) < 1e-9


def test_minimum_image_is_the_nearest_periodic_copy() -> None:
    rng = np.random.default_rng(4)
    box = np.array([3.0, 4.0, 5.0])
    delta = rng.uniform(-20, 20, (200, 3))
    reduced = minimum_image(delta, box)
    assert np.all(np.abs(reduced) <= box / 2 + 1e-12)
    shifts = np.array([[i, j, k] for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1)]) * box
    naive = np.min(np.linalg.norm(reduced[:, None, :] + shifts[None], axis=2), axis=1)
    np.testing.assert_allclose(np.linalg.norm(reduced, axis=1), naive)
