"""Malformed recipes: exit 2, the file, the YAML path and what was expected; never a traceback."""

from __future__ import annotations

import pytest
import yaml

from tests.conftest import HERE, cli, small_recipe, write_recipe

RECIPES = HERE.parent / "recipes"


def run_validate(tmp_path, text: str):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    return path, cli("validate", str(path))


def check(result, *fragments: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)


def test_a_good_recipe_validates(plugin_site, tmp_path):
    path = write_recipe(tmp_path / "good.yaml", small_recipe())
    result = cli("validate", str(path))
    assert result.returncode == 0, result.stderr
    assert "6 systems" in result.stdout and "12 simulate" in result.stdout


def test_resolved_recipe_states_the_papers_defaults(plugin_site, tmp_path):
    path = write_recipe(tmp_path / "minimal.yaml", {"simulation": {"plugin": "brownian"}})
    result = cli("validate", str(path), "--resolved")
    assert result.returncode == 0, result.stderr
    for line in ("density: 0.8", "n_particles: 40000", "replicas: 6", "timestep: 0.005", "kT: 1.0",
                 "wca_cutoff: 1.122462048309373", "steps: 10000000", "test_fraction: 0.1", "n_folds: 5",
                 "seeds_per_fold: 5"):
        assert line in result.stdout, line
    assert "- 0.0005" in result.stdout and "- 0.05" in result.stdout and "- 10.0" in result.stdout


@pytest.mark.parametrize(("change", "fragments"), [
    ({"systems.replicas": "six"}, ["systems.replicas", "expected a valid integer", "'six'"]),
    ({"systems.replicaz": 3}, ["systems.replicaz", "unknown key", "did you mean 'replicas'"]),
    ({"descriptor.options": {"r_cutt": 2}}, ["descriptor.options.r_cutt", "unknown key", "r_cut"]),
    ({"descriptor.options": {"r_cut": "far"}}, ["descriptor.options.r_cut", "valid number"]),
    ({"descriptor.plugin": "shell-count"}, ["descriptor.plugin", "unknown descriptor plugin",
                                            "did you mean 'shell-counts'"]),
    ({"descriptor.plugin": "needs-engine"}, ["descriptor.plugin", "not available",
                                             "pip install localcond-no-such-engine"]),
    ({"executor": {"kind": "cloud"}}, ["executor.kind", "'local', 'serial', 'address' or 'slurm'"]),
    ({"split.outer_folds": 1}, ["split.outer_folds", "0 (off), 2 or more, or 'auto'"]),
    ({"executor": {"kind": "slurm", "slurm": {"walltime": "1 day"}}},
     ["executor.slurm.walltime", "'1 day' is not a SLURM time"]),
    ({"executor": {"kind": "slurm", "slurm": {"walltime": "0:30"}}},
     ["executor.slurm.walltime", "at least one minute"]),
    ({"executor": {"kind": "slurm", "slurm": {"memory": "lots"}}},
     ["executor.slurm.memory", "'lots' is not a memory size"]),
    ({"systems.grid": [{"concentration": [0.0005]}]}, ["systems.grid[0].concentration", "min_ions"]),
])
def test_each_malformed_recipe_names_the_path(plugin_site, tmp_path, change, fragments):
    path = write_recipe(tmp_path / "bad.yaml", small_recipe(**change))
    result = cli("validate", str(path))
    check(result, str(path), *fragments)
    assert cli("run", str(path), "--workdir", str(tmp_path / "w")).returncode == 2
    assert not (tmp_path / "w").exists(), "no work may start on an invalid recipe"


def test_a_fit_window_starting_past_half_the_production_run_is_refused(tmp_path):
    """quickstart.yaml's runs are 10 000 × 0.005 = 50 τ in 101 frames: a window may start by 25 τ, not later."""
    recipe = yaml.safe_load((RECIPES / "quickstart.yaml").read_text())
    recipe["transport"] = {"fit_window": [25.0, 45.0]}
    assert cli("validate", str(write_recipe(tmp_path / "edge.yaml", recipe))).returncode == 0
    recipe["transport"] = {"fit_window": [30.0, 45.0]}
    path = write_recipe(tmp_path / "late.yaml", recipe)
    check(cli("validate", str(path)), str(path), "transport.fit_window",
          "starts past half the shortest run (101 frames, 50 τ)", "a window must start by 25 τ")


