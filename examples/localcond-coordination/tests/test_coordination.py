"""The coordination descriptor, tested with localcond's plugin-author kit and without being installed."""

import numpy as np
import pytest

from core.testing import make_frame, parametrize_with_checks
from localcond_coordination.descriptor import Coordination


@parametrize_with_checks([Coordination(Coordination.Config()), Coordination(Coordination.Config(radii=[1.0, 2.5]))])
def test_conformance(plugin, check):
    """Shape against feature_names; rotation, translation, permutation and wrapping invariance."""
    check(plugin)


def test_known_counts():
    """A cation with an anion 0.2σ away across the box face and a cation at 2.5σ; a far anion."""
    plugin = Coordination(Coordination.Config(radii=[1.6, 3.0]))
    frame = make_frame(np.array([[-4.9, 0, 0], [4.9, 0, 0], [-2.4, 0, 0], [2.0, 4.0, 4.0]]),
                       np.array([0, 1, 0, 1]), 10.0)
    assert plugin.feature_names(frame.types) == ["unlike_within_1.6", "unlike_within_3", "like_within_1.6",
                                                 "like_within_3", "nearest_unlike"]
    np.testing.assert_allclose(plugin.compute(frame, np.array([0]))[0], [1, 1, 0, 1, 0.2], atol=1e-6)


def test_in_a_pipeline(localcond_runner):
    """Imported Brownian systems → transport → this descriptor → ridge → parity, in this process."""
    pytest.importorskip("sklearn")
    localcond_runner.register(Coordination)
    run = localcond_runner.run(localcond_runner.synthetic_recipe(descriptor="coordination", analyses=("parity",)))
    assert run.ok, run.failures
    assert len(run.predictions) == 3
    stores = run.analysis_inputs().feature_stores
    assert len(stores) == 3
