"""Shared fixtures: the third-party test plugin package, installed for real during the test run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

HERE = Path(__file__).parent
PLUGIN_PACKAGE = HERE / "plugin_pkg"
#: The plugin package is installed by the ``plugin_site`` fixture, not imported from the tree.
collect_ignore = ["plugin_pkg"]


@pytest.fixture(scope="session")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``pip install`` the test plugin package into a fresh directory and put it on the path.

    Its plugins are found only through the ``localcond`` entry point of the
    installed distribution, like any third-party package's.
    """
    target = tmp_path_factory.mktemp("site")
    # pip builds in the source tree (build/, *.egg-info): each test process installs its own copy, so that two
    # pytest-xdist workers never build in one folder at once
    source = shutil.copytree(PLUGIN_PACKAGE, tmp_path_factory.mktemp("plugin-source") / PLUGIN_PACKAGE.name,
                             ignore=shutil.ignore_patterns("build", "*.egg-info"))
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--target", str(target), str(source)], check=True)
    sys.path.insert(0, str(target))
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(target), os.environ.get("PYTHONPATH")]))
    from core.plugin_system.registry import installed_registry

    installed_registry.cache_clear()
    yield target
    sys.path.remove(str(target))
    installed_registry.cache_clear()


def small_recipe(**overrides: Any) -> dict[str, Any]:
    """A tiny recipe using the test plugins: 6 systems × 2 replicas of 400 Brownian particles."""
    recipe: dict[str, Any] = {
        "systems": {"replicas": 2, "n_particles": 400, "density": 0.8, "seed": 7,
                    "grid": [{"concentration": [0.02, 0.05], "bjerrum_length": [2.5, 5.0, 10.0]}]},
        "simulation": {"plugin": "brownian", "steps": 2000, "write_period": 20, "min_ions": 2,
                       "options": {}},
        "descriptor": {"plugin": "shell-counts", "snapshots": {"max_environments": 400}},
        "model": {"plugin": "mean-linear", "labels": "system-means"},   # mean-linear fits system means only
        "split": {"test_fraction": 0.2, "n_folds": 2},
        "analyses": [{"plugin": "summary"}],
        "executor": {"kind": "serial"},
    }
    for dotted, value in overrides.items():
        node = recipe
        *parents, last = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return recipe


def write_recipe(path: Path, recipe: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return path


@pytest.fixture(scope="session")
def small_reference(plugin_site, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The work directory of :func:`small_recipe` run serially and uninterrupted, once a session: the tables
    that interrupted, distributed or slowed-down runs of that recipe must reproduce (read it, never write)."""
    root = tmp_path_factory.mktemp("small-reference")
    result = cli("run", str(write_recipe(root / "small.yaml", small_recipe())), "--workdir", str(root / "run"))
    assert result.returncode == 0, result.stderr
    return root / "run"


def cli(*args: str, cwd: Path | None = None, timeout: float = 600,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m core ARGS`` as a user would; returns the completed process (text output)."""
    path = os.environ.get("PYTHONPATH", "") + os.pathsep + str(HERE.parent)
    return subprocess.run([sys.executable, "-m", "core", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout, env={**os.environ, **(env or {}), "PYTHONPATH": path})