def test_a_shares_horizon_that_leaves_the_run_no_frame_is_refused(tmp_path):
    """101 frames of 0.5 τ: a frame needs h frames on either side, so h ≤ 50 frames (h − δ = 49 frames, 24.5 τ)."""
    recipe = yaml.safe_load((RECIPES / "quickstart.yaml").read_text())
    recipe["transport"] = {"attribution_horizon": 24.5}
    assert cli("validate", str(write_recipe(tmp_path / "edge.yaml", recipe))).returncode == 0
    recipe["transport"] = {"attribution_horizon": 25.0}
    path = write_recipe(tmp_path / "late.yaml", recipe)
    check(cli("validate", str(path)), str(path), "transport.attribution_horizon", "101 frames",
          "the longest horizon it allows is 24.5 τ")
    recipe["transport"] = {"attribution_horizon": -1}
    path = write_recipe(tmp_path / "negative.yaml", recipe)
    check(cli("validate", str(path)), str(path), "transport.attribution_horizon", "positive number")


def test_missing_simulation_section(plugin_site, tmp_path):
    _, result = run_validate(tmp_path, "systems:\n  replicas: 2\n")
    check(result, "simulation", "required key is missing")


def test_bad_yaml_gives_the_line(plugin_site, tmp_path):
    path, result = run_validate(tmp_path, "simulation:\n  plugin: brownian\n  steps: [1, 2\n")
    check(result, f"{path}:", "not valid YAML")


def test_duplicate_keys_are_errors(plugin_site, tmp_path):
    path, result = run_validate(tmp_path, "simulation:\n  plugin: brownian\n  steps: 10\n  steps: 20\n")
    check(result, f"{path}:4", "simulation.steps", "key given twice")


def test_error_lines_point_into_the_file(plugin_site, tmp_path):
    path, result = run_validate(tmp_path, "simulation:\n  plugin: brownian\n  timestep: fast\n")
    check(result, f"{path}:3: simulation.timestep")


def test_missing_file_and_unknown_command(plugin_site, tmp_path):
    check(cli("validate", str(tmp_path / "nope.yaml")), "no such recipe file")
    check(cli("frobnicate"), "invalid choice")
    check(cli("run", str(tmp_path / "x.yaml"), "--only", "dance"), "invalid choice")


@pytest.mark.parametrize(("change", "fragments"), [
    ({"systems.grid": [{"concentration": [float("nan")]}]}, ["systems.grid[0].concentration", "finite number"]),
    ({"systems.grid": [{"bjerrum_length": [float("inf")]}]}, ["systems.grid[0].bjerrum_length", "finite number"]),
    ({"systems.grid": [{"concentration": [0.05, 0.05]}]}, ["systems.grid[0].concentration",
                                                            "0.05 listed more than once"]),
    ({"systems.grid": [{"concentration": [0.05]}, {"concentration": [0.05]}]}, ["systems.grid[1]", "listed twice"]),
    ({"systems.grid": [{"concentration": [0.01 + 1e-5 * i for i in range(101)],
                        "bjerrum_length": [1.0 + i for i in range(100)]}]}, ["10100 systems", "at most 10000"]),
    ({"simulation.steps": 10 ** 20}, ["simulation.steps", "less than or equal to 10000000000"]),
    ({"simulation.steps": 10 ** 9, "simulation.write_period": 1}, ["frames", "at most 10000000"]),
    ({"name": "../../x"}, ["name", "should match pattern"]),
    ({"name": "/abs/path"}, ["name", "should match pattern"]),
    ({"transport.attribution_cutoff": float("inf")}, ["transport.attribution_cutoff", "finite number"]),
    ({"transport.attribution_cutoff": -1.0}, ["transport.attribution_cutoff", "greater than 0"]),
    ({"transport.attribution": 1.5}, ["transport.attribution", "boolean"]),
    ({"model.labels": "local"}, ["model.labels", "'system-means', 'attribution' or 'both'"]),
    ({"model.labels": "both", "transport.attribution": False}, ["needs transport.attribution: true"]),
    ({"model.labels": "both"}, ["model.labels", "'mean-linear' does not fit measured local labels"]),
])
def test_bounded_and_finite_recipe_values(plugin_site, tmp_path, change, fragments):
    check(cli("validate", str(write_recipe(tmp_path / "bad.yaml", small_recipe(**change)))), *fragments)


