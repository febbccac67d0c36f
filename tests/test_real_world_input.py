"""Trajectories as users have them (issue 30): each class gets the right number or exit 2 naming the problem.

Fixtures are built here from random walks with a known answer (core.testing.write_random_walks):
- types named A, B, C with charges ±1, 0: ions told apart by charge; the numbers of cation/anion names;
- wrapped positions without image flags: unwrapped by NoJump (D as with the flags), or refused where frames
  are too sparse for it;
- a box that changes (NPT): κ uses the mean volume, each frame's box unwraps;
- the same trajectory given twice (the same path, or a copy): refused;
- a GSD index that claims frames without positions: refused at once, not read for minutes;
- a LAMMPS dump with an atom id repeated, or whose later frames hold other atoms: refused.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from core.cli import main
from core.testing import write_random_walks

gsd_hoomd = pytest.importorskip("gsd.hoomd")

TYPEID = np.repeat([0, 1, 2], [30, 30, 40])
DIFFUSION = np.where(TYPEID == 0, 0.3, np.where(TYPEID == 1, 0.15, 0.3))


def pooled(capsys, *arguments: str) -> tuple[dict, str]:
    """(the pooled transport row, stderr) of ``python -m core transport ARGUMENTS --json``; exit 0 asserted."""
    status = main(["transport", *arguments, "--json"])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    return json.loads(captured.out)["pooled"], captured.err


def refused(capsys, *arguments: str) -> str:
    """stderr of a transport run that must exit 2 without a traceback."""
    status = main(["transport", *arguments])
    captured = capsys.readouterr()
    assert status == 2, captured.out + captured.err
    assert "Traceback" not in captured.err
    return captured.err


def rewritten(source: Path, target: Path, edit) -> Path:
    with gsd_hoomd.open(str(source), "r") as trajectory:
        frames = [trajectory[index] for index in range(len(trajectory))]
    with gsd_hoomd.open(str(target), "w") as out:
        for index, frame in enumerate(frames):
            out.append(edit(index, frame))
    return target


@pytest.fixture(scope="module")
def walks(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("walks") / "walks.gsd"
    write_random_walks(path, TYPEID, DIFFUSION, 10.0, 400, 0.5, np.random.default_rng(7))
    return path


def test_types_named_a_b_c_with_charges_are_ions_by_their_charge(walks, tmp_path, capsys) -> None:
    def renamed(index, frame):
        frame.particles.types = ["A", "B", "C"]
        frame.particles.charge = np.where(frame.particles.typeid == 0, 1.0,
                                          np.where(frame.particles.typeid == 1, -1.0, 0.0)).astype(np.float32)
        return frame

    named, _ = pooled(capsys, str(walks), "--fit", "5", "50")
    charged, _ = pooled(capsys, str(rewritten(walks, tmp_path / "abc.gsd", renamed)), "--fit", "5", "50")
    for key in ("D_p", "D_m", "kappa", "molar_conductivity"):
        assert charged[key] == pytest.approx(named[key], rel=1e-9), key


def test_wrapped_positions_without_image_flags_are_unwrapped_by_nojump(walks, tmp_path, capsys) -> None:
    """D₊ was read as 0.64 against the walkers' 0.30 when jumps across the box counted as motion."""
    def unflagged(index, frame):
        frame.particles.image = np.zeros_like(frame.particles.image)
        return frame

    flagged, _ = pooled(capsys, str(walks), "--fit", "5", "50")
    with pytest.warns(UserWarning, match="no image flags; positions unwrapped by NoJump"):
        wrapped, _ = pooled(capsys, str(rewritten(walks, tmp_path / "wrapped.gsd", unflagged)), "--fit", "5", "50")
    for key in ("D_p", "D_m", "kappa"):
        assert wrapped[key] == pytest.approx(flagged[key], rel=1e-9), key
    assert flagged["D_p"] == pytest.approx(0.3, rel=0.15)


def test_wrapped_frames_too_far_apart_to_unwrap_are_refused(tmp_path, capsys) -> None:
    path = tmp_path / "sparse.gsd"
    write_random_walks(path, TYPEID, DIFFUSION * 40, 10.0, 60, 0.5, np.random.default_rng(2))
    err = refused(capsys, str(rewritten(path, tmp_path / "sparse_wrapped.gsd",
                                        lambda index, frame: (setattr(frame.particles, "image",
                                                                      np.zeros_like(frame.particles.image)), frame)[1])))
    assert "frames too far apart to unwrap" in err and "sparse_wrapped.gsd" in err


