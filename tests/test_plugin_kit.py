"""The plugin-author kit (core.testing) on the built-in plugins, and against plugins that break its rules.

Every built-in descriptor, model, simulator and analysis passes its kind's conformance checks; a
descriptor that is not rotation invariant, a model whose ``fit`` returns something else and one that
forgets what it learned when saved, a simulator that writes no image flags, and an analysis that names a
file it did not write each fail the check that concerns them. The plugins of tests/plugin_pkg (one of
every kind) pass uninstalled. The in-process runner runs a pipeline with a plugin the test defines, which
is installed nowhere.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.api import (AnalysisResult, DescriptorPlugin, Frame, GSDWriter, ModelPlugin, PluginConfig, SimulatorPlugin,
                      trajectory_log)
from core.plugin_system.registry import installed_registry
from core.testing import (capabilities, check_continuation_continues_the_run, check_fit_returns_self,
                          check_gsd_conventions, check_rotation_invariance,
                          check_save_load_round_trip_predicts_the_same, check_writes_what_it_declares,
                          parametrize_with_checks)

BUILTIN_OPTIONS = {
    ("descriptor", "soap-dscribe"): [{}, {"include_solvent": True, "n_max": 4, "l_max": 3}],
    ("descriptor", "soap-featomic"): [{}, {"include_solvent": True, "cutoff_smoothing": "shifted-cosine"}],
    ("descriptor", "soap-quippy"): [{}, {"include_solvent": True, "n_max": 4, "l_max": 3}],
    ("descriptor", "radial-shells"): [{}, {"include_solvent": True}],
    ("model", "ridge"): [{}],
    ("model", "nn-ensemble"): [{"max_epochs": 60, "patience": 20, "hidden": [16], "learning_rate": 0.01}],
    ("simulator", "openmm"): [{}],
    ("simulator", "hoomd"): [{}],
    ("simulator", "lammps"): [{}],
}


def available(kind: str) -> list:
    """Instances of every available built-in plugin of ``kind`` (analyses with their default options)."""
    registry = installed_registry()
    out = []
    for info in registry.plugins(kind):
        if info.package != "localcond" or not info.available:
            continue
        for options in BUILTIN_OPTIONS.get((kind, info.name), [{}] if kind == "analysis" else []):
            out.append(registry.instantiate(kind, info.name, options))
    return out


@parametrize_with_checks(available("descriptor") + available("model"))
def test_builtin_descriptors_and_models_conform(plugin, check) -> None:
    check(plugin)


@parametrize_with_checks(available("simulator"))
def test_builtin_simulators_write_the_gsd_conventions(plugin, check) -> None:
    check(plugin)


@parametrize_with_checks(available("analysis"))
def test_builtin_analyses_write_what_they_declare(plugin, check) -> None:
    check(plugin)


def third_party() -> list:
    """The plugins of tests/plugin_pkg (one of every kind), imported from its source tree, not installed."""
    import sys

    from tests.conftest import PLUGIN_PACKAGE

    sys.path.insert(0, str(PLUGIN_PACKAGE))
    try:
        from localcond_testplugins.plugins import Brownian, MeanLinear, ShellCounts, Summary
    finally:
        sys.path.remove(str(PLUGIN_PACKAGE))
    return [plugin(plugin.Config()) for plugin in (Brownian, ShellCounts, MeanLinear, Summary)]


@parametrize_with_checks(third_party())
def test_a_third_party_package_conforms_uninstalled(plugin, check) -> None:
    check(plugin)


class Lopsided(DescriptorPlugin):
    """x of the nearest unlike ion, relative to the centre: translation invariant, not rotation invariant."""

    name = "lopsided"
    version = "0"
    Config = PluginConfig

    def feature_names(self, types):
        return ["dx"]

    def compute(self, frame, centers):
        sign = frame.ion_sign
        out = []
        for centre in centers:
            others = np.flatnonzero(sign == -sign[centre])
            delta = frame.positions[others] - frame.positions[centre]
            delta -= frame.box * np.round(delta / frame.box)
            out.append([delta[np.argmin(np.linalg.norm(delta, axis=1)), 0]])
        return np.array(out)


class Forgetful(ModelPlugin):
    """``fit`` returns a copy, and ``load`` returns a fresh model: both rules broken."""

    name = "forgetful"
    version = "0"
    Config = PluginConfig
    stochastic = False

    class Model:
        def __init__(self):
            self.mean_ = 0.0

        def fit(self, train, validation=None):
            copy = Forgetful.Model()
            copy.mean_ = float(np.mean(train.target))
            self.mean_ = copy.mean_
            return copy

        def predict_local(self, features):
            return np.full(len(features), self.mean_)

        def save(self, directory: Path) -> None:
            pass

    def create(self, seed, threads):
        return Forgetful.Model()

    def load(self, directory):
        return Forgetful.Model()


class Imageless(SimulatorPlugin):
    """Writes every localcond log key and the right ions, but wrapped positions with zero image flags."""

    name = "imageless"
    version = "0"
    Config = PluginConfig

    def simulate(self, job, context):
        from core.md.electrolyte import build_topology, initial_positions

        topology = build_topology(job.system)
        rng = np.random.default_rng(0)
        position = initial_positions(topology, job.seed)
        length = topology.box_length
        with GSDWriter(job.trajectory_path, trajectory_log(job.system, job.settings, job.seed)) as writer:
            for index in range(job.settings.steps // job.settings.write_period + 1):
                wrapped = position - length * np.floor((position + length / 2) / length)
                writer.append(Frame(wrapped, np.full(3, length), topology.typeid, ("cation", "anion", "solvent"),
                                    np.zeros_like(wrapped, dtype=np.int32), topology.bonds,
                                    step=index * job.settings.write_period, time=0.0, valence=topology.valence))
                position = position + rng.normal(scale=0.3, size=position.shape)
        return {}


class Amnesiac(Imageless):
    """Declares it can continue a run, writes frames at the right steps with image flags and a final state,
    but an extension starts from fresh positions."""

    name = "amnesiac"
    supports_continuation = True

    def simulate(self, job, context):
        from core.api import build_topology, initial_positions, wrap

        topology = build_topology(job.system)
        rng = np.random.default_rng(0)
        position = initial_positions(topology, job.seed + (1 if job.continue_from else 0))
        length = topology.box_length
        period = job.settings.write_period
        first = job.start_step + period if job.continue_from else 0
        with GSDWriter(job.trajectory_path, trajectory_log(job.system, job.settings, job.seed)) as writer:
            for step in range(first, job.start_step + job.settings.steps + 1, period):
                wrapped, image = wrap(position, length)
                writer.append(Frame(wrapped, np.full(3, length), topology.typeid, ("cation", "anion", "solvent"),
                                    image, topology.bonds, step=step, time=step * job.settings.timestep,
                                    valence=topology.valence))
                position = position + rng.normal(scale=0.1, size=position.shape)
        (job.trajectory_path.parent / "final_state.bin").write_bytes(b"state")
        return {}


class Boastful:
    """An analysis that names a figure it never writes."""

    name = "boastful"

    def run(self, inputs, output_dir):
        return AnalysisResult(title="boast", figures=["nothing.png"])


@pytest.mark.parametrize("check, plugin, message", [
    (check_rotation_invariance, Lopsided(PluginConfig()), "not rotation invariant"),
    (check_fit_returns_self, Forgetful(PluginConfig()), "fit must return the model itself"),
    (check_save_load_round_trip_predicts_the_same, Forgetful(PluginConfig()), "save/load changes predictions"),
    (check_writes_what_it_declares, Boastful(), "declared nothing.png"),
    (check_gsd_conventions, Imageless(PluginConfig()), "image flags miss"),
    (check_continuation_continues_the_run, Amnesiac(PluginConfig()), "did not continue the run"),
])
def test_each_check_fails_a_plugin_that_breaks_its_rule(check, plugin, message) -> None:
    with pytest.raises(AssertionError, match=message):
        check(plugin)


def test_the_runner_runs_a_pipeline_with_a_plugin_installed_nowhere(localcond_runner) -> None:
    """A descriptor defined in this test, registered in-process: transport, features and learning run."""
    pytest.importorskip("sklearn")

    class Distances(DescriptorPlugin):
        name = "nearest-distances"
        version = "0"
        Config = PluginConfig

        def feature_names(self, types):
            return ["nearest_like", "nearest_unlike"]

        def compute(self, frame, centers):
            sign = frame.ion_sign
            ions = frame.ion_indices
            out = []
            for centre in centers:
                delta = frame.positions[ions] - frame.positions[centre]
                delta -= frame.box * np.round(delta / frame.box)
                distance = np.linalg.norm(delta, axis=1)
                distance[ions == centre] = np.inf
                like = sign[ions] == sign[centre]
                out.append([distance[like].min(), distance[~like].min()])
            return np.array(out)

    assert "nearest-distances" not in [info.name for info in installed_registry().plugins("descriptor")]
    localcond_runner.register(Distances)
    recipe = localcond_runner.synthetic_recipe(descriptor="nearest-distances", analyses=("parity",))
    run = localcond_runner.run(recipe)
    assert run.ok, run.failures
    lambdas = [transport.molar_conductivity.value for transport in run.transport]
    # independent walkers with D = 0.5 / l_B: Λ = (D₊ + D₋) / kT = 1 / l_B
    np.testing.assert_allclose(lambdas, [1.0, 0.5, 1 / 3], rtol=0.15)
    assert len(run.predictions) == 3
    inputs = run.analysis_inputs()
    assert len(inputs.transport) == 3 and len(inputs.local_conductivities) == 3
    assert "nearest-distances" not in [info.name for info in installed_registry().plugins("descriptor")]
    # the same on a LocalCluster: its worker processes get the class (defined here, so sent by value)
    spread = localcond_runner.run(recipe, name="local", executor="local", workers=2)
    assert spread.ok, spread.failures
    for table in ("transport.csv", "predictions.csv", "metrics.json"):
        assert (spread.workdir / table).read_bytes() == (run.workdir / table).read_bytes(), table


def test_checks_follow_the_capabilities_a_plugin_declares() -> None:
    """Capability checks run only for plugins that declare the capability; the built-ins declare theirs."""
    registry = installed_registry()
    found = {info.name: capabilities(registry.instantiate(info.kind, info.name, BUILTIN_OPTIONS.get(
        (info.kind, info.name), [{}])[0])) for info in registry.plugins("model") + registry.plugins("simulator")
        if info.package == "localcond" and info.available and info.name != "trajectories"}
    assert found["ridge"] == found["nn-ensemble"] == {"local labels", "local variance"}
    assert found["openmm"] == {"continuation"}
    assert capabilities(Imageless(PluginConfig())) == frozenset()
    assert capabilities(Amnesiac(PluginConfig())) == {"continuation"}
    assert capabilities(Forgetful(PluginConfig())) == frozenset()


def test_expected_failures_are_strict_and_must_name_a_check() -> None:
    """After scikit-learn's ``expected_failed_checks``: a listed check is xfail(strict=True); a name that is no
    check of the plugin is an error, so a typo cannot hide a failure."""
    lopsided = Lopsided(PluginConfig())
    mark = parametrize_with_checks([lopsided], expected_failures={"lopsided": {"rotation_invariance": "1-D"}}).mark
    params = {p.values[1].__name__: p for p in mark.args[1]}
    strict = [m for m in params["check_rotation_invariance"].marks if m.name == "xfail"]
    assert strict and strict[0].kwargs == {"strict": True, "reason": "1-D"}
    assert not params["check_permutation_invariance"].marks
    with pytest.raises(ValueError, match="rotation_invariants"):
        parametrize_with_checks([lopsided], expected_failures={"lopsided": {"rotation_invariants": "typo"}})


@parametrize_with_checks([Lopsided(PluginConfig())],
                         expected_failures={"lopsided": {"rotation_invariance": "it reads x of the nearest unlike ion"}})
def test_a_known_failure_is_declared_not_skipped(plugin, check) -> None:
    check(plugin)
