"""Descriptor plugins: edge cases, and the fast code against naive references (the invariances every
descriptor owes are the kit's conformance checks, run on the built-ins in tests/test_plugin_kit.py)."""

from __future__ import annotations

import numpy as np
import pytest

from core.datatypes import Frame
from core.plugin_system.registry import get_registry
from core.testing import make_frame, random_liquid

TYPES = ("cation", "anion", "solvent")


PLUGINS = [("soap-dscribe", {}), ("soap-dscribe", {"include_solvent": True, "n_max": 4, "l_max": 3}),
           ("soap-featomic", {}), ("soap-featomic", {"include_solvent": True, "cutoff_smoothing": "shifted-cosine"}),
           ("soap-quippy", {}), ("soap-quippy", {"include_solvent": True, "n_max": 4, "l_max": 3}),
           ("radial-shells", {}), ("radial-shells", {"include_solvent": True})]


def plugin(name: str, options: dict):
    registry = get_registry()
    info = registry.info("descriptor", name)
    if not info.available:
        pytest.skip(f"{name}: {info.unavailable_reason}")
    return registry.instantiate("descriptor", name, options)


def features(descriptor, frame: Frame) -> np.ndarray:
    result = np.asarray(descriptor.compute(frame, frame.ion_indices), dtype=np.float64)
    assert result.shape == (len(frame.ion_indices), len(descriptor.feature_names(frame.types)))
    return result


def assert_same(a: np.ndarray, b: np.ndarray) -> None:
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5 * max(1.0, np.abs(a).max()))


@pytest.mark.parametrize(("name", "options"), PLUGINS)
def test_lonely_ion_and_single_pair(name: str, options: dict) -> None:
    descriptor = plugin(name, options)
    names = descriptor.feature_names(TYPES)
    frame = make_frame(np.array([[0.0, 0, 0], [9.0, 0, 0]]), np.array([0, 1]), 30.0)
    lonely = features(descriptor, frame)
    assert np.all(np.isfinite(lonely))
    cross = [i for i, n in enumerate(names) if "unlike" in n or ("cation" in n and "anion" in n)]
    assert cross and np.all(lonely[:, cross] == 0)
    paired = features(descriptor, make_frame(np.array([[0.0, 0, 0], [2.0, 0, 0]]), np.array([0, 1]), 30.0))
    assert np.all(np.abs(paired[:, cross]).max(axis=1) > 0)


def test_radial_shells_match_a_naive_loop() -> None:
    descriptor = plugin("radial-shells", {"include_solvent": True, "n_shells": 7, "width": 0.4, "r_cut": 4.0})
    length = 10.0
    positions, typeid = random_liquid(30, 40, length, seed=6)
    frame = make_frame(positions, typeid, length)
    sign = frame.ion_sign
    shells = (np.arange(7) + 0.5) * 4.0 / 7
    expected = np.zeros((len(frame.ion_indices), 3, 7))
    for row, i in enumerate(frame.ion_indices):
        for j in range(frame.n_particles):
            if j == i:
                continue
            delta = frame.positions[j] - frame.positions[i]
            r = np.linalg.norm(delta - length * np.round(delta / length))
            if r >= 4.0:
                continue
            group = 2 if sign[j] == 0 else (0 if sign[j] == sign[i] else 1)
            expected[row, group] += np.exp(-(r - shells) ** 2 / (2 * 0.4 ** 2)) * 0.5 * (1 + np.cos(np.pi * r / 4.0))
    np.testing.assert_allclose(features(descriptor, frame), expected.reshape(len(expected), -1), atol=1e-12)


@pytest.mark.parametrize("name", ["soap-dscribe", "soap-featomic", "soap-quippy"])
def test_soap_has_the_papers_dimension_and_named_blocks(name: str) -> None:
    descriptor = plugin(name, {})
    names = descriptor.feature_names(TYPES)
    # Like-species blocks: n ≤ n' (21 pairs) × 6 l; the cation–anion block: all 36 (n, n') × 6 l.
    assert len(names) == 2 * 21 * 6 + 36 * 6 == 468 and all(names)
    assert {n.split("]")[0] + "]" for n in names} == {"soap[cation,cation]", "soap[cation,anion]",
                                                      "soap[anion,anion]"}


@pytest.mark.parametrize("name", ["soap-dscribe", "soap-featomic", "soap-quippy"])
@pytest.mark.parametrize("present", ["cation", "anion"])
def test_soap_columns_are_named_after_the_densities_they_hold(name: str, present: str) -> None:
    """With one species in the box, only the columns naming that species twice can be non-zero."""
    descriptor = plugin(name, {})
    positions, _ = random_liquid(40, 0, 9.0, seed=5)
    typeid = np.full(len(positions), TYPES.index(present))
    values = features(descriptor, make_frame(positions, typeid, 9.0))
    names = descriptor.feature_names(TYPES)
    own = [i for i, n in enumerate(names) if n.startswith(f"soap[{present},{present}]")]
    others = [i for i in range(len(names)) if i not in own]
    assert np.all(values[:, others] == 0)
    assert np.all(np.abs(values[:, own]).max(axis=1) > 0)