def test_a_box_that_changes_uses_the_mean_volume(tmp_path, capsys) -> None:
    """The same walks in a box that shrinks from 10.4 to 9.6σ: every MSD is the same, κ scales by
    V_fixed / mean(V). κ was 1.16× the mean-volume value, as if the last frame's volume were used."""
    fixed = tmp_path / "fixed.gsd"
    write_random_walks(fixed, TYPEID, DIFFUSION, 10.0, 400, 0.5, np.random.default_rng(9))
    lengths = np.linspace(10.4, 9.6, 400)

    def shrinking(index, frame):
        unwrapped = frame.particles.position + frame.particles.image * 10.0
        length = lengths[index]
        image = np.floor((unwrapped + length / 2) / length)
        frame.particles.position = (unwrapped - image * length).astype(np.float32)
        frame.particles.image = image.astype(np.int32)
        frame.configuration.box = [length, length, length, 0, 0, 0]
        return frame

    constant, _ = pooled(capsys, str(fixed), "--fit", "5", "50")
    with pytest.warns(UserWarning, match="the box volume varies from .* transport uses the mean volume"):
        varying, _ = pooled(capsys, str(rewritten(fixed, tmp_path / "npt.gsd", shrinking)), "--fit", "5", "50")
    mean_volume = float(np.mean(lengths ** 3))
    assert varying["kappa"] == pytest.approx(constant["kappa"] * 1000.0 / mean_volume, rel=1e-4)
    assert varying["D_p"] == pytest.approx(constant["D_p"], rel=1e-4)


def test_the_same_trajectory_given_twice_is_refused(walks, tmp_path, capsys) -> None:
    """The pooled error shrank by √2 with no warning."""
    copy = tmp_path / "copy.gsd"
    shutil.copy(walks, copy)
    for second in (walks, copy):
        err = refused(capsys, str(walks), str(second))
        assert "the same trajectory as" in err and str(second) in err


def test_a_gsd_index_claiming_frames_without_positions_is_refused_at_once(walks, tmp_path, capsys) -> None:
    """1 000 001 frames in the index, 400 with positions: this read on for minutes."""
    import gsd.fl

    path = tmp_path / "claims.gsd"
    shutil.copy(walks, path)
    with gsd.fl.open(str(path), "a", application="test", schema="hoomd", schema_version=[1, 4]) as handle:
        for extra in range(1_000_001 - 400):
            handle.write_chunk("configuration/step", np.array([100 * (400 + extra)], dtype=np.uint64))
            handle.end_frame()
    start = time.perf_counter()
    err = refused(capsys, str(path))
    assert time.perf_counter() - start < 30
    assert "counts 1000001 frames, but frame 400 holds no particle positions (400 frames do)" in err


def test_a_lammps_dump_with_a_repeated_atom_id_is_refused(walks, tmp_path, capsys) -> None:
    """D₊ came out 0.228 against 0.278."""
    pytest.importorskip("MDAnalysis")
    from tests.test_trajectory_import import write_lammps_dump

    dump = tmp_path / "run.lammpstrj"
    write_lammps_dump(walks, dump, unwrapped=True)
    text = dump.read_text().replace("\n2 1 ", "\n1 1 ")     # atom 2 also calls itself 1, in every frame
    dump.write_text(text)
    err = refused(capsys, str(dump), "--cation", "type 1", "--anion", "type 2", "--equal-masses",
                  "--frame-interval", "0.5", "--unwrapped")
    assert "atom id 1 is given to 2 atoms" in err and "run.lammpstrj" in err


def test_a_lammps_dump_whose_later_frames_hold_other_atoms_is_refused(walks, tmp_path, capsys) -> None:
    """MDAnalysis orders each frame by id and keeps no ids: an atom replaced in a later frame (a dump of a
    changing group) or an id repeated there only would be read as other atoms' coordinates."""
    pytest.importorskip("MDAnalysis")
    from tests.test_trajectory_import import write_lammps_dump

    dump = tmp_path / "run.lammpstrj"
    write_lammps_dump(walks, dump, unwrapped=True)
    frames = dump.read_text().split("ITEM: TIMESTEP\n")           # frames[0] is empty
    arguments = ("--cation", "type 1", "--anion", "type 2", "--equal-masses", "--frame-interval", "0.5",
                 "--unwrapped")
    replaced = tmp_path / "replaced.lammpstrj"
    frames_replaced = list(frames)
    frames_replaced[8] = frames_replaced[8].replace("\n100 3 ", "\n1000 3 ")    # frame 7: atom 100 is now 1000
    replaced.write_text("ITEM: TIMESTEP\n".join(frames_replaced))
    err = refused(capsys, str(replaced), *arguments)
    assert "replaced.lammpstrj: frame 7 holds other atoms than the first frame" in err
    assert "atom id 1000 is not in the first frame" in err
    twice = tmp_path / "twice.lammpstrj"
    frames_twice = list(frames)
    frames_twice[4] = frames_twice[4].replace("\n2 1 ", "\n1 1 ")              # frame 3 only
    twice.write_text("ITEM: TIMESTEP\n".join(frames_twice))
    err = refused(capsys, str(twice), *arguments)
    assert "twice.lammpstrj: frame 3 gives atom id 1 to more than one atom" in err
