"""``benchmarks/gpu_check.py``: on a machine without a GPU it says so and exits 0; ``--cpu`` runs its code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.py"


def test_without_a_gpu_it_says_so_and_exits_0(tmp_path) -> None:
    pytest.importorskip("openmm")
    torch = pytest.importorskip("torch")
    import openmm

    platforms = [openmm.Platform.getPlatform(i).getName() for i in range(openmm.Platform.getNumPlatforms())]
    if torch.cuda.is_available() or {"CUDA", "OpenCL", "HIP"} & set(platforms):
        pytest.skip("this machine has a GPU")
    result = subprocess.run([sys.executable, str(SCRIPT), "--json", str(tmp_path / "gpu.json")], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0 and "no GPU here" in result.stdout, result.stdout + result.stderr
    assert json.loads((tmp_path / "gpu.json").read_text())["rows"] == []


def test_its_measurements_run_end_to_end_on_the_cpu(tmp_path) -> None:
    """The same code paths at small sizes on the CPU: OpenMM rates and force agreement, nn epochs."""
    pytest.importorskip("openmm")
    pytest.importorskip("torch")
    result = subprocess.run([sys.executable, str(SCRIPT), "--cpu", "--json", str(tmp_path / "gpu.json")],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = json.loads((tmp_path / "gpu.json").read_text())["rows"]
    rates = [r for r in rows if "steps_per_s" in r]
    assert len(rates) == 3 and all(r["steps_per_s"] > 0 for r in rates)
    # the CPU platform against OpenMM's Reference platform (double precision): single-precision differences only
    agreement = [r["rms_relative_difference"] for r in rows if "rms_relative_difference" in r]
    assert agreement and all(0.0 < value < 1e-4 for value in agreement), agreement
    assert any(r.get("epoch_s", 0) > 0 for r in rows)
