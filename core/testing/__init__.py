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
  a known linear local function. Simulators: the GSD conventions of :class:`core.plugin_system.plugin_api.SimulatorPlugin`.
  Analyses: they write what they declare, on a small finished run. Capabilities a plugin declares add
  their checks (:data:`CAPABILITIES`): ``continuation`` (a simulator's ``supports_continuation``: an extension
  continues the run), ``local labels`` (a model's ``fits_local_labels``: per-environment labels recover
  what system means cannot), ``local variance`` (members with ``local_variance``: a variance, kept by
  save/load). ``expected_failures={"my-plugin": {"rotation_invariance": "why"}}`` marks known failures
  ``xfail(strict=True)``, after scikit-learn's ``expected_failed_checks``.
- the ``localcond_runner`` fixture (after pytest's ``Pytester``): a :class:`LocalcondRunner` whose
  registry holds the built-in plugins plus those the test registers, injected for the duration of a run
  that happens in this process (serial executor), or given to every worker of a Dask ``LocalCluster``
  (``run(recipe, executor="local")``; classes defined in the test travel by value)::

      def test_my_descriptor_in_a_pipeline(localcond_runner):
          localcond_runner.register(Coordination)
          run = localcond_runner.run(localcond_runner.synthetic_recipe(descriptor="coordination"))
          assert run.ok and len(run.transport) == 3

- :class:`ExactElectrolyte` (with :func:`exchange`, :func:`rattle`, :func:`exchange_and_rattle` and
  :func:`write_frames`): GSD trajectories of stochastic salts whose long-time Λ, D and charge MSD are exact,
  for testing a label estimator (docs/transport.md derives them).
- :class:`RigidClusters` (with :func:`class_fractions` and :func:`expected_contributions`): rigid free ions, neutral pairs and charged
  triples whose conductivity per class of environment is exact, for testing a mechanism decomposition.
- :func:`transport_of` and :func:`prediction_of`: typed results from the few columns a test cares about, for
  an analysis's ``per_system`` on a hand-made :class:`core.api.SystemView`.
"""

from core.testing.checks import (ANALYSIS_CHECKS, CAPABILITIES, CHECKS_BY_KIND, DESCRIPTOR_CHECKS, MODEL_CHECKS,
                                 SIMULATOR_CHECKS, Check, capabilities, check_a_lonely_ion_has_finite_features,
                                 check_continuation_continues_the_run, check_feature_names_match_the_features,
                                 check_fit_returns_self, check_gsd_conventions, check_local_variance_is_a_variance,
                                 check_local_labels_pin_down_what_system_means_cannot, check_permutation_invariance,
                                 check_predict_local_gives_one_finite_k_per_environment, check_rotation_invariance,
                                 check_save_load_round_trip_predicts_the_same,
                                 check_system_means_follow_a_linear_local_function,
                                 check_translation_and_wrapping_invariance, check_writes_what_it_declares, checks_for,
                                 parametrize_with_checks)
from core.testing.exact_electrolytes import ExactElectrolyte, exchange, exchange_and_rattle, rattle, write_frames
from core.testing.results import prediction_of, transport_of
from core.testing.rigid_clusters import RigidClusters, class_fractions, expected_contributions
from core.testing.runner import LocalcondRunner, RunResult, synthetic_run_inputs
from core.testing.synthetic import (LINEAR, TYPES, make_frame, random_liquid, synthetic_learning_data, tiny_job,
                                    write_random_walks, write_synthetic_trajectories)

__all__ = [
    "parametrize_with_checks", "checks_for", "capabilities", "CAPABILITIES", "Check", "CHECKS_BY_KIND", "DESCRIPTOR_CHECKS", "MODEL_CHECKS",
    "SIMULATOR_CHECKS", "ANALYSIS_CHECKS", "check_feature_names_match_the_features", "check_rotation_invariance",
    "check_translation_and_wrapping_invariance", "check_permutation_invariance",
    "check_a_lonely_ion_has_finite_features", "check_fit_returns_self",
    "check_predict_local_gives_one_finite_k_per_environment", "check_save_load_round_trip_predicts_the_same",
    "check_system_means_follow_a_linear_local_function", "check_local_labels_pin_down_what_system_means_cannot",
    "check_gsd_conventions", "check_writes_what_it_declares", "check_continuation_continues_the_run",
    "check_local_variance_is_a_variance", "LocalcondRunner", "RunResult",
    "synthetic_run_inputs", "TYPES", "LINEAR", "make_frame", "random_liquid", "synthetic_learning_data",
    "tiny_job", "write_random_walks", "write_synthetic_trajectories", "transport_of", "prediction_of",
    "ExactElectrolyte", "exchange", "rattle", "exchange_and_rattle", "write_frames", "RigidClusters",
    "expected_contributions", "class_fractions",
]
