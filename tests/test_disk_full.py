"""A full disk: the run names the file it could not write, keeps what finished, and resumes once there is space.

Needs a small tmpfs (``mount -t tmpfs``, i.e. root or CAP_SYS_ADMIN); skipped where it cannot be mounted.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import cli, small_recipe, write_recipe


@pytest.fixture
def small_disk(tmp_path: Path):
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)],
                             capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode(errors='replace').strip()}")
    yield mount_point
    subprocess.run(["umount", str(mount_point)], check=False)


def test_a_full_disk_is_named_and_the_run_resumes_once_there_is_space(plugin_site, tmp_path, small_disk):
    # serial: a Dask cluster torn down by the failed manifest write logs its own connection tracebacks
    recipe = write_recipe(tmp_path / "small.yaml", small_recipe(executor={"kind": "serial"}))
    workdir = small_disk / "run"
    full = cli("run", str(recipe), "--workdir", str(workdir))
    assert full.returncode == 1
    assert "Traceback" not in full.stderr
    assert f"no space left on device writing {workdir}" in full.stdout + full.stderr
    subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True)
    resumed = cli("run", str(recipe), "--workdir", str(workdir))
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert (workdir / "report.html").is_file() and not list(workdir.rglob("*.partial-*"))
