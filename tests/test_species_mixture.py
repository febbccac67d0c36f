"""More than two ionic species: Li⁺, Mg²⁺ and TFSI⁻ (some Li–TFSI pairs moving as one) with a known
Onsager matrix, read from a LAMMPS data file and dump with ``--species``; the same through the
``trajectories`` simulator's GSD file; MDAnalysis' MSD on the same atoms; and every bad way to name
species refused with exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core.cli import main

pytest.importorskip("MDAnalysis", reason="MDAnalysis is not installed (pip install MDAnalysis)")

LENGTH = 20.0
INTERVAL = 0.5
#: type -> (name, valence, mass, free diffusion coefficient σ²/τ)
SPECIES = {1: ("Li", 1, 7.0, 0.6), 2: ("Mg", 2, 24.0, 0.3), 3: ("TFSI", -1, 140.0, 0.8), 4: ("solvent", 0, 90.0, 1.0)}
COUNTS = {1: 40, 2: 20, 3: 80, 4: 60}
PAIRS, PAIR_D = 30, 0.3  # the first PAIRS Li and TFSI move together as one walker


def walkers(pairs: int = PAIRS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(type per particle, walker per particle, D per walker): a pair is one walker carrying two particles."""
    types = np.repeat(list(COUNTS), list(COUNTS.values()))
    walker = np.arange(len(types))
    li, tfsi = np.flatnonzero(types == 1), np.flatnonzero(types == 3)
    walker[tfsi[:pairs]] = li[:pairs]
    _, walker = np.unique(walker, return_inverse=True)
    diffusion = np.zeros(walker.max() + 1)
    for particle, kind in enumerate(types):
        diffusion[walker[particle]] = SPECIES[kind][3]
    diffusion[walker[li[:pairs]]] = PAIR_D
    return types, walker, diffusion


def known_matrix(pairs: int = PAIRS) -> dict[str, float]:
    """L^ab and L_self^aa (1/(σ τ kT)) of the walkers relative to the fixed, mass-weighted centre of mass.

    With r_i' = W_{j(i)} − Σ_k μ_k W_k (μ_k the mass fraction walker k carries), the collective
    X_a' = Σ_k (c_ak − N_a μ_k) W_k, so d/dt <ΔX_a'·ΔX_b'> = Σ_k 6 D_k (c_ak − N_a μ_k)(c_bk − N_b μ_k).
    """
    types, walker, diffusion = walkers(pairs)
    mass = np.array([SPECIES[t][2] for t in types])
    mu = np.bincount(walker, weights=mass) / mass.sum()
    volume = LENGTH ** 3
    out = {}
    ions = [t for t in SPECIES if SPECIES[t][1] != 0]
    carried = {t: np.bincount(walker[types == t], minlength=len(mu)) for t in ions}
    for a in ions:
        weights_a = carried[a] - COUNTS[a] * mu
        for b in ions:
            weights_b = carried[b] - COUNTS[b] * mu
            out[f"L_{SPECIES[a][0]}_{SPECIES[b][0]}"] = float(np.sum(diffusion * weights_a * weights_b)) / volume
        own = walker[types == a]
        per_ion = [np.sum(diffusion * ((np.arange(len(mu)) == j) - mu) ** 2) for j in own]
        out[f"L_self_{SPECIES[a][0]}"] = float(np.sum(per_ion)) / volume
    return out


def write_mixture(directory: Path, frames: int = 800, seed: int = 11) -> tuple[Path, Path]:
    """A LAMMPS data file (charges, masses) and an unwrapped dump of the walkers, centre of mass held fixed."""
    rng = np.random.default_rng(seed)
    types, walker, diffusion = walkers()
    mass = np.array([SPECIES[t][2] for t in types])
    offset = rng.uniform(0, LENGTH, (len(types), 3))
    walk = np.zeros((len(diffusion), 3))
    lines = []
    for index in range(frames):
        positions = offset + walk[walker]
        positions -= np.average(positions - offset, axis=0, weights=mass)  # the centre of mass stays put
        lines += ["ITEM: TIMESTEP", str(index * 100), "ITEM: NUMBER OF ATOMS", str(len(types)),
                  "ITEM: BOX BOUNDS pp pp pp", *[f"0.0 {LENGTH!r}"] * 3, "ITEM: ATOMS id type xu yu zu"]
        lines += [f"{i + 1} {t} {x:.9f} {y:.9f} {z:.9f}" for i, (t, (x, y, z)) in enumerate(zip(types, positions))]
        walk += rng.normal(size=walk.shape) * np.sqrt(2 * diffusion * INTERVAL)[:, None]
    dump = directory / "mixture.lammpstrj"
    dump.write_text("\n".join(lines) + "\n")
    atoms = [f"{i + 1} {i + 1} {t} {SPECIES[t][1]:.1f} 0.0 0.0 0.0" for i, t in enumerate(types)]
    data = directory / "mixture.data"
    data.write_text("\n".join(["LAMMPS data", "", f"{len(types)} atoms", "4 atom types", "",
                               f"0.0 {LENGTH} xlo xhi", f"0.0 {LENGTH} ylo yhi", f"0.0 {LENGTH} zlo zhi", "",
                               "Masses", "", *[f"{t} {SPECIES[t][2]}" for t in SPECIES], "", "Atoms # full", "",
                               *atoms, ""]))
    return data, dump