def test_hostile_yaml_is_refused_quickly(plugin_site, tmp_path):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{n}: &{n} [{', '.join([f'*{p}'] * 10)}]\n" for p, n in zip("abcdefgh", "bcdefghi"))
    _, result = run_validate(tmp_path, bomb)
    check(result, "expands to", "aliases", "at most 100000")
    _, result = run_validate(tmp_path, "a: " + "[" * 5000 + "]" * 5000 + "\n")
    check(result, "nested too deeply")
    path = tmp_path / "binary.yaml"
    path.write_bytes(b"name: \xff\xfe\n")
    check(cli("validate", str(path)), "not UTF-8")


@pytest.mark.parametrize(("workdir", "fragment"), [("/proc/localcond-run", "kernel or device file system"),
                                                   ("/sys/localcond-run", "kernel or device file system"),
                                                   ("/dev/null", "kernel or device file system"),
                                                   ("{file}/run", "cannot be used as a work directory")])
def test_unusable_work_directories_are_refused(plugin_site, tmp_path, workdir, fragment):
    recipe = write_recipe(tmp_path / "small.yaml", small_recipe())
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    result = cli("run", str(recipe), "--workdir", workdir.replace("{file}", str(a_file)))
    check(result, "--workdir", fragment)


@pytest.mark.parametrize(("text", "fragment"), [("garbage{", "unreadable"), ("[1, 2]", "not a localcond manifest"),
                                                ('{"artifacts": [1]}', "not a localcond manifest"),
                                                ('{"artifacts": {"k": 3}}', "not a localcond manifest")])
def test_show_on_a_damaged_manifest(tmp_path, text, fragment):
    (tmp_path / "manifest.json").write_text(text)
    check(cli("show", str(tmp_path)), "manifest.json", fragment)


@pytest.mark.parametrize("section, option, value, message", [
    ("simulation", "platform", "CUDA", "OpenMM platform 'CUDA' is not available on this machine"),
    ("model", "device", "cuda", "device 'cuda' asked for, but torch"),
])
def test_a_gpu_this_machine_lacks_exits_2_naming_what_is_available(tmp_path, capsys, section, option, value,
                                                                   message):
    """Asked of a machine without it (tested where there is none): exit 2 at validation, naming the option and
    what is here; a recipe for a cluster (executor: slurm) is not refused, its workers may have one."""
    pytest.importorskip("openmm")
    pytest.importorskip("torch")
    import openmm
    import torch

    if (option == "platform" and "CUDA" in [openmm.Platform.getPlatform(i).getName()
                                            for i in range(openmm.Platform.getNumPlatforms())]) or \
            (option == "device" and torch.cuda.is_available()):
        pytest.skip("this machine has the GPU")
    recipe = yaml.safe_load((RECIPES / "quickstart.yaml").read_text())
    if option == "platform":   # an openmm option (the quickstart simulates with lammps)
        recipe["simulation"].update(plugin="openmm", options={})
    recipe[section].setdefault("options", {})[option] = value
    path = tmp_path / "gpu.yaml"
    path.write_text(yaml.safe_dump(recipe))
    from core.cli import main

    status = main(["validate", str(path)])
    err = capsys.readouterr().err
    assert status == 2 and message in err and f"{section}.options.{option}" in err, err
    assert "available" in err and "Traceback" not in err
    recipe["executor"] = {"kind": "slurm", "slurm": {"cores": 2, "memory": "4GB", "walltime": "00:10:00"}}
    path.write_text(yaml.safe_dump(recipe))
    assert main(["validate", str(path)]) == 0, capsys.readouterr().err


def test_a_slurm_run_from_a_machine_that_reaches_no_cluster_exits_2(plugin_site, tmp_path, monkeypatch) -> None:
    """``validate`` accepts a cluster recipe on a laptop (its options are still checked), but ``run`` would
    submit from here: with no SLURM client, or none that reaches a cluster, it exits 2 before any job, instead
    of waiting for workers that never come."""
    from tests.conftest import cli, small_recipe, write_recipe

    from pathlib import Path

    if Path("/etc/slurm/slurm.conf").exists():
        pytest.skip("this machine has a SLURM configuration of its own")
    monkeypatch.delenv("SLURM_CONF", raising=False)
    recipe = write_recipe(tmp_path / "cluster.yaml", small_recipe(executor={"kind": "slurm", "slurm": {
        "cores": 1, "memory": "1GB", "walltime": "00:10:00"}}))
    assert cli("validate", str(recipe)).returncode == 0
    result = cli("run", str(recipe), "--workdir", str(tmp_path / "run"))
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "executor" in result.stderr and ("sinfo cannot reach" in result.stderr
                                            or "no SLURM client" in result.stderr), result.stderr
