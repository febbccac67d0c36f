"""The three SOAP plugins carry the same information, measured on environments of a simulated electrolyte.

Their definitions differ (radial basis, cutoff smoothing, normalisation; see
each plugin's module docstring), so values cannot agree; a linear map from one
to the other must still explain almost all of the other's variance on
environments it was not fitted on. Where two plugins share smoothing and
density (featomic's and quippy's defaults: a 0.5σ shifted cosine), quippy's
spectrum is a linear image of featomic's to within rounding. No two of the
libraries share a radial basis, so no two agree value for value.
"""

from __future__ import annotations


import numpy as np
import pytest

pytest.importorskip("openmm", reason="OpenMM is not installed (pip install 'localcond[openmm]')")
pytest.importorskip("sklearn", reason="scikit-learn is not installed (pip install 'localcond[sklearn]')")

from core.datatypes import SimulationJob, SystemSpec, TaskContext  # noqa: E402
from core.plugin_system.registry import get_registry  # noqa: E402
from core.md.trajectory import read_frames  # noqa: E402
from tests.model_systems import settings  # noqa: E402

#: Equal descriptors at the paper's settings (r_cut 5σ, n_max 6, l_max 5, σ_density 1σ).
SOAP = {"dscribe": ("soap-dscribe", {}), "featomic": ("soap-featomic", {}), "quippy": ("soap-quippy", {})}


@pytest.fixture(scope="module")
def electrolyte_frames(tmp_path_factory: pytest.TempPathFactory) -> list:
    """39 frames of a 3000-bead electrolyte at c = 0.05σ⁻³, l_B = 5σ: 15 000 ion environments (LAMMPS, the
    recipes' engine; OpenMM where LAMMPS is not installed)."""

    directory = tmp_path_factory.mktemp("soap-agreement")
    system = SystemSpec("c0.05_lB5", 0.05, 5.0, 0.0, 3000, 0.8, 1, 3)
    job = SimulationJob(system, 0, system.replica_seed(0),
                        settings(steps=4000, equilibration_steps=1000, write_period=100), directory / "traj.gsd")
    engine = "lammps" if get_registry().info("simulator", "lammps").available else "openmm"
    get_registry().instantiate("simulator", engine, {}).simulate(
        job, TaskContext(threads=2, scratch_dir=directory, label="agreement"))
    return list(read_frames(job.trajectory_path))[1:]


@pytest.fixture(scope="module")
def soap_features(electrolyte_frames: list) -> dict[str, np.ndarray]:
    """Per configuration in :data:`SOAP`, (n_frames, n_ions, 468) features of every ion."""
    registry = get_registry()
    out = {}
    for key, (name, options) in SOAP.items():
        if not registry.info("descriptor", name).available:
            continue
        descriptor = registry.instantiate("descriptor", name, options)
        out[key] = np.stack([descriptor.compute(frame, frame.ion_indices) for frame in electrolyte_frames])
    return out


def held_out_r2(source: np.ndarray, target: np.ndarray) -> float:
    """Fraction of ``target``'s variance a ridge map from ``source`` explains on frames it was not fitted on.

    ``source``, ``target``: (n_frames, n_ions, dim) features of the same
    environments; the map (standardised inputs, cross-validated penalty) is
    fitted on the first ¾ of the frames and scored on the rest, R² pooled over
    the target's columns (variance-weighted).
    """
    from sklearn.linear_model import RidgeCV
    from sklearn.preprocessing import StandardScaler

    split = 3 * len(source) // 4
    x_train, x_test = (np.asarray(part, dtype=np.float64).reshape(-1, source.shape[-1])
                       for part in (source[:split], source[split:]))
    y_train, y_test = (np.asarray(part, dtype=np.float64).reshape(-1, target.shape[-1])
                       for part in (target[:split], target[split:]))
    x_scale = StandardScaler().fit(x_train)
    ridge = RidgeCV(alphas=np.logspace(-6, 0, 7)).fit(x_scale.transform(x_train), y_train)
    residual = y_test - ridge.predict(x_scale.transform(x_test))
    return 1.0 - float(np.sum(residual ** 2) / np.sum((y_test - y_test.mean(axis=0)) ** 2))


def require(features: dict[str, np.ndarray], *keys: str) -> None:
    missing = [SOAP[key][0] for key in keys if key not in features]
    if missing:
        pytest.skip(f"descriptor plugins unavailable here: {', '.join(missing)}")


@pytest.mark.parametrize(("first", "second"), [("dscribe", "featomic"), ("dscribe", "quippy"),
                                               ("featomic", "quippy")])
def test_soap_plugins_carry_the_same_information(soap_features: dict[str, np.ndarray], first: str,
                                                 second: str) -> None:
    require(soap_features, first, second)
    a, b = soap_features[first], soap_features[second]
    assert a.shape == b.shape and a.shape[-1] == 468
    forward, backward = held_out_r2(a, b), held_out_r2(b, a)
    assert forward > 0.95 and backward > 0.95, (forward, backward)


def test_same_smoothing_makes_quippy_a_linear_image_of_featomic(soap_features: dict[str, np.ndarray]) -> None:
    # Both default to a 0.5σ shifted-cosine switch, a unit-weight centre and 1σ Gaussians.
    require(soap_features, "featomic", "quippy")
    assert held_out_r2(soap_features["featomic"], soap_features["quippy"]) > 0.9999