SELECTIONS = ["--species", "Li", "type 1", "--species", "Mg", "type 2", "--species", "TFSI", "type 3"]


@pytest.fixture(scope="module")
def mixture(tmp_path_factory) -> tuple[Path, Path]:
    return write_mixture(tmp_path_factory.mktemp("mixture"))


def pooled(capsys, *arguments: str) -> dict:
    status = main(["transport", *arguments, "--json"])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    return json.loads(captured.out)["pooled"]


def test_a_three_species_mixture_gives_the_known_onsager_matrix(mixture, capsys):
    data, dump = mixture
    row = pooled(capsys, str(dump), "--topology", str(data), "--format", "LAMMPSDUMP", "--frame-interval",
                 str(INTERVAL), "--fit", "2.5", "50", *SELECTIONS)
    known = known_matrix()
    names = ["Li", "Mg", "TFSI"]
    assert row["n_species"] == 3 and row["molar_conductivity_basis"] == "equivalent"
    assert [row[f"z_{n}"] for n in names] == [1, 2, -1] and [row[f"n_{n}"] for n in names] == [40, 20, 80]
    for a, first in enumerate(names):
        for second in names[a:]:
            key = f"L_{first}_{second}"
            assert row[key] == pytest.approx(known[key], abs=4 * row[f"{key}_err"]), key
        key = f"L_self_{first}"
        assert row[key] == pytest.approx(known[key], abs=4 * row[f"{key}_err"]), key
    # the paired Li and TFSI move together: their cross term is positive, where unpaired ions would give
    # a negative one (the centre-of-mass correction alone); the measured one is the paired one
    unpaired = known_matrix(pairs=0)["L_Li_TFSI"]
    assert unpaired < 0 < known["L_Li_TFSI"]
    assert abs(row["L_Li_TFSI"] - unpaired) > 4 * row["L_Li_TFSI_err"]
    valence = dict(zip(names, (1, 2, -1)))
    kappa = sum(valence[a] * valence[b] * row[f"L_{a}_{b}" if i <= j else f"L_{b}_{a}"]
                for i, a in enumerate(names) for j, b in enumerate(names))
    assert row["kappa"] == pytest.approx(kappa, rel=1e-9)  # κ = Σ z_a z_b L^ab exactly (the same linear fit)
    equivalents = (40 * 1 + 20 * 2) / LENGTH ** 3
    assert row["molar_conductivity"] == pytest.approx(row["kappa"] / equivalents, rel=1e-9)
    ne = sum(valence[n] ** 2 * row[f"L_self_{n}"] for n in names) / equivalents
    assert row["molar_conductivity_ne"] == pytest.approx(ne, rel=1e-9)
    for name, kind in (("Li", 1), ("Mg", 2)):
        assert row[f"D_{name}"] == pytest.approx(known[f"L_self_{name}"] * LENGTH ** 3 / COUNTS[kind],
                                                 abs=4 * row[f"D_{name}_err"])


def test_the_species_self_msd_is_mdanalysis_msd_of_the_same_atoms(mixture):
    """The centre of mass is fixed in the file, so MDAnalysis' EinsteinMSD of the Mg atoms is our self term."""
    import MDAnalysis as mda
    from MDAnalysis.analysis.msd import EinsteinMSD

    from core.md.trajectory_import import ImportOptions
    from core.transport.replica_files import replica_curves

    data, dump = mixture
    options = ImportOptions(topology=data, format="LAMMPSDUMP", frame_interval=INTERVAL,
                            species=(("Li", "type 1"), ("Mg", "type 2"), ("TFSI", "type 3")))
    curves = replica_curves(dump, import_options=options)
    universe = mda.Universe(str(data), str(dump), format="LAMMPSDUMP", lammps_coordinate_convention="unwrapped")
    reference = EinsteinMSD(universe, select="type 2", msd_type="xyz", fft=True).run()
    ours = curves.correlations["x:1"] / COUNTS[2]
    np.testing.assert_allclose(ours[1:200], reference.results.timeseries[1:200], rtol=1e-4)


