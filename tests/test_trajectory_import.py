"""Users' own trajectories: a GSD file through MDAnalysis, a LAMMPS dump named by --format (wrapped or
unwrapped coordinates), and a centre of mass weighted by the file's masses."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core.testing import write_random_walks
from core.cli import main
from core.errors import UserError
from core.datatypes import Frame
from core.md.trajectory import LOG_TIMESTEP, GSDWriter, read_frames
from core.transport.replica_files import replica_positions
from tests.test_transport_core import write_brownian

pytest.importorskip("MDAnalysis", reason="MDAnalysis is not installed (pip install MDAnalysis)")


def transport_json(capsys, *arguments: str) -> dict:
    status = main(["transport", *arguments, "--json"])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    return json.loads(captured.out)["pooled"]


def write_lammps_dump(gsd: Path, dump: Path, *, unwrapped: bool, images: bool = False) -> None:
    """The GSD trajectory as a LAMMPS text dump: ``x y z`` wrapped into [0, L) (with ``ix iy iz`` image flags
    where ``images``), or ``xu yu zu`` unwrapped; types 1 (cation), 2 (anion), 3 (solvent); timesteps as in
    the GSD file."""
    lines = []
    for frame in read_frames(gsd):
        length = float(frame.box[0])
        positions = frame.positions + frame.image * frame.box + length / 2  # box [0, L)
        flags = np.floor(positions / length).astype(int)
        if not unwrapped:
            positions = positions - flags * length
        columns = "xu yu zu" if unwrapped else "x y z" + (" ix iy iz" if images else "")
        lines += ["ITEM: TIMESTEP", str(frame.step), "ITEM: NUMBER OF ATOMS", str(frame.n_particles),
                  "ITEM: BOX BOUNDS pp pp pp", *[f"0.0 {length!r}"] * 3, f"ITEM: ATOMS id type {columns}"]
        lines += [f"{i + 1} {t + 1} {x:.9f} {y:.9f} {z:.9f}" + (" {} {} {}".format(*f) if images and not unwrapped
                                                                 else "")
                  for i, (t, (x, y, z), f) in enumerate(zip(frame.typeid.tolist(), positions.tolist(),
                                                             flags.tolist()))]
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
    """A dump named ``.txt`` needs --format; ``.lammpstrj`` says it. A dump holds steps, not times: without
    --frame-interval it is refused (MDAnalysis would make up 1 ps per step)."""
    dump = tmp_path / "run.txt"
    write_lammps_dump(brownian, dump, unwrapped=unwrapped)
    ions = ["--cation", "type 1", "--anion", "type 2", "--equal-masses"]
    refused = main(["transport", str(dump), *ions, "--frame-interval", "0.5"])
    assert refused == 2 and "--format" in capsys.readouterr().err
    refused = main(["transport", str(dump), *ions, "--format", "LAMMPSDUMP"])
    assert refused == 2 and "give --frame-interval" in capsys.readouterr().err
    native = transport_json(capsys, str(brownian), "--fit", "5", "25")
    options = [*ions, "--frame-interval", "0.5", "--fit", "5", "25", *(["--unwrapped"] if unwrapped else [])]
    imported = transport_json(capsys, str(dump), "--format", "LAMMPSDUMP", *options)
    named = tmp_path / "run.lammpstrj"
    named.write_text(dump.read_text())
    by_extension = transport_json(capsys, str(named), *options)
    for key in ("D_p", "D_m", "kappa", "molar_conductivity"):
        assert imported[key] == pytest.approx(native[key], rel=1e-6), key
        assert by_extension[key] == imported[key], key


def test_unwrapped_coordinates_and_image_flags_are_used_where_the_file_has_them(tmp_path):
    """Sparse frames: a cation jumps 0.6 L per frame. A dump of unwrapped coordinates (``xu``), a dump of
    wrapped ones with image flags (``ix``), and the GSD file read through MDAnalysis (``particles.image``)
    all give its displacement 0.6 L, each unwrapped by what the file holds. NoJump, which assumes no atom
    moves more than L/2 between frames, would make it −0.4 L: a dump of wrapped coordinates alone is refused
    as too sparse, naming the fixes."""
    from core.md.trajectory_import import ImportOptions

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
    common = dict(cation="type 1", anion="type 2", frame_interval=1.0, format="LAMMPSDUMP", equal_masses=True)
    read = {}
    for name, kind in (("xu", dict(unwrapped=True)), ("ix", dict(unwrapped=False, images=True)),
                       ("x", dict(unwrapped=False))):
        write_lammps_dump(path, tmp_path / f"{name}.lammpstrj", **kind)
    read["xu"] = replica_positions(tmp_path / "xu.lammpstrj", import_options=ImportOptions(**common))
    read["ix"] = replica_positions(tmp_path / "ix.lammpstrj", import_options=ImportOptions(**common))
    read["stated"] = replica_positions(tmp_path / "xu.lammpstrj", import_options=ImportOptions(**common,
                                                                                              unwrapped=True))
    read["gsd"] = replica_positions(path, import_options=ImportOptions(cation="type cation", anion="type anion",
                                                                       equal_masses=True))
    with pytest.raises(UserError, match="frames too far apart to unwrap.*image flags"):
        replica_positions(tmp_path / "x.lammpstrj", import_options=ImportOptions(**common))

    def moved(read) -> float:  # the cation's x displacement relative to the anion's, first frame to second
        return read.cations[1, 0, 0] - read.cations[0, 0, 0] - (read.anions[1, 0, 0] - read.anions[0, 0, 0])

    for name, taken in read.items():  # the anion stays: relative motion is the jump
        assert moved(taken) == pytest.approx(0.6 * length, abs=1e-4), name


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


def write_salt(path: Path, *, z_plus: int, z_minus: int, n_formula: int, n_solvent: int, frames: int = 300,
               D=(0.5, 1.0), seed: int = 0) -> float:
    """Independent Brownian ions of a z₊:z₋ salt (charges in particles.charge); returns the volume."""
    g = np.gcd(z_plus, -z_minus)
    n_plus, n_minus = n_formula * (-z_minus // g), n_formula * (z_plus // g)
    typeid = np.array([0] * n_plus + [1] * n_minus + [2] * n_solvent, dtype=np.int32)
    valence = np.where(typeid == 0, z_plus, np.where(typeid == 1, z_minus, 0)).astype(float)
    length = 20.0
    write_random_walks(path, typeid, np.array([D[0], D[1], 1.0])[typeid], length, frames, 0.5,
                       np.random.default_rng(seed), valence=valence)
    return length ** 3


def test_a_two_to_one_salt_weighs_each_ion_by_its_valence(tmp_path, capsys):
    """Independent ions: κ = z₊² c₊ D₊ + z₋² c₋ D₋; Λ per formula unit MX₂ is κ / c₊, per equivalent κ / (2c₊)."""
    path = tmp_path / "mx2.gsd"
    volume = write_salt(path, z_plus=2, z_minus=-1, n_formula=60, n_solvent=60)
    result = transport_json(capsys, str(path), "--fit", "2.5", "25")
    c_plus, c_minus = 60 / volume, 120 / volume
    expected = 4 * c_plus * result["D_p"] + c_minus * result["D_m"]
    assert result["z_plus"] == 2 and result["z_minus"] == -1
    assert result["kappa"] == pytest.approx(expected, abs=3 * result["kappa_err"])
    assert result["molar_conductivity"] == pytest.approx(result["kappa"] / c_plus, rel=1e-9)
    assert result["molar_conductivity_equivalent"] == pytest.approx(result["kappa"] / (2 * c_plus), rel=1e-9)
    assert result["molar_conductivity_ne"] == pytest.approx(expected / c_plus, rel=1e-9)
    assert result["D_p"] == pytest.approx(0.5, rel=0.1) and result["D_m"] == pytest.approx(1.0, rel=0.1)


def test_net_charge_is_refused(tmp_path, capsys):
    """One divalent cation among monovalent ones makes a mixture of two cation species (allowed), but a
    charged one; and a file whose ions do not balance is refused too."""
    neutral = tmp_path / "mixed.gsd"
    write_salt(neutral, z_plus=1, z_minus=-1, n_formula=20, n_solvent=10, frames=10)

    def edit(frames):
        for frame in frames:
            charge = np.asarray(frame.particles.charge).copy()
            charge[0] = 2.0  # one divalent cation among monovalent ones
            frame.particles.charge = charge
        return frames

    from tests.test_transport_bad_inputs import rewritten
    assert main(["transport", str(rewritten(neutral, tmp_path / "m.gsd", edit))]) == 2
    message = capsys.readouterr().err
    assert "not electroneutral" in message and "cation+2" in message
    charged = tmp_path / "charged.gsd"
    with GSDWriter(charged, {LOG_TIMESTEP: 0.005}) as writer:
        for index in range(6):
            writer.append(Frame(np.zeros((3, 3)) + index * 0.01, np.full(3, 10.0), np.array([0, 0, 1], np.int32),
                                ("cation", "anion", "solvent"), np.zeros((3, 3), np.int32), np.zeros((0, 2), np.int64),
                                step=index, time=index * 0.005, valence=np.array([1.0, 1.0, -1.0])))
    assert main(["transport", str(charged)]) == 2
    assert "not electroneutral" in capsys.readouterr().err


def test_valences_come_from_a_topologys_charges_or_the_command_line(tmp_path, capsys):
    """A LAMMPS data file with charges +2/−1 gives the 2:1 numbers of the GSD file; partial charges are
    refused with the option that fixes them named; --cation-valence overrides."""
    gsd = tmp_path / "mx2.gsd"
    write_salt(gsd, z_plus=2, z_minus=-1, n_formula=30, n_solvent=30, frames=120, seed=3)
    frames = list(read_frames(gsd))
    dump = tmp_path / "mx2.lammpstrj"
    write_lammps_dump(gsd, dump, unwrapped=True)
    n = frames[0].n_particles

    def data_file(charges: np.ndarray) -> Path:
        path = tmp_path / f"mx2-{abs(hash(charges.tobytes()))}.data"
        atoms = [f"{i + 1} 1 {t + 1} {q:.4f} 0.0 0.0 0.0" for i, (t, q) in enumerate(zip(frames[0].typeid, charges))]
        path.write_text("\n".join(["LAMMPS data", "", f"{n} atoms", "3 atom types", "", "0.0 20.0 xlo xhi",
                                   "0.0 20.0 ylo yhi", "0.0 20.0 zlo zhi", "", "Masses", "", "1 1.0", "2 1.0",
                                   "3 1.0", "", "Atoms # full", "", *atoms, ""]))
        return path

    native = transport_json(capsys, str(gsd), "--fit", "2.5", "25")
    common = ["--format", "LAMMPSDUMP", "--unwrapped", "--cation", "type 1", "--anion", "type 2",
              "--frame-interval", "0.5", "--fit", "2.5", "25"]
    exact = data_file(frames[0].valence)
    imported = transport_json(capsys, str(dump), "--topology", str(exact), *common)
    for key in ("kappa", "molar_conductivity", "molar_conductivity_equivalent", "z_plus"):
        assert imported[key] == pytest.approx(native[key], rel=1e-5), key
    partial = data_file(frames[0].valence * 0.8)
    assert main(["transport", str(dump), "--topology", str(partial), *common]) == 2
    assert "--cation-valence" in capsys.readouterr().err
    given = transport_json(capsys, str(dump), "--topology", str(partial), *common, "--cation-valence", "2",
                           "--anion-valence", "-1")
    assert given["kappa"] == pytest.approx(native["kappa"], rel=1e-5)


def write_molecular_salt(directory: Path, *, n_pairs: int = 24, n_solvent: int = 40, frames: int = 120,
                         seed: int = 4, coordinates: str = "xu") -> tuple[Path, Path, Path]:
    """Li⁺-like point cations and rigid 3-atom anions (masses 10/20/30, charges −0.4/−0.3/−0.3) whose
    centres of mass follow random walks, in solvent, as a LAMMPS data file (molecule ids, bonds, masses,
    charges) and a dump; and, as the known answer, a GSD file of the carriers themselves (each anion at
    its centre of mass with mass 60 and valence −1). ``coordinates``: ``xu`` unwrapped, ``x`` wrapped atom
    by atom (molecules split across the box face), ``ix`` wrapped with image flags."""
    rng = np.random.default_rng(seed)
    length, dt = 20.0, 0.5
    shape = np.array([[0.0, 0, 0], [1.0, 0, 0], [0, 1.0, 0]])
    masses, charges = np.array([10.0, 20.0, 30.0]), np.array([-0.4, -0.3, -0.3])
    shape = shape - (masses[:, None] * shape).sum(axis=0) / masses.sum()  # centre of mass at the origin
    carriers = rng.uniform(-length / 2, length / 2, (2 * n_pairs + n_solvent, 3))
    diffusion = np.repeat([0.8, 0.3, 1.0], [n_pairs, n_pairs, n_solvent])
    carrier_type = np.repeat([0, 1, 2], [n_pairs, n_pairs, n_solvent]).astype(np.int32)
    carrier_mass = np.repeat([7.0, 60.0, 18.0], [n_pairs, n_pairs, n_solvent])
    if coordinates != "xu":
        carriers[n_pairs:2 * n_pairs:4, 0] = length / 2 - 0.1  # some anions start on the box face, split
    truth = directory / "carriers.gsd"
    dump_lines: list[str] = []
    with GSDWriter(truth, {LOG_TIMESTEP: 0.005}) as writer:
        for index in range(frames):
            image = np.floor((carriers + length / 2) / length).astype(np.int32)
            writer.append(Frame(carriers - image * length, np.full(3, length), carrier_type,
                                ("cation", "anion", "solvent"), image, np.zeros((0, 2), np.int64), step=index * 100,
                                time=index * dt, masses=carrier_mass,
                                valence=np.repeat([1.0, -1.0, 0.0], [n_pairs, n_pairs, n_solvent])))
            atoms, types = [], []
            for i in range(n_pairs):
                atoms.append(carriers[i])
                types.append(1)
            for i in range(n_pairs, 2 * n_pairs):
                rotation, _ = np.linalg.qr(rng.normal(size=(3, 3)))  # a fresh orientation every frame
                atoms += list(carriers[i] + shape @ rotation.T)
                types += [2, 3, 4]
            for i in range(2 * n_pairs, len(carriers)):
                atoms.append(carriers[i])
                types.append(5)
            atoms = np.array(atoms) + length / 2
            flags = np.floor(atoms / length).astype(int)
            if coordinates != "xu":
                atoms = atoms - flags * length
            columns = {"xu": "xu yu zu", "x": "x y z", "ix": "x y z ix iy iz"}[coordinates]
            dump_lines += ["ITEM: TIMESTEP", str(index * 100), "ITEM: NUMBER OF ATOMS", str(len(atoms)),
                           "ITEM: BOX BOUNDS pp pp pp", *["0.0 20.0"] * 3, f"ITEM: ATOMS id type {columns}"]
            dump_lines += [f"{k + 1} {t} {x:.9f} {y:.9f} {z:.9f}" + (" {} {} {}".format(*f) if coordinates == "ix"
                                                                     else "")
                           for k, (t, (x, y, z), f) in enumerate(zip(types, atoms.tolist(), flags.tolist()))]
            carriers = carriers + rng.normal(size=carriers.shape) * np.sqrt(2 * diffusion * dt)[:, None]
    dump = directory / "salt.lammpstrj"
    dump.write_text("\n".join(dump_lines) + "\n")
    atom_lines, bond_lines, atom_id = [], [], 0
    for i in range(n_pairs):
        atom_id += 1
        atom_lines.append(f"{atom_id} {i + 1} 1 1.0 0 0 0")
    for m in range(n_pairs):
        first = atom_id + 1
        for k in range(3):
            atom_id += 1
            atom_lines.append(f"{atom_id} {n_pairs + m + 1} {k + 2} {charges[k]} 0 0 0")
        bond_lines += [f"{2 * m + 1} 1 {first} {first + 1}", f"{2 * m + 2} 1 {first} {first + 2}"]
    for s in range(n_solvent):
        atom_id += 1
        atom_lines.append(f"{atom_id} {2 * n_pairs + s + 1} 5 0.0 0 0 0")
    data = directory / "salt.data"
    data.write_text("\n".join(["LAMMPS data", "", f"{atom_id} atoms", f"{len(bond_lines)} bonds", "5 atom types",
                               "1 bond types", "", "0.0 20.0 xlo xhi", "0.0 20.0 ylo yhi", "0.0 20.0 zlo zhi", "",
                               "Masses", "", "1 7.0", "2 10.0", "3 20.0", "4 30.0", "5 18.0", "",
                               "Atoms # full", "", *atom_lines, "", "Bonds", "", *bond_lines, ""]))
    return truth, dump, data


@pytest.mark.parametrize("group", ["residue", "fragment"])
def test_molecular_ions_are_carried_at_their_centres_of_mass(tmp_path, capsys, group):
    truth, dump, data = write_molecular_salt(tmp_path)
    native = transport_json(capsys, str(truth), "--fit", "2.5", "25")
    common = ["--topology", str(data), "--format", "LAMMPSDUMP", "--unwrapped", "--cation", "type 1",
              "--anion", "type 2 3 4", "--frame-interval", "0.5", "--fit", "2.5", "25"]
    grouped = transport_json(capsys, str(dump), *common, "--group", group)
    assert grouped["z_minus"] == -1 and grouped["n_replicas"] == 1
    for key in ("D_p", "D_m", "kappa", "molar_conductivity", "L_pm"):
        assert grouped[key] == pytest.approx(native[key], rel=1e-4, abs=1e-9), key
    assert main(["transport", str(dump), *common]) == 2  # atom by atom: partial charges, and the hint
    assert "--group" in capsys.readouterr().err
    split = ["--topology", str(data), "--format", "LAMMPSDUMP", "--unwrapped", "--cation", "type 1",
             "--anion", "type 2 3", "--frame-interval", "0.5", "--group", group]
    assert main(["transport", str(dump), *split]) == 2
    assert "takes 2 of the 3 atoms" in capsys.readouterr().err


@pytest.mark.parametrize("coordinates", ["x", "ix"])
def test_molecules_split_across_the_box_face_are_made_whole(tmp_path, capsys, coordinates):
    """Wrapped coordinates atom by atom split anions across the box face; with image flags (``ix``) or
    without (``x``, NoJump from a wrapped first frame) each anion is carried at its true centre of mass
    (not between its atoms' images, mid-box, where transport would not notice but descriptors would)."""
    truth, dump, data = write_molecular_salt(tmp_path, coordinates=coordinates)
    lines = dump.read_text().splitlines()
    per_frame = 9 + 24 + 72 + 40
    first = np.array([[float(v) for v in line.split()[2:5]] for line in lines[9:per_frame]])
    assert np.any(np.ptp(first[24:96].reshape(24, 3, 3), axis=1) > 10.0)  # split in the first frame already
    split = 0
    for start in range(0, len(lines), per_frame):
        atoms = np.array([[float(v) for v in line.split()[2:5]] for line in lines[start + 9:start + per_frame]])
        split += int(np.sum(np.ptp(atoms[24:96].reshape(24, 3, 3), axis=1) > 10.0))
    assert split > 20  # the file does split anions across the box face, many times
    from core.md.trajectory_import import ImportOptions, frames_of

    options = ImportOptions(topology=data, cation="type 1", anion="type 2 3 4", frame_interval=0.5,
                            format="LAMMPSDUMP", group="residue")
    for imported, known in zip(frames_of(dump, options), read_frames(truth)):  # where descriptors see the ions
        gap = imported.positions[:48] - known.positions[:48] - 10.0  # the dump's box is [0, L), the GSD's centred
        gap -= 20.0 * np.round(gap / 20.0)
        assert np.abs(gap).max() < 1e-4
    native = transport_json(capsys, str(truth), "--fit", "2.5", "25")
    grouped = transport_json(capsys, str(dump), "--topology", str(data), "--format", "LAMMPSDUMP", "--cation",
                             "type 1", "--anion", "type 2 3 4", "--frame-interval", "0.5", "--fit", "2.5", "25",
                             "--group", "residue")
    for key in ("D_p", "D_m", "kappa", "molar_conductivity", "L_pm"):
        assert grouped[key] == pytest.approx(native[key], rel=1e-4, abs=1e-9), key


def test_a_topology_without_masses_is_named_unless_equal_masses_is_said(tmp_path, capsys):
    gsd = tmp_path / "b.gsd"
    write_brownian(gsd, n_pairs=10, n_solvent=10, frames=20, seed=1)
    dump = tmp_path / "b.lammpstrj"
    write_lammps_dump(gsd, dump, unwrapped=True)
    common = [str(dump), "--format", "LAMMPSDUMP", "--unwrapped", "--cation", "type 1", "--anion", "type 2",
              "--frame-interval", "0.5", "--json"]
    with pytest.warns(UserWarning, match="no masses"):
        assert main(["transport", *common]) == 0
    import warnings
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(["transport", *common, "--equal-masses"]) == 0
    assert not [w for w in caught if "no masses" in str(w.message)]
    capsys.readouterr()


def test_real_units_follow_from_the_files_units_and_the_temperature(tmp_path, capsys):
    """Independent ions in a 20 Å box, D₊ = 1 and D₋ = 0.25 Å²/ps at 300 K: D in m²/s is D·10⁻⁸, and κ in S/m
    is the Nernst–Einstein value e²(N₊D₊ + N₋D₋)/(k_B T V) within its error."""
    path = tmp_path / "angstrom.gsd"
    write_brownian(path, n_pairs=100, n_solvent=50, frames=300, seed=8)
    reduced = transport_json(capsys, str(path), "--fit", "2.5", "25")
    real = transport_json(capsys, str(path), "--fit", "2.5", "25", "--units", "real", "--temperature", "300",
                          "--length-unit", "angstrom", "--time-unit", "ps")
    assert real["D_p"] == pytest.approx(reduced["D_p"] * 1e-8, rel=1e-12)
    e, k_b, n_a = 1.602176634e-19, 1.380649e-23, 6.02214076e23
    volume = (20e-10) ** 3
    nernst_einstein = e ** 2 * 100 * (real["D_p"] + real["D_m"]) / (k_b * 300 * volume)
    assert real["kappa"] == pytest.approx(nernst_einstein, abs=3 * real["kappa_err"])
    concentration = 100 / volume / n_a  # mol/m³
    assert real["molar_conductivity"] == pytest.approx(real["kappa"] / concentration, rel=1e-9)
    assert real["units"]["kappa"] == "S/m"
    assert main(["transport", str(path), "--units", "real"]) == 2
    assert "--temperature" in capsys.readouterr().err
    assert main(["transport", str(path), "--temperature", "300"]) == 2
    assert "only with --units real" in capsys.readouterr().err


def test_a_frame_interval_that_contradicts_the_files_own_times_is_refused(brownian, tmp_path, capsys):
    """An XTC file states its frame times: a --frame-interval that disagrees exits 2 naming both; one
    that agrees changes nothing. (A LAMMPS dump states none: the test above gives it one.)"""
    import MDAnalysis as mda

    universe = mda.Universe(str(brownian))
    xtc = tmp_path / "run.xtc"
    with mda.Writer(str(xtc), universe.atoms.n_atoms) as writer:
        for index, timestep in enumerate(universe.trajectory):
            timestep.time = 0.5 * index
            writer.write(universe.atoms)
    common = ["--topology", str(brownian), "--fit", "5", "25", "--equal-masses"]
    refused = main(["transport", str(xtc), *common, "--frame-interval", "0.7"])
    message = capsys.readouterr().err
    assert refused == 2 and "states 0.5 between frames" in message and "--frame-interval says 0.7" in message
    stated = transport_json(capsys, str(xtc), *common)
    agreed = transport_json(capsys, str(xtc), *common, "--frame-interval", "0.5")
    assert agreed == stated
    native = transport_json(capsys, str(brownian), "--fit", "5", "25")
    assert stated["D_p"] == pytest.approx(native["D_p"], rel=1e-3)   # XTC keeps 10⁻³ of a length unit


@pytest.mark.parametrize("damage, message", [("appended after a restart", "times must increase strictly"),
                                             ("steps backwards", "times must increase strictly"),
                                             ("log-spaced steps", "not equally spaced")])
def test_a_lammps_dump_whose_steps_repeat_run_backwards_or_spread_unevenly_is_refused(brownian, tmp_path, capsys,
                                                                                     damage, message):
    """The same rule as for GSD files (core/md/trajectory_checks.py): times increase strictly. A dump appended after
    a restart repeats steps (κ was 9 % high, all frames used); one whose steps run backwards was accepted; one
    written at steps 1, 2, 4, … 1024 (like MDAnalysisTests' test_non_linear.dump) was read as evenly spaced."""
    dump = tmp_path / "run.lammpstrj"
    write_lammps_dump(brownian, dump, unwrapped=True)
    frames = dump.read_text().split("ITEM: TIMESTEP\n")[1:]
    if damage == "appended after a restart":
        frames = frames[:80] + frames[60:]                 # steps of frames 60–79 appear twice
    elif damage == "steps backwards":
        frames = frames[:40] + frames[40:50][::-1] + frames[50:]
    else:
        frames = [f"{2 ** k}\n" + frame.split("\n", 1)[1] for k, frame in enumerate(frames[:11])]
    dump.write_text("".join("ITEM: TIMESTEP\n" + frame for frame in frames))
    status = main(["transport", str(dump), "--cation", "type 1", "--anion", "type 2", "--equal-masses",
                   "--frame-interval", "0.5", "--unwrapped"])
    err = capsys.readouterr().err
    assert status == 2 and message in err and str(dump) in err, err
    assert "Traceback" not in err
