"""The ``hoomd`` simulator against analytic energies and forces, limits, and the ``openmm`` simulator.

Runs where ``import hoomd`` works (HOOMD-blue is not on PyPI: conda install -c conda-forge hoomd).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

hoomd = pytest.importorskip("hoomd", reason="HOOMD-blue is not installed (conda install -c conda-forge hoomd)")

from core.datatypes import SimulationJob, SystemSpec, TaskContext  # noqa: E402
from core.md.trajectory import read_frames  # noqa: E402
from plugins.simulators.hoomd_simulator import HOOMDConfig, HOOMDSimulator, evaluate  # noqa: E402
from tests.model_systems import WCA_CUT, settings, topology_of  # noqa: E402


def energy_of(topology, positions, lb=5.0, which=("wca", "coulomb", "bond"), accuracy=1e-5):
    centred = np.asarray(positions, dtype=float)
    centred = centred - topology.box_length * np.round(centred / topology.box_length)
    return evaluate(topology, centred, bjerrum_length=lb, settings=settings(),
                    config=HOOMDConfig(pppm_accuracy=accuracy), which=which)


@pytest.mark.parametrize(("lb", "r"), [(2.5, 1.5), (10.0, 2.5)])
def test_two_ions_energy_and_force(lb: float, r: float) -> None:
    length = 20.0
    energy, forces = energy_of(topology_of([1, -1], length), [[0, 0, 0], [r, 0, 0]], lb, which=("coulomb",))
    volume = length ** 3
    assert energy == pytest.approx(-lb / r - 2 * math.pi * lb * r ** 2 / (3 * volume), rel=1e-3)
    assert forces[0][0] == pytest.approx(lb / r ** 2 - 4 * math.pi * lb * r / (3 * volume), rel=1e-3)


def test_rock_salt_madelung_energy() -> None:
    spacing, per_edge, lb = 1.5, 6, 4.0
    grid = np.stack(np.meshgrid(*(np.arange(per_edge),) * 3, indexing="ij"), axis=-1).reshape(-1, 3)
    valence = np.where(grid.sum(axis=1) % 2 == 0, 1.0, -1.0)
    topology = topology_of(valence, per_edge * spacing)
    energy, _ = energy_of(topology, grid * spacing - per_edge * spacing / 2, lb, which=("coulomb",))
    assert energy / (len(valence) / 2) == pytest.approx(-1.747565 * lb / spacing, rel=1e-3)


@pytest.mark.parametrize("r", [0.95, 1.0, 1.1, 1.13, 2.0])
def test_wca_energy_and_force(r: float) -> None:
    energy, forces = energy_of(topology_of([0, 0], 10.0), [[0, 0, 0], [r, 0, 0]], which=("wca",))
    inside = r < WCA_CUT
    assert energy == pytest.approx(4 * (r ** -12 - r ** -6) + 1 if inside else 0.0, abs=1e-9)
    assert forces[1][0] == pytest.approx(24 * (2 * r ** -13 - r ** -7) if inside else 0.0, abs=1e-9)


def test_bonded_pair_feels_only_its_bond_across_the_box_edge() -> None:
    length = 12.0
    topology = topology_of([1, -1], length, bonds=[(0, 1)])
    energy, forces = energy_of(topology, [[-length / 2 + 0.2, 0, 0], [length / 2 - 0.3, 0, 0]], lb=10.0)
    # Bond ½k(r − r0)² plus the Ewald image term −2π l_B r²/(3V) (partners are excluded, images are not).
    assert energy == pytest.approx(12.5 - 2 * math.pi * 10 * 0.25 / (3 * length ** 3), abs=2e-3)
    assert forces[0][0] == pytest.approx(50.0, abs=0.05)


SMALL = SystemSpec("c0.05_lB5", 0.05, 5.0, 0.0, 500, 0.8, 2, 11)


def job_for(tmp_path: Path, system: SystemSpec, replica: int = 0, **changes) -> SimulationJob:
    return SimulationJob(system, replica, system.replica_seed(replica), settings(**changes), tmp_path / "out.gsd")


def test_thermostat_holds_kT_and_nve_conserves_energy(tmp_path: Path) -> None:
    job = job_for(tmp_path, SMALL, equilibration_steps=1000)
    session = HOOMDSimulator(HOOMDConfig(device="CPU")).prepare(job, threads=1)
    temperatures = []
    for _ in range(30):
        session.run(50)
        temperatures.append(2 * session.kinetic_energy() / (3 * SMALL.n_particles - 3))
    assert np.mean(temperatures) == pytest.approx(1.0, abs=0.05)
    nve = HOOMDSimulator(HOOMDConfig(device="CPU", thermostat="none", pppm_accuracy=1e-4)).prepare(job, threads=1)
    totals = []
    for _ in range(15):
        nve.run(100)
        totals.append(nve.potential_energy() + nve.kinetic_energy())
    assert (max(totals) - min(totals)) / SMALL.n_particles < 5e-3


def test_bonded_pairs_stay_near_r0_and_frames_follow_the_schedule(tmp_path: Path) -> None:
    system = SystemSpec("paired", 0.05, 5.0, 0.4, 500, 0.8, 1, 5)
    job = job_for(tmp_path, system, steps=1000, write_period=250)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    meta = HOOMDSimulator(HOOMDConfig(device="CPU")).simulate(job, TaskContext(1, scratch, "paired r0"))
    assert meta["engine"] == "hoomd"
    frames = list(read_frames(job.trajectory_path))
    assert [f.step for f in frames] == [0, 250, 500, 750, 1000]
    bonds = frames[0].bonds
    assert len(bonds) == 12
    for frame in frames:
        delta = frame.positions[bonds[:, 0]] - frame.positions[bonds[:, 1]]
        delta -= frame.box * np.round(delta / frame.box)
        lengths = np.linalg.norm(delta, axis=1)
        assert lengths.mean() == pytest.approx(1.0, abs=0.1) and lengths.max() < 1.6


def test_same_seed_same_start_and_replicas_differ(tmp_path: Path) -> None:
    plugin = HOOMDSimulator(HOOMDConfig(device="CPU"))
    starts = [plugin.prepare(job_for(tmp_path, SMALL, replica=r, equilibration_steps=20), threads=1)
              .unwrapped_positions() for r in (0, 0, 1)]
    np.testing.assert_array_equal(starts[0], starts[1])
    assert not np.allclose(starts[0], starts[2])


def cation_anion_contacts_and_diffusion(path: Path) -> tuple[float, float]:
    """(mean number of anions within 1.6σ of a cation, ion mean-squared displacement per time, σ²/τ)."""
    frames = list(read_frames(path))
    contacts = []
    for frame in frames:
        sign = frame.ion_sign
        cations, anions = frame.positions[sign == 1], frame.positions[sign == -1]
        delta = cations[:, None] - anions[None]
        delta -= frame.box * np.round(delta / frame.box)
        contacts.append(np.mean(np.sum(np.linalg.norm(delta, axis=-1) < 1.6, axis=1)))
    ions = frames[0].ion_sign != 0
    displacement = frames[-1].unwrapped_positions()[ions] - frames[0].unwrapped_positions()[ions]
    return float(np.mean(contacts)), float(np.mean(np.sum(displacement ** 2, axis=1))) / (frames[-1].time
                                                                                          - frames[0].time)


def test_hoomd_and_openmm_agree_on_structure_and_diffusion(tmp_path: Path) -> None:
    pytest.importorskip("openmm", reason="OpenMM is not installed")
    from plugins.simulators.openmm_simulator import OpenMMConfig, OpenMMSimulator

    system = SystemSpec("c0.05_lB5", 0.05, 5.0, 0.0, 1000, 0.8, 1, 3)
    results = {}
    for name, plugin in (("hoomd", HOOMDSimulator(HOOMDConfig(device="CPU"))),
                         ("openmm", OpenMMSimulator(OpenMMConfig()))):
        directory = tmp_path / name
        directory.mkdir()
        # Ion association takes tens of τ to settle from the lattice start: equilibrate 30 τ.
        job = SimulationJob(system, 0, 5, settings(steps=6000, equilibration_steps=6000, write_period=200),
                            directory / "out.gsd")
        plugin.simulate(job, TaskContext(2, directory, name))
        results[name] = cation_anion_contacts_and_diffusion(job.trajectory_path)
    (hoomd_contacts, hoomd_msd), (openmm_contacts, openmm_msd) = results["hoomd"], results["openmm"]
    # One short replica each: statistical agreement within 25 % (measured: 4–15 % and 6 %).
    assert hoomd_contacts == pytest.approx(openmm_contacts, rel=0.25)
    assert hoomd_msd == pytest.approx(openmm_msd, rel=0.25)


def divalent_liquid(tmp_path: Path):
    """(topology, positions) of an equilibrated liquid with bonded pairs, divalent cations and extra anions."""
    from core.md.electrolyte import TYPES, Topology, build_topology

    system = SystemSpec("paired", 0.05, 7.0, 0.3, 500, 0.8, 1, 5)
    session = HOOMDSimulator(HOOMDConfig(device="CPU")).prepare(job_for(tmp_path, system, equilibration_steps=300),
                                                                threads=1)
    positions = session.unwrapped_positions()
    topology = build_topology(system)
    valence, typeid = topology.valence.copy(), topology.typeid.copy()
    cations = np.flatnonzero(valence > 0)
    valence[cations[: len(cations) // 3]] = 2.0   # some divalent cations, balanced by solvent turned anion
    solvent = np.flatnonzero(valence == 0)[: len(cations) // 3]
    valence[solvent], typeid[solvent] = -1.0, TYPES.index("anion")
    assert valence.sum() == 0 and len(topology.bonds) > 0
    return Topology(typeid, valence, topology.bonds, topology.box_length), positions, system.bjerrum_length


@pytest.mark.parametrize("accuracy", [5e-4, 1e-5])
def test_ion_pair_coulomb_equals_stock_pppm_and_a_full_ewald_sum(tmp_path: Path, accuracy: float) -> None:
    """Ions only on the mesh and in the real-space list: the stock all-particle forces to rounding, and a
    plain Ewald sum (OpenMM Reference, 10⁻⁸) within the configured accuracy."""
    pytest.importorskip("openmm", reason="OpenMM is not installed")
    from tests.test_openmm_simulator import full_ewald_forces

    topology, positions, lb = divalent_liquid(tmp_path)
    centred = positions - topology.box_length * np.round(positions / topology.box_length)
    forces = {}
    for method in ("ion-pairs", "all-particles"):
        forces[method] = evaluate(topology, centred, bjerrum_length=lb, settings=settings(), which=("coulomb",),
                                  config=HOOMDConfig(pppm_accuracy=accuracy, coulomb_method=method))
    reference = full_ewald_forces(topology, centred, lb)
    scale = np.sqrt(np.mean(np.sum(reference ** 2, axis=1)))
    (ion_energy, ion_forces), (all_energy, all_forces) = forces["ion-pairs"], forces["all-particles"]
    assert ion_energy == pytest.approx(all_energy, rel=1e-9)
    assert np.sqrt(np.mean(np.sum((ion_forces - all_forces) ** 2, axis=1))) / scale < 1e-9
    error = np.sqrt(np.mean(np.sum((ion_forces - reference) ** 2, axis=1))) / scale
    assert accuracy / 100 < error < accuracy


def test_a_charged_solvent_bead_is_refused() -> None:
    from core.md.electrolyte import Topology

    topology = topology_of([1, -1, 0], 10.0)
    charged = Topology(topology.typeid, np.array([1.0, -2.0, 1.0]), topology.bonds, topology.box_length)
    with pytest.raises(ValueError, match="solvent bead carries charge"):
        evaluate(charged, np.array([[0, 0, 0], [2, 0, 0], [4, 0, 0]], float), bjerrum_length=5.0,
                 settings=settings(), config=HOOMDConfig())


def test_restored_thermostat_variables_are_those_saved(tmp_path: Path) -> None:
    """A checkpoint carries the MTTK (ξ, η); a restored session starts from them, not from zero."""
    from plugins.simulators.hoomd_simulator import read_state

    job = job_for(tmp_path, SMALL, equilibration_steps=200)
    plugin = HOOMDSimulator(HOOMDConfig(device="CPU"))
    session = plugin.prepare(job, threads=1)
    session.run(300)
    saved = session.save_state()
    dof = read_state(saved)[1]
    assert dof is not None and dof != (0.0, 0.0)
    assert plugin.prepare(job, threads=1, state=saved).thermostat.translational_dof == pytest.approx(dof)