def test_the_trajectories_simulator_keeps_the_species_for_the_pipeline(mixture, tmp_path):
    """The imported GSD file carries each ion's species: transport on it, read natively, is the same."""
    from core.datatypes import SimulationJob, SystemSpec, TaskContext
    from core.plugin_system.registry import get_registry
    from core.md.trajectory import read_frames
    from core.transport.onsager import system_transport
    from core.transport.replica_files import replica_curves
    from core.md.trajectory_import import ImportOptions
    from tests.model_systems import settings

    data, dump = mixture
    plugin = get_registry().instantiate("simulator", "trajectories", {
        "pattern": str(dump), "topology": str(data), "format": "LAMMPSDUMP", "frame_interval": INTERVAL,
        "species": {"Li": "type 1", "Mg": "type 2", "TFSI": "type 3"}})
    system = SystemSpec("mixture", 0.005, 5.0, 0.0, 200, 0.025, 1, 1)
    job = SimulationJob(system, 0, 1, settings(), tmp_path / "out.gsd")
    plugin.simulate(job, TaskContext(threads=1, scratch_dir=tmp_path, label="mixture"))
    frame = next(read_frames(job.trajectory_path))
    assert frame.species_names == ("Li", "Mg", "TFSI")
    native = system_transport([replica_curves(job.trajectory_path)], fit_window=(2.5, 50)).row
    options = ImportOptions(topology=data, format="LAMMPSDUMP", frame_interval=INTERVAL,
                            species=(("Li", "type 1"), ("Mg", "type 2"), ("TFSI", "type 3")))
    direct = system_transport([replica_curves(dump, import_options=options)], fit_window=(2.5, 50)).row
    for key in ("kappa", "molar_conductivity", "L_Li_TFSI", "L_Mg_Mg", "D_Mg", "L_self_TFSI"):
        assert native[key] == pytest.approx(direct[key], rel=1e-5), key


@pytest.mark.parametrize("arguments, expected", [
    (["--species", "Li", "type 1", "--cation", "type 2"], "--cation with --species"),
    (["--species", "Li", "type 1"], "at least two"),
    (["--species", "Li", "type 1", "--species", "Li", "type 2"], "must differ"),
    (["--species", "1Li", "type 1", "--species", "X", "type 3"], "species name '1Li'"),
    (["--species", "plus", "type 1", "--species", "X", "type 3"], "is reserved"),
    (["--species", "Li", "type 1 2", "--species", "Mg", "type 2"], "overlap"),
    (["--species", "Li", "type 1", "--species", "T", "type 3", "--valence", "Mg", "2"], "not a species"),
    (["--species", "Li", "type 1", "--species", "T", "type 3", "--valence", "Li", "two"], "expected a number"),
    (["--species", "Li", "type 1", "--species", "T", "type 3", "--valence", "Li", "0"], "non-zero"),
    (["--valence", "Li", "1"], "--valence NAME Z applies to species"),
    (["--species", "M", "type 1 2", "--species", "T", "type 3"], "one valence per species"),
    (["--species", "Li", "type 1", "--species", "S", "type 4", "--species", "T", "type 3"], "neutral"),
    (["--species", "Li", "type 1", "--species", "T", "type 3"], "not electroneutral"),
])
def test_bad_species_exit_2_naming_what_is_wrong(mixture, capsys, arguments, expected):
    data, dump = mixture
    status = main(["transport", str(dump), "--topology", str(data), "--format", "LAMMPSDUMP",
                   "--frame-interval", str(INTERVAL), *arguments])
    error = capsys.readouterr().err
    assert status == 2 and expected in error and "Traceback" not in error


def test_species_without_charges_need_their_valence(mixture, tmp_path, capsys):
    """A topology whose charges are all zero: named species need --valence; with it, the numbers are the
    charged file's."""
    data, dump = mixture
    bare = tmp_path / "bare.data"
    bare.write_text(_without_charges(data.read_text()))
    common = [str(dump), "--format", "LAMMPSDUMP", "--frame-interval", str(INTERVAL), "--fit", "2.5", "50",
              *SELECTIONS]
    assert main(["transport", *common, "--topology", str(bare)]) == 2
    assert "--valence Li Z" in capsys.readouterr().err
    given = pooled(capsys, *common, "--topology", str(bare), "--valence", "Li", "1", "--valence", "Mg", "2",
                   "--valence", "TFSI", "-1")
    charged = pooled(capsys, *common, "--topology", str(data))
    assert given["kappa"] == pytest.approx(charged["kappa"], rel=1e-9)


