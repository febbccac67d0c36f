"""The plugin-author kit: conformance checks per plugin kind, and an in-process pipeline runner.

Shipped as a pytest plugin (the ``pytest11`` entry point ``localcond``), so a plugin package tests its
plugins without being installed and without core's test suite:

- :func:`parametrize_with_checks` (after scikit-learn's): every check that applies to each plugin
  instance, as one parametrized test::

      from core.testing import parametrize_with_checks

      @parametrize_with_checks([Coordination(Coordination.Config())])
      def test_conformance(plugin, check):
          check(plugin)

  Descriptors: shape against ``feature_names``; invariance under rotation, translation, permutation and
  periodic wrapping; finite features for a lonely ion. Models: ``fit`` returns self; ``predict_local``
  gives one finite k per environment; a save/load round trip predicts the same; the system means follow
  a known linear local function. Simulators: the GSD conventions of :class:`core.plugin_api.SimulatorPlugin`.
  Analyses: they write what they declare, on a small finished run.
- the ``localcond_runner`` fixture (after pytest's ``Pytester``): a :class:`LocalcondRunner` whose
  registry holds the built-in plugins plus those the test registers, injected for the duration of a run
  that happens in this process (serial executor)::

      def test_my_descriptor_in_a_pipeline(localcond_runner):
          localcond_runner.register(Coordination)
          run = localcond_runner.run(localcond_runner.synthetic_recipe(descriptor="coordination"))
          assert run.ok and len(run.transport) == 3
"""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.datatypes import PAIR_BOND_TYPE, AnalysisInputs, Frame, LearningData, SimulationJob, SimulationSettings, \
    SystemSpec, TaskContext
from core.plugin_api import AnalysisPlugin, DescriptorPlugin, ModelPlugin, Plugin, SimulatorPlugin

TYPES = ("cation", "anion", "solvent")
Check = Callable[[Plugin], None]


# ---------------------------------------------------------------------------------------------- frames

def make_frame(positions: np.ndarray, typeid: np.ndarray, box_length: float) -> Frame:
    """A frame of ``positions`` (N, 3) σ, wrapped into a cubic box of ``box_length`` σ, types cation/anion/solvent."""
    box = np.full(3, float(box_length))
    positions = np.asarray(positions, dtype=np.float64)
    wrapped = positions - box_length * np.floor((positions + box_length / 2) / box_length)
    return Frame(wrapped, box, np.asarray(typeid, dtype=np.int32), TYPES, np.zeros((len(positions), 3), np.int32),
                 np.zeros((0, 2), np.int64), step=0, time=0.0)


