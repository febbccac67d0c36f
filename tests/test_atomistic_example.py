"""The atomistic example end to end (examples/atomistic): LAMMPS data and dump files of Mg(X)₂, a 2:1 salt
of molecular anions with partial charges, wrapped coordinates with image flags, in Å with a frame every
2 ps, through the ``trajectories`` simulator, transport, SOAP, a learner and every analysis.

Checked against what is known: Λ per formula unit is the generator's exact value (within the reported
error); the carriers are the 48 ions, not the 112 ion atoms; the pipeline's transport equals the
``transport`` command's on the same files; and the mean of the learned k over each system's carriers
is the system's predicted Λ."""

from __future__ import annotations

import csv
import importlib.util
import json
import math
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml

from tests.conftest import HERE, cli, write_recipe

EXAMPLE = HERE.parent / "examples" / "atomistic"


def make_files():
    spec = importlib.util.spec_from_file_location("make_files", EXAMPLE / "make_files.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def example_run(tmp_path_factory) -> tuple[Path, Path]:
    for module in ("MDAnalysis", "dscribe", "sklearn"):
        pytest.importorskip(module, reason=f"{module} is not installed (pip install 'localcond[all]')")
    root = tmp_path_factory.mktemp("atomistic")
    files = make_files()
    for fraction in files.PAIRED_FRACTIONS:
        files.write_system(root / "data" / f"p{fraction}", fraction, replicas=2, frames=200)
    recipe = yaml.safe_load((EXAMPLE / "recipe.yaml").read_text())
    recipe["workdir"] = str(root / "run")
    for key in ("pattern", "topology"):
        recipe["simulation"]["options"][key] = recipe["simulation"]["options"][key].replace(
            "data/atomistic", str(root / "data"))
    recipe["descriptor"]["snapshots"]["max_environments"] = 400
    recipe["model"] = {"plugin": "ridge"}
    path = write_recipe(root / "atomistic.yaml", recipe)
    result = cli("run", str(path), timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return root, root / "run"


def rows(path: Path) -> list[dict]:
    with open(path) as handle:
        return list(csv.DictReader(handle))


def test_transport_counts_carriers_and_gives_the_known_molar_conductivity(example_run):
    root, workdir = example_run
    files = make_files()
    transport = rows(workdir / "transport.csv")
    assert len(transport) == 4
    for row in transport:
        fraction = float(row["paired_fraction"])
        assert (float(row["z_plus"]), float(row["z_minus"])) == (2.0, -1.0)
        assert row["molar_conductivity_basis"] == "formula unit"
        assert "cation (z=+2, 16 ions), anion (z=-1, 32 ions)" == row["ions"]
        volume = (files.LENGTH / 3.0) ** 3
        assert float(row["formula_concentration"]) == pytest.approx(16 / volume, rel=1e-6)
        known = files.known_molar_conductivity(fraction)
        value, error = float(row["molar_conductivity"]), float(row["molar_conductivity_err"])
        assert value == pytest.approx(known, abs=4 * error), (fraction, value, error, known)
    replicas = rows(workdir / "transport_replicas.csv")
    assert {int(r["n_cations"]) for r in replicas} == {16} and {int(r["n_anions"]) for r in replicas} == {32}


def test_the_pipeline_and_the_transport_command_agree_on_the_same_files(example_run):
    root, workdir = example_run
    row = next(r for r in rows(workdir / "transport.csv") if float(r["paired_fraction"]) == 0.375)
    data = root / "data" / "p0.375"
    command = cli("transport", str(data / "run0.lammpstrj"), str(data / "run1.lammpstrj"), "--topology",
                  str(data / "system.data"), "--cation", "type 1", "--anion", "type 2 3", "--group", "residue",
                  "--frame-interval", "2.0", "--length-scale", str(1 / 3), "--fit", row["fit_t0"], row["fit_t1"],
                  "--json")
    assert command.returncode == 0, command.stderr
    pooled = json.loads(command.stdout)["pooled"]
    for key in ("D_p", "D_m", "kappa", "molar_conductivity", "L_pm"):
        assert pooled[key] == pytest.approx(float(row[key]), rel=1e-6), key


def test_learned_k_is_per_carrier_and_its_system_mean_is_the_predicted_molar_conductivity(example_run):
    _, workdir = example_run
    store = next((workdir / "featurize").rglob("features.h5"))
    with h5py.File(store) as handle:
        signs = handle["environments/charge_sign"][:]
        snapshot = handle["environments/replica"][:] * 100_000 + handle["environments/frame"][:]
    per_frame = np.bincount(np.unique(snapshot, return_inverse=True)[1])
    assert set(per_frame.tolist()) <= {48}  # 16 Mg²⁺ and 32 X⁻ carriers per snapshot, not their 112 atoms
    assert np.count_nonzero(signs < 0) == 2 * np.count_nonzero(signs > 0)
    predictions = {r["system"]: r for r in rows(workdir / "predictions.csv")}
    assert len(predictions) == 4
    for local_path in (workdir / "predict").rglob("local/*.npz"):
        k = np.load(local_path)["k_mean"]
        assert np.all(np.isfinite(k))  # every carrier gets a k (no bonded pairs in imported files)
        row = predictions[local_path.stem]
        assert float(np.mean(k)) == pytest.approx(float(row["predicted"]), rel=1e-6)
        assert float(row["true"]) > 0


def test_every_analysis_ran_and_the_report_names_the_ions(example_run):
    _, workdir = example_run
    for figure in ("parity", "heterogeneity", "local_distribution", "spatial_correlation", "onsager_relations",
                   "cluster_nernst_einstein"):
        assert list((workdir / "analyze").rglob(f"{figure}.png")), figure
    cluster = rows(next((workdir / "analyze").rglob("cluster_nernst_einstein.csv")))
    assert all(math.isfinite(float(r["cluster_nernst_einstein"])) for r in cluster)
    assert (workdir / "report.html").stat().st_size > 0
