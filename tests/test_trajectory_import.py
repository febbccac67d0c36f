"""Users' own trajectories: a GSD file through MDAnalysis, a LAMMPS dump named by --format (wrapped or
unwrapped coordinates), and a centre of mass weighted by the file's masses."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core.cli import main
from core.datatypes import Frame
from core.trajectory import LOG_TIMESTEP, GSDWriter, read_frames
from core.transport.onsager import replica_positions
from tests.test_transport_core import write_brownian

pytest.importorskip("MDAnalysis", reason="MDAnalysis is not installed (pip install MDAnalysis)")


def transport_json(capsys, *arguments: str) -> dict:
    status = main(["transport", *arguments, "--json"])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    return json.loads(captured.out)["pooled"]


def write_lammps_dump(gsd: Path, dump: Path, *, unwrapped: bool) -> None:
    """The GSD trajectory as a LAMMPS text dump: ``x y z`` wrapped into [0, L), or ``xu yu zu`` unwrapped;
    types 1 (cation), 2 (anion), 3 (solvent); timesteps as in the GSD file."""
    lines = []
    for frame in read_frames(gsd):
        length = float(frame.box[0])
        positions = frame.positions + frame.image * frame.box + length / 2  # box [0, L)
        if not unwrapped:
            positions = np.mod(positions, length)
        columns = "xu yu zu" if unwrapped else "x y z"
        lines += ["ITEM: TIMESTEP", str(frame.step), "ITEM: NUMBER OF ATOMS", str(frame.n_particles),
                  "ITEM: BOX BOUNDS pp pp pp", *[f"0.0 {length!r}"] * 3, f"ITEM: ATOMS id type {columns}"]
        lines += [f"{i + 1} {t + 1} {x:.9f} {y:.9f} {z:.9f}" for i, (t, (x, y, z))
                  in enumerate(zip(frame.typeid.tolist(), positions.tolist()))]
    dump.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def brownian(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("import") / "b.gsd"
    write_brownian(path, n_pairs=30, n_solvent=30, frames=120, seed=5)
    return path


def test_a_gsd_file_through_mdanalysis_keeps_its_own_frame_times(brownian, capsys):
    native = transport_json(capsys, str(brownian), "--fit", "5", "25")
    through = transport_json(capsys, str(brownian), "--mdanalysis", "--fit", "5", "25")
    for key in ("D_p", "D_m", "kappa", "molar_conductivity"):
        assert through[key] == pytest.approx(native[key], rel=1e-5), key  # not half: the times are the file's


@pytest.mark.parametrize("unwrapped", [False, True])
def test_a_lammps_dump_named_by_format_gives_the_native_numbers(brownian, tmp_path, capsys, unwrapped):
    dump = tmp_path / "run.lammpstrj"
    write_lammps_dump(brownian, dump, unwrapped=unwrapped)
    refused = main(["transport", str(dump), "--cation", "type 1", "--anion", "type 2"])
    assert refused == 2 and "--format" in capsys.readouterr().err
    native = transport_json(capsys, str(brownian), "--fit", "5", "25")
    options = ["--format", "LAMMPSDUMP", "--cation", "type 1", "--anion", "type 2", "--frame-interval", "0.5",
               "--fit", "5", "25", *(["--unwrapped"] if unwrapped else [])]
    imported = transport_json(capsys, str(dump), *options)
    for key in ("D_p", "D_m", "kappa", "molar_conductivity"):
        assert imported[key] == pytest.approx(native[key], rel=1e-6), key


def test_unwrapped_coordinates_are_not_unwrapped_again(tmp_path):
    """Sparse frames: a cation jumps 0.6 L per frame in the file's unwrapped coordinates. Taken as they are
    (``unwrapped``) its displacement is 0.6 L; NoJump, which assumes no atom moves more than L/2 between
    frames, would make it −0.4 L."""
    from core.trajectory_import import ImportOptions

    length = 20.0
    typeid = np.array([0, 1, 2, 2], dtype=np.int32)
    start = np.array([[0.0, 0, 0], [5.0, 5, 5], [-5.0, -5, -5], [5.0, -5, 5]])
    path = tmp_path / "jumps.gsd"
    with GSDWriter(path, {LOG_TIMESTEP: 0.01}) as writer:
        for index in range(5):
            positions = start + np.array([[0.6 * length * index, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0]])
            image = np.floor((positions + length / 2) / length).astype(np.int32)
            writer.append(Frame(positions - image * length, np.full(3, length), typeid, ("cation", "anion", "solvent"),
                                image, np.zeros((0, 2), np.int64), step=index * 100, time=index * 1.0))
    dump = tmp_path / "jumps.lammpstrj"
    write_lammps_dump(path, dump, unwrapped=True)
    common = dict(cation="type 1", anion="type 2", frame_interval=1.0, format="LAMMPSDUMP")
    taken = replica_positions(dump, import_options=ImportOptions(**common, unwrapped=True))
    rejumped = replica_positions(dump, import_options=ImportOptions(**common))

    def moved(read) -> float:  # the cation's x displacement relative to the anion's, first frame to second
        return read.cations[1, 0, 0] - read.cations[0, 0, 0] - (read.anions[1, 0, 0] - read.anions[0, 0, 0])

    assert moved(taken) == pytest.approx(0.6 * length, abs=1e-4)  # the anion stays: relative motion is the jump
    assert moved(rejumped) == pytest.approx(-0.4 * length, abs=1e-4)


def test_the_centre_of_mass_is_weighted_by_the_files_masses(tmp_path):
    """Heavy solvent drifts one way and light ions the other, with zero total momentum: the mass-weighted
    centre stays put, so the ions' positions relative to it are their raw positions (an unweighted mean
    would drift and shift every ion)."""
    rng = np.random.default_rng(2)
    n_ions, n_solvent, length = 10, 30, 20.0
    typeid = np.array([0] * (n_ions // 2) + [1] * (n_ions // 2) + [2] * n_solvent, dtype=np.int32)
    masses = np.where(typeid == 2, 10.0, 1.0)
    start = rng.uniform(-5, 5, (len(typeid), 3))
    velocity = np.where(typeid[:, None] == 2, -0.02, 0.02 * masses[typeid == 2].sum() / n_ions) * np.array([1, 0, 0])
    assert np.allclose((masses[:, None] * velocity).sum(axis=0), 0)
    path = tmp_path / "masses.gsd"
    with GSDWriter(path, {LOG_TIMESTEP: 0.01}) as writer:
        for index in range(6):
            positions = start + velocity * index
            image = np.floor((positions + length / 2) / length).astype(np.int32)
            writer.append(Frame(positions - image * length, np.full(3, length), typeid, ("cation", "anion", "solvent"),
                                image, np.zeros((0, 2), np.int64), step=index * 100, time=index * 1.0,
                                masses=masses))
    read = replica_positions(path)
    centre = np.average(start, axis=0, weights=masses)
    expected = np.stack([(start + velocity * index)[:n_ions // 2] - centre for index in range(6)])
    np.testing.assert_allclose(read.cations, expected, atol=1e-5)
    assert next(read_frames(path)).masses is not None
