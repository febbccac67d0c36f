"""The example plugin package in examples/: its own tests pass with the plugin-author kit without installing
it, and it installs with pip and works as a descriptor."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import HERE, cli

EXAMPLE = HERE.parent / "examples" / "localcond-coordination"

CHECK = """
import numpy as np
from core.datatypes import Frame
from core.plugin_system.registry import get_registry
plugin = get_registry().instantiate("descriptor", "coordination", {"radii": [1.6, 3.0]})
# a cation with an anion at 1.2σ (across the box face) and another cation at 2.5σ; a far anion
positions = np.array([[-4.9, 0, 0], [4.9, 0, 0], [-2.4, 0, 0], [2.0, 4.0, 4.0]])
frame = Frame(positions, np.full(3, 10.0), np.array([0, 1, 0, 1], np.int32), ("cation", "anion", "solvent"),
              np.zeros((4, 3), np.int32), np.zeros((0, 2), np.int64), 0, 0.0)
print(plugin.feature_names(frame.types))
print(plugin.compute(frame, np.array([0])).tolist())
"""


def test_example_package_installs_and_computes(tmp_path, monkeypatch):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--target", str(target), str(EXAMPLE)], check=True)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(target), str(HERE.parent)]))
    listing = cli("plugins")
    assert listing.returncode == 0, listing.stderr
    line = next(line for line in listing.stdout.splitlines() if " coordination " in f" {line} ")
    assert "descriptor" in line and "localcond-coordination" in line and "yes" in line
    result = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    names, values = result.stdout.strip().splitlines()
    assert "unlike_within_1.6" in names
    # unlike within 1.6 / 3: 1 / 1; like within 1.6 / 3: 0 / 1; nearest unlike 0.2σ
    assert [round(v, 3) for v in eval(values)[0]] == [1.0, 1.0, 0.0, 1.0, 0.2]


def test_example_package_passes_its_own_kit_tests_uninstalled(tmp_path):
    """Its tests (conformance checks, known counts, an in-process pipeline) run from its own directory, with
    the package importable only from its source tree: pytest finds the kit through localcond's pytest11
    entry point."""
    probe = subprocess.run([sys.executable, "-c", "import localcond_coordination"], capture_output=True, cwd=tmp_path)
    assert probe.returncode != 0  # not installed
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
                            capture_output=True, text=True, cwd=EXAMPLE, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "12 passed" in result.stdout, result.stdout[-500:]
