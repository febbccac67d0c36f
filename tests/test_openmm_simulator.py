"""The ``openmm`` simulator against analytic energies, forces, limits and its own run control."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

openmm = pytest.importorskip("openmm", reason="OpenMM is not installed (pip install 'localcond[openmm]')")

from core.datatypes import SimulationJob, SystemSpec, TaskContext  # noqa: E402
from core.md.electrolyte import Topology  # noqa: E402
from core.md.production_loop import SimulationBlewUp  # noqa: E402
from core.md.trajectory import read_frames, read_log  # noqa: E402
from core.md.electrolyte import build_topology  # noqa: E402
from plugins.simulators.openmm_model import (COULOMB_GROUP, WCA_GROUP, CoulombSettings,  # noqa: E402
                                             build_system, choose_coulomb_method, evaluate, pme_parameters)
from plugins.simulators.openmm_simulator import OpenMMConfig, OpenMMSimulator  # noqa: E402
from plugins.simulators.openmm_units import COULOMB_CONSTANT, MOLAR_GAS_CONSTANT, charge_unit  # noqa: E402
from tests.model_systems import WCA_CUT, settings, topology_of  # noqa: E402

MADELUNG_ROCK_SALT = 1.747565


METHODS = ("all-particles", "ion-pairs")


def system_of(topology: Topology, lb: float = 5.0, tolerance: float = 1e-5, cutoff: float | None = None,
              method: str = "all-particles"):
    return build_system(topology, bjerrum_length=lb, kT=1.0, wca_cutoff=WCA_CUT, bond_k=100.0, bond_r0=1.0,
                        coulomb=CoulombSettings(cutoff, tolerance, method))


def test_unit_mapping_matches_the_installed_engine() -> None:
    assert MOLAR_GAS_CONSTANT == pytest.approx(
        openmm.unit.MOLAR_GAS_CONSTANT_R.value_in_unit(openmm.unit.kilojoule_per_mole / openmm.unit.kelvin), rel=1e-12)
    system = openmm.System()
    for _ in range(2):
        system.addParticle(1.0)
    force = openmm.NonbondedForce()
    force.setNonbondedMethod(openmm.NonbondedForce.NoCutoff)
    force.addParticle(1.0, 1.0, 0.0)
    force.addParticle(1.0, 1.0, 0.0)
    system.addForce(force)
    energy, _ = evaluate(system, np.array([[0, 0, 0], [1.0, 0, 0]]))
    assert energy == pytest.approx(COULOMB_CONSTANT, rel=1e-12)
    assert charge_unit(7.0, 1.0) ** 2 * COULOMB_CONSTANT == pytest.approx(7.0)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("platform", ["Reference", "CPU"])
@pytest.mark.parametrize(("lb", "r"), [(2.5, 1.5), (10.0, 2.5)])
def test_two_ions_energy_and_force(platform: str, lb: float, r: float, method: str) -> None:
    length = 30.0
    system = system_of(topology_of([1, -1], length), lb=lb, method=method)
    positions = np.array([[0, 0, 0], [r, 0, 0]]) + length / 2
    energy, forces = evaluate(system, positions, platform, groups={COULOMB_GROUP})
    volume = length ** 3
    # Ewald (tin-foil) energy of a neutral pair = −l_B/r − 2π l_B r²/(3V) + O(r⁴/L⁵).
    assert energy == pytest.approx(-lb / r - 2 * math.pi * lb * r ** 2 / (3 * volume), rel=2e-5)
    expected_force = lb / r ** 2 - 4 * math.pi * lb * r / (3 * volume)
    np.testing.assert_allclose(forces[0], [expected_force, 0, 0], atol=2e-5 * lb)
    np.testing.assert_allclose(forces[1], -forces[0], atol=2e-5 * lb)  # PME conserves momentum only approximately


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("platform", ["Reference", "CPU"])
def test_rock_salt_madelung_energy(platform: str, method: str) -> None:
    spacing, per_edge, lb = 1.5, 6, 4.0
    grid = np.stack(np.meshgrid(*(np.arange(per_edge),) * 3, indexing="ij"), axis=-1).reshape(-1, 3)
    valence = np.where(grid.sum(axis=1) % 2 == 0, 1.0, -1.0)
    topology = topology_of(valence, per_edge * spacing)
    energy, _ = evaluate(system_of(topology, lb=lb, method=method), grid * spacing, platform, groups={COULOMB_GROUP})
    per_pair = energy / (len(valence) / 2)
    assert per_pair == pytest.approx(-MADELUNG_ROCK_SALT * lb / spacing, rel=1e-4)
    wca, _ = evaluate(system_of(topology, lb=lb), grid * spacing, platform, groups={WCA_GROUP})
    assert wca == 0.0


@pytest.mark.parametrize("r", [0.95, 1.0, 1.1, 1.12, 1.13, 2.0])
def test_wca_energy_and_force(r: float) -> None:
    system = system_of(topology_of([0, 0], 10.0))
    energy, forces = evaluate(system, np.array([[1.0, 1, 1], [1.0 + r, 1, 1]]), groups={WCA_GROUP})
    inside = r < WCA_CUT
    expected_energy = 4 * (r ** -12 - r ** -6) + 1 if inside else 0.0
    expected_force = 24 * (2 * r ** -13 - r ** -7) if inside else 0.0
    assert energy == pytest.approx(expected_energy, abs=1e-10)
    np.testing.assert_allclose(forces[1], [expected_force, 0, 0], atol=1e-9)


@pytest.mark.parametrize("method", METHODS)
def test_bonded_pair_feels_only_its_bond_even_across_the_box_edge(method: str) -> None:
    length = 12.0
    topology = topology_of([1, -1], length, bonds=[(0, 1)])
    system = system_of(topology, lb=10.0, method=method)
    positions = np.array([[0.2, 5, 5], [length - 0.3, 5, 5]])
    for platform in ("Reference", "CPU"):
        energy, forces = evaluate(system, positions, platform)
        # The partners do not see each other, but each sees the other's periodic images:
        # the Ewald dipole term −2π l_B r²/(3V) remains (0.003 here).
        assert energy == pytest.approx(0.5 * 100.0 * (0.5 - 1.0) ** 2 - 2 * math.pi * 10 * 0.25 / (3 * length ** 3),
                                       rel=1e-5)
        assert forces[0][0] == pytest.approx(100.0 * (1.0 - 0.5), abs=0.02)  # pushed away from its partner at -x


def full_ewald_forces(topology: Topology, positions: np.ndarray, lb: float) -> np.ndarray:
    """Coulomb forces of a plain Ewald sum (OpenMM's Reference platform, tolerance 10⁻⁸), ε/σ."""
    system = system_of(topology, lb=lb, tolerance=1e-8, cutoff=topology.box_length / 2 - 0.01)
    for force in system.getForces():
        if isinstance(force, openmm.NonbondedForce):
            force.setNonbondedMethod(openmm.NonbondedForce.Ewald)
    return evaluate(system, positions, "Reference", groups={COULOMB_GROUP})[1]


@pytest.mark.parametrize("tolerance", [5e-4, 1e-5])
@pytest.mark.parametrize("method", METHODS)
def test_liquid_forces_match_a_full_ewald_sum_within_the_tolerance(tmp_path: Path, method: str,
                                                                   tolerance: float) -> None:
    """An equilibrated liquid with bonded pairs and divalent cations: RMS force error ≤ the tolerance."""
    system = SystemSpec("paired", 0.05, 7.0, 0.3, 500, 0.8, 1, 5)
    job = job_for(tmp_path, system, equilibration_steps=300)
    session, _ = OpenMMSimulator(OpenMMConfig(coulomb_method=method)).prepare(job, threads=2)
    positions = session.unwrapped_positions()
    topology = build_topology(system)
    valence = topology.valence.copy()
    cations = np.flatnonzero(valence > 0)
    valence[cations[: len(cations) // 3]] = 2.0  # some divalent ions, balanced by turning solvent into anions
    solvent = np.flatnonzero(valence == 0)
    valence[solvent[: len(cations) // 3]] = -1.0
    topology = Topology(topology.typeid, valence, topology.bonds, topology.box_length)
    assert valence.sum() == 0 and len(topology.bonds) > 0
    reference = full_ewald_forces(topology, positions, system.bjerrum_length)
    _, forces = evaluate(system_of(topology, lb=system.bjerrum_length, tolerance=tolerance, method=method),
                         positions, "CPU", groups={COULOMB_GROUP})
    error = np.sqrt(np.mean(np.sum((forces - reference) ** 2, axis=1)))
    scale = np.sqrt(np.mean(np.sum(reference ** 2, axis=1)))
    assert error / scale < tolerance
    assert error / scale > tolerance / 100  # a check that can fail: the tolerance is what sets the error


@pytest.mark.parametrize(("n_particles", "n_ions", "expected"),
                         [(1000, 24, "ion-pairs"), (1000, 124, "ion-pairs"), (4000, 200, "ion-pairs"),
                          (4000, 500, "all-particles"), (40000, 50, "ion-pairs"), (40000, 5000, "all-particles")])
def test_auto_takes_ion_pairs_while_ions_are_few(n_particles: int, n_ions: int, expected: str) -> None:
    assert choose_coulomb_method(n_particles, n_ions) == expected
    plugin = OpenMMSimulator(OpenMMConfig())
    valence = np.zeros(n_particles)
    valence[: n_ions // 2], valence[n_ions // 2: n_ions] = 1, -1
    assert plugin.coulomb_settings(topology_of(valence, 10.0)).method == expected
    forced = OpenMMSimulator(OpenMMConfig(coulomb_method="all-particles"))
    assert forced.coulomb_settings(topology_of(valence, 10.0)).method == "all-particles"


def test_ion_pair_cutoff_is_just_under_half_the_box() -> None:
    assert CoulombSettings(None, 5e-4, "ion-pairs").real_space_cutoff(20.0) == pytest.approx(9.8)
    assert CoulombSettings(None, 5e-4, "all-particles").real_space_cutoff(20.0) == 3.0
    assert CoulombSettings(4.0, 5e-4, "ion-pairs").real_space_cutoff(20.0) == 4.0
    with pytest.raises(ValueError, match="longer than half the box"):
        system_of(topology_of([1, -1], 6.0), cutoff=3.5, method="ion-pairs")


def test_pme_grid_is_smooth_and_follows_the_tolerance() -> None:
    alpha, points = pme_parameters(20.0, CoulombSettings(3.0, 5e-4))
    assert alpha == pytest.approx(math.sqrt(-math.log(1e-3)) / 3.0)
    rest = points
    for prime in (2, 3, 5, 7):
        while rest % prime == 0:
            rest //= prime
    assert rest == 1 and points >= 2 * alpha * 20.0 / (3 * 5e-4 ** 0.2)


def job_for(tmp_path: Path, system: SystemSpec, replica: int = 0, **changes) -> SimulationJob:
    return SimulationJob(system, replica, system.replica_seed(replica), settings(**changes), tmp_path / "out.gsd")


def context_for(tmp_path: Path, name: str = "scratch") -> TaskContext:
    scratch = tmp_path / name
    scratch.mkdir(exist_ok=True)
    return TaskContext(threads=2, scratch_dir=scratch, label="test system, replica 0")


SMALL = SystemSpec("c0.05_lB5", 0.05, 5.0, 0.0, 500, 0.8, 2, 11)


@pytest.mark.parametrize("method", METHODS)
def test_thermostat_holds_kT_and_nve_conserves_energy(tmp_path: Path, method: str) -> None:
    job = job_for(tmp_path, SMALL, equilibration_steps=1000)
    session, _ = OpenMMSimulator(OpenMMConfig(coulomb_method=method)).prepare(job, threads=2)
    temperatures = []
    for _ in range(40):
        session.run(50)
        temperatures.append(2 * session.kinetic_energy() / (3 * SMALL.n_particles - 3))
    assert np.mean(temperatures) == pytest.approx(1.0, abs=0.05)

    nve, _ = OpenMMSimulator(OpenMMConfig(thermostat="none", ewald_tolerance=1e-5, coulomb_method=method)).prepare(
        job, threads=2)
    totals = []
    for _ in range(20):
        nve.run(100)
        totals.append(nve.potential_energy() + nve.kinetic_energy())
    drift = (max(totals) - min(totals)) / SMALL.n_particles
    assert drift < 5e-3


def test_bonded_pairs_stay_near_r0(tmp_path: Path) -> None:
    system = SystemSpec("paired", 0.05, 5.0, 0.4, 500, 0.8, 1, 5)
    job = job_for(tmp_path, system, steps=1000, write_period=250)
    OpenMMSimulator(OpenMMConfig()).simulate(job, context_for(tmp_path))
    frames = list(read_frames(job.trajectory_path))
    bonds = frames[0].bonds
    assert len(bonds) == system.n_bonded_pairs == 12
    lengths = []
    for frame in frames:
        delta = frame.positions[bonds[:, 0]] - frame.positions[bonds[:, 1]]
        delta -= frame.box * np.round(delta / frame.box)
        lengths.append(np.linalg.norm(delta, axis=1))
    lengths = np.concatenate(lengths)
    # k = 100 kT/σ²: thermal spread sqrt(kT/k) = 0.1σ; the surrounding liquid presses the pairs to a mean of
    # 0.97σ (measured over 10⁴ bond samples, two seeds). One frame's 12 bonds scatter by ±0.03σ, so the
    # test pools the 60 samples of 5 frames (±0.014σ).
    assert lengths.mean() == pytest.approx(0.97, abs=0.07) and lengths.max() < 1.6
    assert 0.07 < lengths.std() < 0.14


def test_trajectory_contents(tmp_path: Path) -> None:
    job = job_for(tmp_path, SMALL, steps=600, write_period=200, equilibration_steps=200)
    meta = OpenMMSimulator(OpenMMConfig(write_velocities=True)).simulate(job, context_for(tmp_path))
    assert meta["engine"] == "openmm" and meta["frames"] == 4
    frames = list(read_frames(job.trajectory_path))
    assert [f.step for f in frames] == [0, 200, 400, 600]
    assert frames[1].time == pytest.approx(1.0)
    assert frames[0].types == ("cation", "anion", "solvent")
    assert np.count_nonzero(frames[0].ion_sign == 1) == SMALL.n_ion_pairs
    log = read_log(job.trajectory_path)
    assert log["localcond/bjerrum_length"] == 5.0 and log["localcond/seed"] == job.seed
    assert log["localcond/frame_interval"] == pytest.approx(1.0)
    assert log["localcond/engine"] == f"openmm {openmm.__version__}"
    import gsd.hoomd

    with gsd.hoomd.open(str(job.trajectory_path)) as trajectory:
        charge = trajectory[0].particles.charge
        velocity = trajectory[1].particles.velocity
    assert sorted(set(charge.tolist())) == [-1.0, 0.0, 1.0]
    assert 0.5 < np.mean(velocity.astype(float) ** 2) * 3 / 3 < 1.5
    # Unwrapped motion is exact: steps between frames are small although particles cross the box.
    jumps = np.abs(frames[-1].unwrapped_positions() - frames[-2].unwrapped_positions())
    assert jumps.max() < 3.0


def test_same_seed_same_start_and_replicas_differ(tmp_path: Path) -> None:
    plugin = OpenMMSimulator(OpenMMConfig(platform="Reference"))
    starts = []
    for replica in (0, 0, 1):
        session, _ = plugin.prepare(job_for(tmp_path, SMALL, replica=replica, equilibration_steps=20), threads=1)
        starts.append((session.unwrapped_positions(), session.velocities()))
    np.testing.assert_array_equal(starts[0][0], starts[1][0])
    np.testing.assert_array_equal(starts[0][1], starts[1][1])
    assert not np.allclose(starts[0][0], starts[2][0])


def test_blow_up_names_system_replica_and_step(tmp_path: Path) -> None:
    job = job_for(tmp_path, SMALL, timestep=0.2, equilibration_steps=0, steps=2000, write_period=100)
    with pytest.raises(SimulationBlewUp, match=r"test system, replica 0: .*production steps? \d+"):
        OpenMMSimulator(OpenMMConfig()).simulate(job, context_for(tmp_path))