def _without_charges(text: str) -> str:
    """The data file with every charge 0 (masses kept)."""
    head, atoms = text.split("Atoms # full")
    rows = [line.split() for line in atoms.strip().splitlines()]
    return head + "Atoms # full\n\n" + "\n".join(" ".join([*r[:3], "0.0", *r[4:]]) for r in rows) + "\n"


def test_the_mixture_error_bars_match_the_scatter_over_independent_walks():
    """16 independent realisations of the mixture: each coefficient's reported error is its scatter."""
    from core.md.species import IonSpecies
    from core.transport.curves import curves_from_positions
    from core.transport.onsager import system_transport

    types, walker, diffusion = walkers()
    mass = np.array([SPECIES[t][2] for t in types])
    species = tuple(IonSpecies(SPECIES[t][0], SPECIES[t][1], COUNTS[t]) for t in (1, 2, 3))
    index = {1: 0, 2: 1, 3: 2}
    keys = ("kappa", "L_Li_TFSI", "L_Mg_Mg", "L_self_Li", "D_Mg")
    scores: dict[str, list[float]] = {key: [] for key in keys}
    known = known_matrix()
    for seed in range(16):
        rng = np.random.default_rng(100 + seed)
        steps = rng.normal(size=(300, len(diffusion), 3)) * np.sqrt(2 * diffusion * INTERVAL)[None, :, None]
        positions = np.cumsum(steps, axis=0)[:, walker]
        positions -= np.average(positions, axis=1, weights=mass)[:, None]
        cations, anions = positions[:, np.isin(types, (1, 2))], positions[:, types == 3]
        curves = curves_from_positions(cations, anions, INTERVAL, LENGTH ** 3, species=species,
                                       cation_species=np.array([index[t] for t in types[np.isin(types, (1, 2))]]),
                                       anion_species=np.full(COUNTS[3], 2))
        row = system_transport([curves], fit_window=(2.5, 40.0), relaxation=False).row
        expected = {"kappa": sum(SPECIES[a][1] * SPECIES[b][1] * known[f"L_{SPECIES[a][0]}_{SPECIES[b][0]}"]
                                 for a in (1, 2, 3) for b in (1, 2, 3)),
                    "D_Mg": known["L_self_Mg"] * LENGTH ** 3 / COUNTS[2],
                    **{key: known[key] for key in keys if key.startswith("L_")}}
        for key in keys:
            scores[key].append((row[key] - expected[key]) / row[f"{key}_err"])
    for key, values in scores.items():
        assert abs(np.mean(values)) < 0.9, (key, np.mean(values))
        assert 0.6 < np.std(values, ddof=1) < 1.5, (key, np.std(values, ddof=1))


def test_real_units_convert_every_species_d_and_the_tables_agree(mixture, capsys):
    """--units real: each species' D (and its error) is converted like D₊ (Å²/ps to m²/s: ×10⁻⁸), κ and Λ like
    the salt's, and the Onsager matrix stays in the file's units, as ``units`` says; the printed table shows
    the same converted numbers."""
    data, dump = mixture
    common = [str(dump), "--topology", str(data), "--format", "LAMMPSDUMP", "--frame-interval", str(INTERVAL),
              "--fit", "2.5", "50", *SELECTIONS]
    reduced = pooled(capsys, *common)
    real = pooled(capsys, *common, "--units", "real", "--temperature", "300", "--length-unit", "angstrom",
                  "--time-unit", "ps")
    for name in ("Li", "Mg", "TFSI"):
        for key in (f"D_{name}", f"D_{name}_err"):
            assert real[key] == pytest.approx(reduced[key] * 1e-8, rel=1e-12), key
        assert real[f"L_self_{name}"] == reduced[f"L_self_{name}"]
    conductivity = 1.602176634e-19 ** 2 / (1.380649e-23 * 300) / (1e-10 * 1e-12)
    assert real["kappa"] == pytest.approx(reduced["kappa"] * conductivity, rel=1e-12)
    assert real["molar_conductivity"] == pytest.approx(
        reduced["molar_conductivity"] * conductivity * 6.02214076e23 * 1e-30, rel=1e-12)
    assert real["units"]["D"] == "m^2/s" and "file units" in real["units"]["L"]
    assert main(["transport", *common, "--units", "real", "--temperature", "300"]) == 0
    printed = capsys.readouterr().out
    assert f"{real['D_Li']:.4g}" in printed and f"{real['molar_conductivity']:.4g}" in printed
