"""The shipped recipes validate and state the paper's numbers."""

from __future__ import annotations

import yaml

from plugins.descriptors.soap_dscribe import SOAPConfig

from tests.conftest import HERE, cli, write_recipe

RECIPES = HERE.parent / "recipes"


def test_paper_recipe_is_the_papers_setup():
    result = cli("validate", str(RECIPES / "paper.yaml"), "--anywhere")
    assert result.returncode == 0, result.stderr
    assert "108 systems (0 test-only)" in result.stdout and "648 simulate" in result.stdout
    assert "26 learn" in result.stdout  # 25 members (5 folds × 5 seeds) and the ensemble prediction
    resolved = yaml.safe_load(cli("validate", str(RECIPES / "paper.yaml"), "--anywhere", "--resolved").stdout)
    simulation = resolved["simulation"]
    assert (simulation["steps"], simulation["timestep"], simulation["kT"]) == (10_000_000, 0.005, 1.0)
    assert abs(simulation["wca_cutoff"] - 2 ** (1 / 6)) < 1e-12
    assert (resolved["systems"]["n_particles"], resolved["systems"]["density"], resolved["systems"]["replicas"]) \
        == (40_000, 0.8, 6)
    grid = resolved["systems"]["grid"][0]
    assert len(grid["concentration"]) == 12 and min(grid["concentration"]) == 0.0005
    assert max(grid["concentration"]) == 0.05
    assert len(grid["bjerrum_length"]) == 9 and (min(grid["bjerrum_length"]), max(grid["bjerrum_length"])) == (2.5, 10)
    assert resolved["descriptor"]["options"] == {"r_cut": 5.0, "n_max": 6, "l_max": 5, "sigma": 1.0,
                                                 "include_solvent": False, "rbf": "gto"}   # the paper's SOAP, whole
    assert resolved["descriptor"]["snapshots"]["max_environments"] == 25_000
    assert (resolved["split"]["test_fraction"], resolved["split"]["n_folds"], resolved["split"]["seeds_per_fold"]) \
        == (0.1, 5, 5)
    assert resolved["executor"]["kind"] == "slurm"


def test_external_validity_recipe_holds_out_the_sixteen_paired_systems():
    result = cli("validate", str(RECIPES / "external-validity.yaml"), "--anywhere")
    assert result.returncode == 0, result.stderr
    assert "124 systems (16 test-only)" in result.stdout


def test_anywhere_still_rejects_unknown_plugins_and_bad_options(tmp_path):
    recipe = yaml.safe_load((RECIPES / "paper.yaml").read_text())
    recipe["simulation"]["options"]["device"] = "tpu"
    result = cli("validate", str(write_recipe(tmp_path / "bad.yaml", recipe)), "--anywhere")
    assert result.returncode == 2 and "simulation.options.device" in result.stderr
    recipe["simulation"] = {"plugin": "gromacs"}
    result = cli("validate", str(write_recipe(tmp_path / "bad2.yaml", recipe)), "--anywhere")
    assert result.returncode == 2 and "unknown simulator plugin 'gromacs'" in result.stderr


def test_ablation_recipe_pairs_every_descriptor_with_both_learners():
    result = cli("validate", str(RECIPES / "ablation-descriptors.yaml"), "--anywhere")
    assert result.returncode == 0, result.stderr
    assert "9 systems" in result.stdout and "18 simulate" in result.stdout and "45 featurize" in result.stdout


def test_laptop_recipe_gives_every_system_an_out_of_sample_prediction():
    result = cli("validate", str(RECIPES / "laptop.yaml"))
    assert result.returncode == 0, result.stderr
    assert "20 systems (0 test-only)" in result.stdout and "40 simulate" in result.stdout
    resolved = yaml.safe_load(cli("validate", str(RECIPES / "laptop.yaml"), "--resolved").stdout)
    systems, split = resolved["systems"], resolved["split"]
    box = (systems["n_particles"] / systems["density"]) ** (1 / 3)
    assert resolved["descriptor"]["plugin"] == "soap-dscribe"
    r_cut = SOAPConfig(**resolved["descriptor"]["options"]).r_cut
    assert box > 2 * r_cut  # no neighbour, nor the centre, is seen twice through a periodic image
    smallest = min(c for group in systems["grid"] for c in group["concentration"])
    assert round(smallest * systems["n_particles"] / systems["density"]) >= 10  # ion pairs per box
    assert split["outer_folds"] == 5 and resolved["executor"]["kind"] == "local"
    assert {"parity", "cluster-nernst-einstein"} <= {a["plugin"] for a in resolved["analyses"]}
