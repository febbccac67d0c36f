"""The transport stage's numerics against independent references."""

from __future__ import annotations

import numpy as np
import pytest

from core.datatypes import Frame
from core.trajectory import LOG_TIMESTEP, GSDWriter
from core.transport.correlation import displacement_correlation, displacement_correlation_naive
from core.transport.onsager import replica_transport


def test_fft_equals_the_naive_double_loop_on_random_walks():
    rng = np.random.default_rng(1)
    walk = np.cumsum(rng.normal(size=(120, 7, 3)), axis=0) + 5e3
    other = np.cumsum(rng.normal(size=(120, 3)), axis=0)
    np.testing.assert_allclose(displacement_correlation(walk), displacement_correlation_naive(walk), atol=1e-8)
    np.testing.assert_allclose(displacement_correlation(walk.sum(1), other),
                               displacement_correlation_naive(walk.sum(1), other), atol=1e-8)


def write_brownian(path, *, n_pairs=200, n_solvent=200, frames=400, dt_frame=0.5, D=(1.0, 0.25), drift=0.0,
                   bonded=False, seed=0):
    rng = np.random.default_rng(seed)
    length = 20.0
    n = 2 * n_pairs + n_solvent
    typeid = np.array([0] * n_pairs + [1] * n_pairs + [2] * n_solvent)
    diffusion = np.array([D[0], D[1], 1.0])[typeid]
    position = rng.uniform(-length / 2, length / 2, (n, 3))
    with GSDWriter(path, {LOG_TIMESTEP: 0.005}) as writer:
        for index in range(frames):
            image = np.floor((position + length / 2) / length).astype(int)
            writer.append(Frame(position - image * length, np.full(3, length), typeid,
                                ("cation", "anion", "solvent"), image, np.zeros((0, 2), int),
                                step=index * 100, time=index * dt_frame))
            step = rng.normal(size=(n, 3)) * np.sqrt(2 * diffusion * dt_frame)[:, None] + drift * dt_frame
            if bonded:
                step[n_pairs:2 * n_pairs] = step[:n_pairs]
            position = position + step
    return length ** 3


def test_independent_brownian_ions_give_L_self_equal_D_c(tmp_path):
    volume = write_brownian(tmp_path / "t.gsd")
    result = replica_transport(tmp_path / "t.gsd", fit_window=(5.0, 50.0))
    c = 200 / volume
    assert result.D_p == pytest.approx(1.0, rel=0.1) and result.D_m == pytest.approx(0.25, rel=0.1)
    assert result.L_self_pp == pytest.approx(1.0 * c, rel=0.1)
    assert abs(result.L_pm) < 0.3 * result.L_self_pp


def test_a_uniform_drift_changes_nothing(tmp_path):
    write_brownian(tmp_path / "a.gsd", seed=3)
    write_brownian(tmp_path / "b.gsd", seed=3, drift=0.7)
    a = replica_transport(tmp_path / "a.gsd", fit_window=(5.0, 50.0))
    b = replica_transport(tmp_path / "b.gsd", fit_window=(5.0, 50.0))
    assert b.kappa == pytest.approx(a.kappa, rel=1e-6)
    assert b.D_p == pytest.approx(a.D_p, rel=1e-6)


def test_rigid_dimers_carry_no_current(tmp_path):
    write_brownian(tmp_path / "d.gsd", bonded=True, D=(1.0, 1.0))
    result = replica_transport(tmp_path / "d.gsd", fit_window=(5.0, 50.0))
    assert abs(result.kappa) < 1e-6 * result.L_self_pp
    assert result.diffusive
