"""Conformance checks per plugin kind, and :func:`parametrize_with_checks` (after scikit-learn's)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from core.datatypes import PAIR_BOND_TYPE, Frame, LearningData, TaskContext
from core.plugin_system.plugin_api import AnalysisPlugin, DescriptorPlugin, ModelPlugin, Plugin, SimulatorPlugin
from core.testing.synthetic import LINEAR, _linear_data, make_frame, random_liquid, tiny_job

Check = Callable[[Plugin], None]


def _features(descriptor: DescriptorPlugin, frame: Frame) -> np.ndarray:
    result = np.asarray(descriptor.compute(frame, frame.ion_indices), dtype=np.float64)
    expected = (len(frame.ion_indices), len(descriptor.feature_names(frame.types)))
    if result.shape != expected:
        raise AssertionError(f"{descriptor.name}: compute gave shape {result.shape}, feature_names say {expected}")
    return result


def _assert_same(a: np.ndarray, b: np.ndarray, what: str) -> None:
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5 * max(1.0, float(np.abs(a).max(initial=0.0))),
                               err_msg=what)


# ------------------------------------------------------------------------------------ descriptor checks

def check_feature_names_match_the_features(descriptor: DescriptorPlugin) -> None:
    """``compute`` returns (n_centres, len(feature_names)) finite numbers, names unique, for any centres."""
    positions, typeid = random_liquid(20, 30, 10.0, seed=6)
    frame = make_frame(positions, typeid, 10.0)
    names = descriptor.feature_names(frame.types)
    assert len(set(names)) == len(names), f"{descriptor.name}: feature names repeat"
    every = _features(descriptor, frame)
    assert np.all(np.isfinite(every)), f"{descriptor.name}: non-finite features"
    some = frame.ion_indices[::3]
    chosen = np.asarray(descriptor.compute(frame, some), dtype=np.float64)
    _assert_same(chosen, every[::3], f"{descriptor.name}: features of a subset of centres differ")


def check_rotation_invariance(descriptor: DescriptorPlugin) -> None:
    """A cluster rotated at random in a box larger than its cutoff gives the same features."""
    from scipy.spatial.transform import Rotation

    positions, typeid = random_liquid(30, 30, 40.0, seed=1, radius=6.0)
    rotated = positions @ Rotation.random(random_state=3).as_matrix().T
    _assert_same(_features(descriptor, make_frame(positions, typeid, 40.0)),
                 _features(descriptor, make_frame(rotated, typeid, 40.0)), f"{descriptor.name}: not rotation invariant")


def check_translation_and_wrapping_invariance(descriptor: DescriptorPlugin) -> None:
    """Translating every particle (re-wrapped into the box; one ion sits on a face) changes nothing."""
    length = 12.0
    positions, typeid = random_liquid(40, 60, length, seed=2)
    positions[0] = [length / 2 - 0.02, 0.0, 0.0]
    shifted = positions + np.array([0.37, -0.21, 0.5]) * length
    _assert_same(_features(descriptor, make_frame(positions, typeid, length)),
                 _features(descriptor, make_frame(shifted, typeid, length)),
                 f"{descriptor.name}: not invariant under translation and periodic wrapping")


def check_permutation_invariance(descriptor: DescriptorPlugin) -> None:
    """Reordering the particles reorders the rows and nothing else."""
    length = 12.0
    positions, typeid = random_liquid(40, 60, length, seed=4)
    order = np.random.default_rng(5).permutation(len(typeid))
    original = make_frame(positions, typeid, length)
    permuted = make_frame(positions[order], typeid[order], length)
    by_particle = dict(zip(original.ion_indices.tolist(), _features(descriptor, original)))
    for row, particle in zip(_features(descriptor, permuted), permuted.ion_indices):
        _assert_same(row, by_particle[int(order[particle])], f"{descriptor.name}: not permutation invariant")


def check_a_lonely_ion_has_finite_features(descriptor: DescriptorPlugin) -> None:
    """Two ions far apart (no neighbour within any sensible cutoff) still give finite features."""
    frame = make_frame(np.array([[0.0, 0, 0], [14.0, 0, 0]]), np.array([0, 1]), 30.0)
    assert np.all(np.isfinite(_features(descriptor, frame))), f"{descriptor.name}: non-finite for a lonely ion"


DESCRIPTOR_CHECKS: tuple[Check, ...] = (check_feature_names_match_the_features, check_rotation_invariance,
                                        check_translation_and_wrapping_invariance, check_permutation_invariance,
                                        check_a_lonely_ion_has_finite_features)


# ----------------------------------------------------------------------------------------- model checks

#: The known local function of the model checks: k(x) = x · LINEAR + 0.7.
def check_fit_returns_self(plugin: ModelPlugin) -> None:
    model = plugin.create(seed=0, threads=1)
    assert model.fit(_linear_data()) is model, f"{plugin.name}: fit must return the model itself"


def check_predict_local_gives_one_finite_k_per_environment(plugin: ModelPlugin) -> None:
    data = _linear_data()
    k = np.asarray(plugin.create(seed=0, threads=1).fit(data).predict_local(data.features))
    assert k.shape == (len(data.features),), f"{plugin.name}: predict_local gave {k.shape}"
    assert np.all(np.isfinite(k)), f"{plugin.name}: non-finite k"


def check_save_load_round_trip_predicts_the_same(plugin: ModelPlugin) -> None:
    data = _linear_data()
    model = plugin.create(seed=0, threads=1).fit(data)
    with tempfile.TemporaryDirectory() as directory:
        model.save(Path(directory))
        loaded = plugin.load(Path(directory))
        np.testing.assert_allclose(loaded.predict_local(data.features), model.predict_local(data.features),
                                   rtol=1e-6, atol=1e-9, err_msg=f"{plugin.name}: save/load changes predictions")


def check_system_means_follow_a_linear_local_function(plugin: ModelPlugin) -> None:
    """Fitted on 30 systems of a linear k, the system means of the predicted k reach R² > 0.9."""
    data = _linear_data()
    means = data.system_means(plugin.create(seed=0, threads=1).fit(data).predict_local(data.features))
    r2 = 1 - np.sum((data.target - means) ** 2) / np.sum((data.target - data.target.mean()) ** 2)
    assert r2 > 0.9, f"{plugin.name}: system means of k reach R² {r2:.3f} on a linear local function"


def check_local_labels_pin_down_what_system_means_cannot(plugin: ModelPlugin) -> None:
    """For models that declare ``fits_local_labels``: a local k along a feature whose mean is zero in every
    system (so the system means say nothing of it) is recovered from noisy per-environment labels (noise
    2× the function's spread; local R² > 0.6 on the training environments)."""
    data = _linear_data()
    rng = np.random.default_rng(4)
    features = np.asarray(data.features, dtype=np.float64).copy()
    hidden = rng.normal(size=len(features))
    hidden -= (np.bincount(data.system_index, weights=hidden) / np.bincount(data.system_index))[data.system_index]
    features[:, -1] = hidden
    truth = features[:, :-1] @ LINEAR[:-1] + 0.7 + 2.0 * hidden     # most of k's spread is in the hidden direction
    target = np.bincount(data.system_index, weights=data.weight * truth, minlength=data.n_systems)
    noise = 2 * float(np.std(truth))
    labelled = LearningData(features.astype(np.float32), data.system_index, data.weight, target,
                            (0.1 * target) ** 2 + 1e-6, data.system_names, truth + rng.normal(size=len(truth)) * noise,
                            np.full(len(truth), noise ** 2))
    k = plugin.create(seed=0, threads=1).fit(labelled).predict_local(labelled.features)
    r2 = 1 - np.sum((k - truth) ** 2) / np.sum((truth - truth.mean()) ** 2)
    assert r2 > 0.6, f"{plugin.name}: fits_local_labels, but the local labels recover the local k with R² {r2:.3f}"


def check_local_variance_is_a_variance(plugin: ModelPlugin) -> None:
    """For models whose fitted members have ``local_variance(features)`` (the posterior variance of k that
    the report's "how well the local k are pinned down" uses): one finite, non-negative value per
    environment, not all zero, and the same after a save/load round trip."""
    data = _linear_data()
    model = plugin.create(seed=0, threads=1).fit(data)
    variance = np.asarray(model.local_variance(data.features), dtype=np.float64)
    assert variance.shape == (len(data.features),), f"{plugin.name}: local_variance gave shape {variance.shape}"
    assert np.all(np.isfinite(variance)) and np.all(variance >= 0), f"{plugin.name}: local_variance is not a variance"
    assert np.any(variance > 0), f"{plugin.name}: local_variance is zero everywhere"
    with tempfile.TemporaryDirectory() as directory:
        model.save(Path(directory))
        again = np.asarray(plugin.load(Path(directory)).local_variance(data.features), dtype=np.float64)
    np.testing.assert_allclose(again, variance, rtol=1e-5, atol=1e-12,
                               err_msg=f"{plugin.name}: save/load changes local_variance")


MODEL_CHECKS: tuple[Check, ...] = (check_fit_returns_self, check_predict_local_gives_one_finite_k_per_environment,
                                   check_save_load_round_trip_predicts_the_same,
                                   check_system_means_follow_a_linear_local_function)


# ------------------------------------------------------------------------------------- simulator checks

def check_gsd_conventions(plugin: SimulatorPlugin) -> None:
    """The trajectory of :func:`tiny_job`: types cation/anion/solvent with the system's ion count and
    electroneutral valences, every localcond log key (:func:`core.md.electrolyte.trajectory_log`), frames every
    write_period steps, positions wrapped into the box with image flags that follow every face crossing,
    bonds of type ``pair`` between unlike ions."""
    import gsd.hoomd

    from core.md.electrolyte import trajectory_log
    from core.md.species import ion_species

    with tempfile.TemporaryDirectory() as directory:
        job = tiny_job(Path(directory))
        scratch = Path(directory) / "scratch"
        scratch.mkdir()
        plugin.simulate(job, TaskContext(threads=1, scratch_dir=scratch, label="conformance"))
        with gsd.hoomd.open(str(job.trajectory_path), "r") as trajectory:
            frames = list(trajectory)
        expected = job.settings.steps // job.settings.write_period
        assert len(frames) in (expected, expected + 1), f"{plugin.name}: {len(frames)} frames, expected {expected}"
        first = frames[0]
        assert {"cation", "anion", "solvent"} <= set(first.particles.types), f"{plugin.name}: types"
        for key in trajectory_log(job.system, job.settings, job.seed):
            assert key in first.log, f"{plugin.name}: no log key {key!r}"
        steps = np.diff([f.configuration.step for f in frames])
        assert np.all(steps == job.settings.write_period), f"{plugin.name}: frames every {set(steps.tolist())} steps"
        from core.md.trajectory import read_frames

        read = list(read_frames(job.trajectory_path))
        species, _ = ion_species(read[0], job.trajectory_path)
        n_cations = sum(s.count for s in species if s.valence > 0)
        assert n_cations == job.system.n_ion_pairs, f"{plugin.name}: {n_cations} cations"
        for before, after in zip(read, read[1:]):
            assert np.all(np.abs(after.positions) <= after.box / 2 + 1e-6), f"{plugin.name}: positions not wrapped"
            moved = (after.unwrapped_positions() - before.unwrapped_positions()) / before.box
            nearest = moved - np.round(moved)  # the minimum-image move
            # a short move (minimum image under a quarter box) that the images make longer than half a box is a
            # face crossing the image flags missed
            missed = (np.abs(moved) > 0.5) & (np.abs(nearest) < 0.25)
            assert not missed.any(), f"{plugin.name}: image flags miss {int(missed.sum())} face crossings"
        bonds = first.bonds
        if bonds.N:
            assert list(bonds.types) == [PAIR_BOND_TYPE], f"{plugin.name}: bond types {bonds.types}"
            sign = read[0].ion_sign
            assert np.all(sign[bonds.group[:, 0]] * sign[bonds.group[:, 1]] == -1), f"{plugin.name}: bonds"
        assert len(bonds.group) == job.system.n_bonded_pairs, f"{plugin.name}: {len(bonds.group)} bonds"


def check_continuation_continues_the_run(plugin: SimulatorPlugin) -> None:
    """For simulators that declare ``supports_continuation``: an extension of :func:`tiny_job` (``start_step``
    = its steps, ``continue_from`` = the ``final_state.bin`` it left) writes frames every write_period steps
    from start_step + write_period on, of the same particles and bonds, starting one frame's motion from the
    run's last frame (not afresh), and leaves a final state of its own for the next extension."""
    import dataclasses

    from core.storage.layout import FINAL_STATE_FILE
    from core.md.trajectory import read_frames

    with tempfile.TemporaryDirectory() as directory:
        base_dir, more_dir = Path(directory) / "base", Path(directory) / "more"
        base_dir.mkdir()
        more_dir.mkdir()
        job = tiny_job(base_dir)
        (Path(directory) / "scratch-base").mkdir()
        plugin.simulate(job, TaskContext(threads=1, scratch_dir=Path(directory) / "scratch-base", label="base"))
        state = base_dir / FINAL_STATE_FILE
        assert state.is_file(), f"{plugin.name}: supports_continuation, but left no {FINAL_STATE_FILE}"
        extension = dataclasses.replace(job, settings=dataclasses.replace(job.settings, steps=500),
                                        start_step=job.settings.steps, continue_from=state,
                                        trajectory_path=more_dir / job.trajectory_path.name)
        (Path(directory) / "scratch-more").mkdir()
        plugin.simulate(extension, TaskContext(threads=1, scratch_dir=Path(directory) / "scratch-more", label="more"))
        first, more = list(read_frames(job.trajectory_path)), list(read_frames(extension.trajectory_path))
        period = job.settings.write_period
        steps = [f.step for f in more]
        expected = list(range(job.settings.steps + period, job.settings.steps + 500 + 1, period))
        assert steps == expected, f"{plugin.name}: the extension's frames are at steps {steps}, expected {expected}"
        assert np.array_equal(more[0].typeid, first[-1].typeid), f"{plugin.name}: the extension's particles differ"
        assert np.array_equal(more[0].bonds, first[-1].bonds), f"{plugin.name}: the extension's bonds differ"
        step = np.sqrt(np.mean(np.sum((more[0].unwrapped_positions() - first[-1].unwrapped_positions()) ** 2, axis=1)))
        usual = np.median([np.sqrt(np.mean(np.sum((b.unwrapped_positions() - a.unwrapped_positions()) ** 2, axis=1)))
                           for a, b in zip(first, first[1:])])
        assert step < 3 * usual, (f"{plugin.name}: the extension starts {step:.2f}σ (RMS) from the run's last frame, "
                                  f"where a frame's motion is {usual:.2f}σ: it did not continue the run")
        assert (more_dir / FINAL_STATE_FILE).is_file(), f"{plugin.name}: the extension left no {FINAL_STATE_FILE}"


SIMULATOR_CHECKS: tuple[Check, ...] = (check_gsd_conventions,)


# -------------------------------------------------------------------------------------- analysis checks

def check_writes_what_it_declares(plugin: AnalysisPlugin) -> None:
    """On a small finished run (:func:`synthetic_run_inputs`), every figure and table the result names is a
    non-empty file, and its numbers are JSON."""
    import json

    from core.testing.runner import synthetic_run_inputs

    with tempfile.TemporaryDirectory() as directory:
        result = plugin.run(synthetic_run_inputs(), Path(directory))
        for name in [*result.figures, *result.tables]:
            path = Path(directory) / name
            assert path.is_file() and path.stat().st_size > 0, f"{plugin.name}: declared {name} but did not write it"
        json.dumps(result.numbers, allow_nan=True)


ANALYSIS_CHECKS: tuple[Check, ...] = (check_writes_what_it_declares,)

CHECKS_BY_KIND: dict[str, tuple[Check, ...]] = {"descriptor": DESCRIPTOR_CHECKS, "model": MODEL_CHECKS,
                                                "simulator": SIMULATOR_CHECKS, "analysis": ANALYSIS_CHECKS}


def _has_local_variance(plugin: Plugin) -> bool:
    return callable(getattr(plugin.create(seed=0, threads=1), "local_variance", None))


#: What a plugin can declare beyond its kind's contract, how the kit tells whether it does, and the checks
#: that then apply (a capability a plugin does not declare is not checked).
CAPABILITIES: dict[str, tuple[Callable[[Plugin], bool], tuple[Check, ...]]] = {
    "continuation": (lambda p: p.kind == "simulator" and bool(getattr(p, "supports_continuation", False)),
                     (check_continuation_continues_the_run,)),
    "local labels": (lambda p: p.kind == "model" and bool(getattr(p, "fits_local_labels", False)),
                     (check_local_labels_pin_down_what_system_means_cannot,)),
    "local variance": (lambda p: p.kind == "model" and _has_local_variance(p), (check_local_variance_is_a_variance,)),
}


def capabilities(plugin: Plugin) -> frozenset[str]:
    """The capabilities (keys of :data:`CAPABILITIES`) ``plugin`` declares."""
    return frozenset(name for name, (declared, _) in CAPABILITIES.items() if declared(plugin))


def checks_for(plugin: Plugin) -> tuple[Check, ...]:
    """Every conformance check of ``plugin``'s kind, and those of the capabilities it declares."""
    checks = CHECKS_BY_KIND[plugin.kind]
    for name in sorted(capabilities(plugin)):
        checks = (*checks, *CAPABILITIES[name][1])
    return checks


def check_name(check: Check) -> str:
    """A check's name as test ids and ``expected_failures`` spell it: without the ``check_`` prefix."""
    return check.__name__.removeprefix("check_")


def parametrize_with_checks(plugins: list[Plugin], *, expected_failures: dict[str, dict[str, str]] | None = None):
    """``pytest.mark.parametrize("plugin, check", ...)`` over every (plugin, check of its kind and capabilities).

    ``expected_failures``: plugin name -> {check name (as in the test id, without ``check_``): why}. Those
    cases are marked ``xfail(strict=True)``: they must fail, so a fixed plugin is noticed. A name that is no
    check of that plugin is an error, so a misspelt entry cannot hide a failure.
    """
    import pytest

    expected_failures = expected_failures or {}
    cases, ids = [], []
    for plugin in plugins:
        names = {check_name(check) for check in checks_for(plugin)}
        unknown = set(expected_failures.get(plugin.name, {})) - names
        if unknown:
            raise ValueError(f"expected_failures for {plugin.name!r} names {sorted(unknown)}, which are not among its "
                             f"checks: {sorted(names)}")
        for check in checks_for(plugin):
            why = expected_failures.get(plugin.name, {}).get(check_name(check))
            marks = [pytest.mark.xfail(strict=True, reason=why)] if why else []
            cases.append(pytest.param(plugin, check, marks=marks))
            ids.append(f"{plugin.name}-{check_name(check)}")
    return pytest.mark.parametrize("plugin, check", cases, ids=ids)