def random_liquid(n_ions: int, n_solvent: int, box_length: float, seed: int = 0,
                  radius: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(positions (N, 3) σ, typeid (N,)): no two closer than 0.8σ, ions first; within ``radius`` of the origin
    if given (a cluster in a large box, for rotations)."""
    rng = np.random.default_rng(seed)
    accepted: list[np.ndarray] = []
    while len(accepted) < n_ions + n_solvent:
        if radius is None:
            trial = rng.uniform(-box_length / 2, box_length / 2, 3)
        else:
            trial = rng.uniform(-radius, radius, 3)
            if np.linalg.norm(trial) > radius:
                continue
        if accepted:
            delta = np.asarray(accepted) - trial
            delta -= box_length * np.round(delta / box_length)
            if np.min(np.linalg.norm(delta, axis=1)) < 0.8:
                continue
        accepted.append(trial)
    typeid = np.array([0] * (n_ions // 2) + [1] * (n_ions - n_ions // 2) + [2] * n_solvent)
    return np.asarray(accepted), typeid


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
LINEAR = np.array([0.3, -0.2, 0.5, 0.1])


def synthetic_learning_data(local: Callable[[np.ndarray], np.ndarray], n_systems: int = 30, per_system: int = 150,
                            dim: int = 4, seed: int = 0, bonded_fraction: float = 0.0) -> LearningData:
    """Systems whose environments scatter around system-specific centres; Λ_s = Σ_i w_i local(x_i) exactly."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=1.0, size=(n_systems, dim))
    features = np.concatenate([c + rng.normal(scale=0.7, size=(per_system, dim)) for c in centres])
    index = np.repeat(np.arange(n_systems), per_system)
    kept = int(round(per_system * (1 - bonded_fraction)))
    keep = np.concatenate([np.arange(per_system) < kept for _ in range(n_systems)])
    weight = np.full(len(index), 1.0 / per_system)
    features, index, weight = features[keep], index[keep], weight[keep]
    target = np.bincount(index, weights=weight * local(features), minlength=n_systems)
    variance = (0.02 * np.abs(target)) ** 2 + 1e-6
    return LearningData(features.astype(np.float32), index, weight, target, variance,
                        [f"s{i}" for i in range(n_systems)])


def _linear_data() -> LearningData:
    return synthetic_learning_data(lambda x: x @ LINEAR + 0.7)


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


MODEL_CHECKS: tuple[Check, ...] = (check_fit_returns_self, check_predict_local_gives_one_finite_k_per_environment,
                                   check_save_load_round_trip_predicts_the_same,
                                   check_system_means_follow_a_linear_local_function)


# ------------------------------------------------------------------------------------- simulator checks

def tiny_job(directory: Path, replica: int = 0) -> SimulationJob:
    """A 300-bead system at c = 0.05, l_B = 5, 10 % paired, 1000 steps with a frame every 100."""
    system = SystemSpec("c0.05_lB5_p0.1_N300_rho0.8", 0.05, 5.0, 0.1, 300, 0.8, 1, 7)
    settings = SimulationSettings(steps=1000, equilibration_steps=200, write_period=100, timestep=0.005, kT=1.0,
                                  wca_cutoff=2 ** (1 / 6), thermostat_tau=0.5, bond_k=100.0, bond_r0=1.0,
                                  min_ions=4)
    return SimulationJob(system, replica, system.replica_seed(replica), settings, directory / "trajectory.gsd")


def check_gsd_conventions(plugin: SimulatorPlugin) -> None:
    """The trajectory of :func:`tiny_job`: types cation/anion/solvent with the system's ion count and
    electroneutral valences, every localcond log key (:func:`core.electrolyte.trajectory_log`), frames every
    write_period steps, positions wrapped into the box with image flags that follow every face crossing,
    bonds of type ``pair`` between unlike ions."""
    import gsd.hoomd

    from core.electrolyte import trajectory_log
    from core.species import ion_species

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
        from core.trajectory import read_frames

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


SIMULATOR_CHECKS: tuple[Check, ...] = (check_gsd_conventions,)


# -------------------------------------------------------------------------------------- analysis checks

def check_writes_what_it_declares(plugin: AnalysisPlugin) -> None:
    """On a small finished run (:func:`synthetic_run_inputs`), every figure and table the result names is a
    non-empty file, and its numbers are JSON."""
    import json

    with tempfile.TemporaryDirectory() as directory:
        result = plugin.run(synthetic_run_inputs(), Path(directory))
        for name in [*result.figures, *result.tables]:
            path = Path(directory) / name
            assert path.is_file() and path.stat().st_size > 0, f"{plugin.name}: declared {name} but did not write it"
        json.dumps(result.numbers, allow_nan=True)


ANALYSIS_CHECKS: tuple[Check, ...] = (check_writes_what_it_declares,)

CHECKS_BY_KIND: dict[str, tuple[Check, ...]] = {"descriptor": DESCRIPTOR_CHECKS, "model": MODEL_CHECKS,
                                                "simulator": SIMULATOR_CHECKS, "analysis": ANALYSIS_CHECKS}


def checks_for(plugin: Plugin) -> tuple[Check, ...]:
    """Every conformance check of ``plugin``'s kind, and those of the capabilities it declares
    (``fits_local_labels`` for a model)."""
    checks = CHECKS_BY_KIND[plugin.kind]
    if plugin.kind == "model" and getattr(plugin, "fits_local_labels", False):
        checks = (*checks, check_local_labels_pin_down_what_system_means_cannot)
    return checks


def parametrize_with_checks(plugins: list[Plugin]):
    """``pytest.mark.parametrize("plugin, check", ...)`` over every (plugin, check of its kind) pair."""
    import pytest

    cases = [(plugin, check) for plugin in plugins for check in checks_for(plugin)]
    ids = [f"{plugin.name}-{check.__name__.removeprefix('check_')}" for plugin, check in cases]
    return pytest.mark.parametrize("plugin, check", cases, ids=ids)


# ------------------------------------------------------------------------------- the in-process runner

@dataclass
class RunResult:
    """A finished in-process run: its work directory, outcomes and the run-level tables, read back."""

    workdir: Path
    outcomes: list = field(default_factory=list)
    resolved: Any = None
    registry: Any = None

    @property
    def ok(self) -> bool:
        return all(outcome.ok for outcome in self.outcomes)

    @property
    def failures(self) -> list[str]:
        return [f"{o.operation} {o.label}: {o.error}" for o in self.outcomes if not o.ok]

    @functools.cached_property
    def transport(self) -> list[dict[str, str]]:
        return _read_csv(self.workdir / "transport.csv")

    @functools.cached_property
    def predictions(self) -> list[dict[str, str]]:
        return _read_csv(self.workdir / "predictions.csv")

    def analysis_inputs(self) -> AnalysisInputs:
        """What the run offers analyses, as the analyze stage gathers it (the recipe needs an analysis)."""
        from core.manifest import read_manifest
        from core.planner import build_plan
        from core.registry import injected_registry
        from core.stages.analyze import gather_inputs

        with injected_registry(self.registry):
            plan = build_plan(self.resolved)
        analysis = next((task for task in plan.tasks if task.stage == "analyze"), None)
        if analysis is None:
            raise ValueError(f"{self.workdir}: the recipe has no analysis, so no analysis inputs were gathered")
        artifacts = read_manifest(self.workdir)["artifacts"]
        paths = {key: self.workdir / entry["path"] for key, entry in artifacts.items() if entry.get("path")}
        return gather_inputs(analysis, paths)


def _read_csv(path: Path) -> list[dict[str, str]]:
    import csv

    if not path.is_file():
        return []
    with open(path) as handle:
        return list(csv.DictReader(handle))


class LocalcondRunner:
    """Runs recipes in this process with a registry of the built-ins plus the plugins a test registers.

    ``directory``: where work directories and synthetic input files go (a test's ``tmp_path``).
    """

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._classes: list[type[Plugin]] = []

    def register(self, *plugin_classes: type[Plugin]) -> None:
        """Add plugin classes (any kind) to the registry the runs use; nothing needs installing."""
        self._classes += plugin_classes

    @property
    def registry(self):
        """The built-ins and the registered classes (built once per distinct set of classes)."""
        return _registry_with(tuple(self._classes))

    def run(self, recipe: dict[str, Any], name: str = "run") -> RunResult:
        """Validate ``recipe`` (a dict as the YAML would hold) against this registry and run it serially."""
        import yaml

        from core.recipe.loader import load_recipe
        from core.registry import injected_registry
        from core.pipeline import run_recipe

        registry = self.registry
        recipe = {**recipe, "executor": {"kind": "serial"}, "workdir": str(self.directory / name)}
        path = self.directory / f"{name}.yaml"
        path.write_text(yaml.safe_dump(recipe, sort_keys=False))
        with injected_registry(registry):
            resolved = load_recipe(path, registry)
            summary = run_recipe(resolved, Path(recipe["workdir"]))
        return RunResult(summary.workdir, summary.outcomes, resolved, registry)

    def synthetic_recipe(self, *, descriptor: str = "radial-shells", model: str = "ridge",
                         analyses: tuple[str, ...] = (), descriptor_options: dict | None = None,
                         model_options: dict | None = None) -> dict[str, Any]:
        """A recipe of three imported systems of Brownian ions (written here), with a known Λ ordering.

        Runs in seconds: the ``trajectories`` simulator reads GSD files of independent walkers whose
        diffusion coefficients differ per system, then transport, ``descriptor``, ``model``, ``analyses``.
        """
        data = self.directory / "synthetic-trajectories"
        write_synthetic_trajectories(data)
        return {
            "name": "synthetic",
            "systems": {"replicas": 2, "n_particles": 200, "density": 0.2, "seed": 1,
                        "grid": [{"concentration": [0.02], "bjerrum_length": [1.0, 2.0, 3.0]}]},
            "simulation": {"plugin": "trajectories", "options": {"pattern": str(data / "lB{bjerrum_length}_"
                                                                                        "r{replica}.gsd")}},
            "descriptor": {"plugin": descriptor, "options": descriptor_options or {},
                           "snapshots": {"max_environments": 200, "stride": 10}},
            "model": {"plugin": model, "options": model_options or {}},
            "split": {"test_fraction": 0.0, "n_folds": 3, "seeds_per_fold": 1},
            "analyses": [{"plugin": name} for name in analyses],
        }


def write_random_walks(path: Path, typeid: np.ndarray, diffusion: np.ndarray, length: float, frames: int,
                       interval: float, rng: np.random.Generator, *, valence: np.ndarray | None = None,
                       drift: float = 0.0, riders: tuple[np.ndarray, np.ndarray] | None = None) -> None:
    """A localcond GSD file of independent random walks with a known answer (D_i per particle).

    typeid: (N,) 0 cation, 1 anion, 2 solvent; diffusion: (N,) σ²/τ; a cubic box of ``length`` σ; a frame
    every ``interval`` τ (100 steps of 0.005 τ in the log's terms); starting points uniform, drawn from
    ``rng`` before the steps. ``drift``: σ/τ added to every step. ``riders``: (followers, leaders) index
    arrays; each follower takes its leader's steps (a rigid pair). ``valence``: (N,) z, else ±1.
    """
    from core.trajectory import LOG_KT, LOG_TIMESTEP, GSDWriter

    typeid = np.asarray(typeid, dtype=np.int32)
    position = rng.uniform(-length / 2, length / 2, (len(typeid), 3))
    with GSDWriter(path, {LOG_TIMESTEP: 0.005, LOG_KT: 1.0}) as writer:
        for index in range(frames):
            image = np.floor((position + length / 2) / length).astype(np.int32)
            writer.append(Frame(position - image * length, np.full(3, length), typeid, TYPES, image,
                                np.zeros((0, 2), np.int64), step=index * 100, time=index * interval,
                                valence=valence))
            step = rng.normal(size=position.shape) * np.sqrt(2 * diffusion * interval)[:, None] + drift * interval
            if riders is not None:
                step[riders[0]] = step[riders[1]]
            position = position + step


def write_synthetic_trajectories(directory: Path, frames: int = 120) -> None:
    """GSD files ``lB{1.0,2.0,3.0}_r{0,1}.gsd``: 20 cations, 20 anions, 160 solvent beads in a 10σ box,
    independent random walks with D = 0.5/l_B (so Λ falls with the label), frames every 0.5 τ."""
    directory.mkdir(parents=True, exist_ok=True)
    typeid = np.repeat([0, 1, 2], [20, 20, 160])
    for lb in (1.0, 2.0, 3.0):
        for replica in range(2):
            path = directory / f"lB{lb}_r{replica}.gsd"
            if not path.exists():
                write_random_walks(path, typeid, np.where(typeid < 2, 0.5 / lb, 1.0), 10.0, frames, 0.5,
                                   np.random.default_rng([int(lb), replica]))


@functools.lru_cache(maxsize=4)
def _registry_with(classes: tuple[type[Plugin], ...]):
    """The built-in plugins plus ``classes``, in a registry of its own (the installed one is left alone)."""
    import importlib

    from core.hookspecs import hookimpl
    from core.registry import PluginRegistry

    registry = PluginRegistry()
    for kind in ("simulators", "descriptors", "models", "analyses"):  # the built-ins' own entry points
        registry.register_module(importlib.import_module(f"plugins.{kind}"), package="localcond",
                                 name=f"localcond:builtin-{kind}")

    class Extra:
        @hookimpl
        def localcond_register_simulators(self, registry):
            return [c for c in classes if c.kind == "simulator"]

        @hookimpl
        def localcond_register_descriptors(self, registry):
            return [c for c in classes if c.kind == "descriptor"]

        @hookimpl
        def localcond_register_models(self, registry):
            return [c for c in classes if c.kind == "model"]

        @hookimpl
        def localcond_register_analyses(self, registry):
            return [c for c in classes if c.kind == "analysis"]

    if classes:
        registry.register_module(Extra(), package="test", name="localcond-testing:registered")
    return registry.collect()


@functools.lru_cache(maxsize=1)
def synthetic_run_inputs() -> AnalysisInputs:
    """The analysis inputs of a small finished run (three Brownian systems, radial shells, ridge), made once
    per process in a temporary directory that lives as long as the process."""
    directory = Path(tempfile.mkdtemp(prefix="localcond-synthetic-run-"))
    runner = LocalcondRunner(directory)
    run = runner.run(runner.synthetic_recipe(analyses=("parity",)))
    if not run.ok:
        raise RuntimeError(f"the synthetic run failed: {run.failures}")
    return run.analysis_inputs()


# ------------------------------------------------------------------------------------ the pytest plugin

try:
    import pytest
except ImportError:  # the kit's checks work without pytest; the fixture needs it
    pytest = None

if pytest is not None:
    @pytest.fixture
    def localcond_runner(tmp_path) -> LocalcondRunner:
        """A :class:`LocalcondRunner` working in the test's ``tmp_path``."""
        return LocalcondRunner(tmp_path)
