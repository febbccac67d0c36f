"""The transport stage's numerics against independent references."""

from __future__ import annotations

import numpy as np
import pytest

from core.testing import write_random_walks
from core.datatypes import Frame
from core.md.trajectory import LOG_TIMESTEP, GSDWriter
from core.transport.correlation import displacement_correlation, displacement_correlation_naive
from core.transport.replica_files import replica_transport


def test_fft_equals_the_naive_double_loop_on_random_walks():
    rng = np.random.default_rng(1)
    walk = np.cumsum(rng.normal(size=(120, 7, 3)), axis=0) + 5e3
    other = np.cumsum(rng.normal(size=(120, 3)), axis=0)
    np.testing.assert_allclose(displacement_correlation(walk), displacement_correlation_naive(walk), atol=1e-8)
    np.testing.assert_allclose(displacement_correlation(walk.sum(1), other),
                               displacement_correlation_naive(walk.sum(1), other), atol=1e-8)


def write_brownian(path, *, n_pairs=200, n_solvent=200, frames=400, dt_frame=0.5, D=(1.0, 0.25), drift=0.0,
                   bonded=False, seed=0):
    """Independent Brownian ions (anions riding on cations where ``bonded``) in solvent; returns the volume."""
    length = 20.0
    typeid = np.array([0] * n_pairs + [1] * n_pairs + [2] * n_solvent)
    riders = (np.arange(n_pairs, 2 * n_pairs), np.arange(n_pairs)) if bonded else None
    write_random_walks(path, typeid, np.array([D[0], D[1], 1.0])[typeid], length, frames, dt_frame,
                       np.random.default_rng(seed), drift=drift, riders=riders)
    return length ** 3


def test_independent_brownian_ions_give_L_self_equal_D_c(tmp_path):
    volume = write_brownian(tmp_path / "t.gsd")
    result = replica_transport(tmp_path / "t.gsd", fit_window=(5.0, 50.0))
    c = 200 / volume
    assert result.D_p == pytest.approx(1.0, rel=0.1) and result.D_m == pytest.approx(0.25, rel=0.1)
    assert result.L_self_pp == pytest.approx(1.0 * c, rel=0.1)
    assert abs(result.L_pm) < 0.3 * result.L_self_pp


def test_solvent_terms_on_request(tmp_path):
    volume = write_brownian(tmp_path / "t.gsd")
    result = replica_transport(tmp_path / "t.gsd", fit_window=(5.0, 50.0), include_solvent=True)
    assert result.D_s == pytest.approx(1.0, rel=0.1) and result.L_self_ss == pytest.approx(200 / volume, rel=0.1)
    # In the centre-of-mass frame of equal masses Σ_j L^{ij} = 0 for every species i, exactly.
    scale = result.L_self_ss
    assert abs(result.L_pp + result.L_pm + result.L_ps) < 1e-9 * scale
    assert abs(result.L_mm + result.L_pm + result.L_ms) < 1e-9 * scale
    assert abs(result.L_ss + result.L_ps + result.L_ms) < 1e-9 * scale
    assert np.isnan(replica_transport(tmp_path / "t.gsd", fit_window=(5.0, 50.0)).D_s)


def test_a_uniform_drift_changes_nothing(tmp_path):
    write_brownian(tmp_path / "a.gsd", seed=3)
    write_brownian(tmp_path / "b.gsd", seed=3, drift=0.7)
    a = replica_transport(tmp_path / "a.gsd", fit_window=(5.0, 50.0))
    b = replica_transport(tmp_path / "b.gsd", fit_window=(5.0, 50.0))
    assert b.kappa == pytest.approx(a.kappa, rel=1e-6)
    assert b.D_p == pytest.approx(a.D_p, rel=1e-6)


def test_rigid_dimers_carry_no_current(tmp_path):
    write_brownian(tmp_path / "d.gsd", bonded=True, D=(1.0, 1.0))
    result = replica_transport(tmp_path / "d.gsd", fit_window=(5.0, 50.0))
    assert abs(result.kappa) < 1e-6 * result.L_self_pp
    assert result.diffusive


def write_langevin(path, *, n_free=100, n_pairs=0, frames=3000, dt_frame=0.1, relaxation=0.5, seed=0,
                   length=20.0):
    """Ions with Ornstein–Uhlenbeck velocities (kT/m = 1, relaxation time ``relaxation`` τ, so D = relaxation)
    and positions integrated from them; ``n_pairs`` cation–anion pairs share one velocity (rigid dimers).

    Returns the expected κ = (free ions) · D / V: only free ions carry current.
    """
    rng = np.random.default_rng(seed)
    free_sign = np.repeat([1, -1], n_free // 2)
    sign = np.concatenate([free_sign, np.tile([1, -1], n_pairs)])
    n = len(sign)
    typeid = np.where(sign > 0, 0, 1)
    walkers = n_free + n_pairs
    owner = np.concatenate([np.arange(n_free), n_free + np.repeat(np.arange(n_pairs), 2)])
    decay = np.exp(-dt_frame / relaxation)
    velocity = rng.normal(size=(walkers, 3))
    position = rng.uniform(-length / 2, length / 2, (n, 3))
    with GSDWriter(path, {LOG_TIMESTEP: 0.005}) as writer:
        for index in range(frames):
            image = np.floor((position + length / 2) / length).astype(int)
            writer.append(Frame(position - image * length, np.full(3, length), typeid, ("cation", "anion", "solvent"),
                                image, np.zeros((0, 2), int), step=index * 20, time=index * dt_frame),
                          velocities=velocity[owner])
            new = velocity * decay + np.sqrt(1 - decay ** 2) * rng.normal(size=velocity.shape)
            position = position + 0.5 * (velocity + new)[owner] * dt_frame
            velocity = new
    return n_free * relaxation / length ** 3


def test_green_kubo_agrees_with_einstein_and_dimers_carry_nothing(tmp_path):
    expected = write_langevin(tmp_path / "gk.gsd", n_free=100, n_pairs=50, frames=10000)
    result = replica_transport(tmp_path / "gk.gsd", fit_window=(2.5, 25.0))  # GK integrated to 5 τ_v
    # One replica's collective current is noisy: ~10 % over 1000 τ (seeds 0–2 gave 0.6–0.7·10⁻² here).
    assert result.kappa == pytest.approx(expected, rel=0.2)
    assert result.kappa_green_kubo == pytest.approx(expected, rel=0.2)
    assert result.kappa_green_kubo == pytest.approx(result.kappa, rel=0.2)
    free_only = write_langevin(tmp_path / "free.gsd", n_free=100, n_pairs=0, frames=10000)
    assert replica_transport(tmp_path / "free.gsd", fit_window=(2.5, 25.0)).kappa_green_kubo == pytest.approx(
        free_only, rel=0.2)


def test_green_kubo_is_absent_without_velocities(tmp_path):
    write_brownian(tmp_path / "t.gsd", frames=50)
    assert np.isnan(replica_transport(tmp_path / "t.gsd", fit_window=(2.0, 10.0)).kappa_green_kubo)


def test_window_detector_finds_the_diffusive_regime_after_the_ballistic_one(tmp_path):
    write_langevin(tmp_path / "crossover.gsd", n_free=200, frames=2000, relaxation=0.5)
    result = replica_transport(tmp_path / "crossover.gsd")
    assert result.diffusive and result.fit_t0 >= 1.0  # the MSD is ∝ t² below ~τ_v = 0.5τ
    assert result.fit_t1 == pytest.approx(10 * result.fit_t0)
    assert abs(result.msd_loglog_slope - 1) <= 0.1


def test_window_detector_flags_a_trajectory_that_never_becomes_diffusive(tmp_path):
    write_langevin(tmp_path / "ballistic.gsd", n_free=50, frames=400, relaxation=1000.0)
    result = replica_transport(tmp_path / "ballistic.gsd")
    assert not result.diffusive and result.msd_loglog_slope > 1.5


def test_self_diffusion_agrees_with_mdanalysis_einstein_msd(tmp_path):
    mda = pytest.importorskip("MDAnalysis", reason="MDAnalysis is not installed (pip install MDAnalysis)")
    from MDAnalysis.analysis.msd import EinsteinMSD

    from core.md.trajectory import read_frames
    from core.transport.window import FitWindow, fit_slope

    write_brownian(tmp_path / "b.gsd", n_pairs=300, n_solvent=0, frames=300, D=(0.5, 0.5), seed=5)
    frames = list(read_frames(tmp_path / "b.gsd"))
    unwrapped = np.stack([f.unwrapped_positions() for f in frames]).astype(np.float32)
    universe = mda.Universe.empty(unwrapped.shape[1], trajectory=True)
    universe.load_new(unwrapped, order="fac", dt=frames[1].time - frames[0].time)
    reference = EinsteinMSD(universe, select="all", msd_type="xyz", fft=True).run()
    times = reference.results.delta_t_values[1:]
    d_mdanalysis = fit_slope(times, reference.results.timeseries[1:], FitWindow(5.0, 50.0, 1.0, True))[0] / 6
    ours = replica_transport(tmp_path / "b.gsd", fit_window=(5.0, 50.0))
    # ours is relative to the centre of mass of 600 walkers: a 1/N effect
    assert (ours.D_p + ours.D_m) / 2 == pytest.approx(d_mdanalysis, rel=0.01)


def write_dcd_and_pdb(gsd, dcd, pdb, length: float) -> None:
    """The GSD trajectory ``gsd`` as a DCD of positions wrapped into [0, L) and a PDB topology (names CAT/ANI/SOL);
    the DCD header states the GSD file's frame interval."""
    import warnings

    import MDAnalysis as mda

    from core.md.trajectory import read_frames

    frames = list(read_frames(gsd))
    names = {0: "CAT", 1: "ANI", 2: "SOL"}
    universe = mda.Universe.empty(frames[0].n_particles, trajectory=True)
    universe.add_TopologyAttr("names", [names[t] for t in frames[0].typeid])
    # Wrapped, as most engines write them: the import must unwrap (NoJump).
    universe.load_new(np.stack([np.mod(f.positions, length) for f in frames]).astype(np.float32), order="fac")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for ts in universe.trajectory:
            ts.dimensions = [length, length, length, 90, 90, 90]
        universe.atoms.write(pdb)
        with mda.Writer(str(dcd), universe.atoms.n_atoms, dt=frames[1].time - frames[0].time) as writer:
            for _ in universe.trajectory:
                writer.write(universe.atoms)


def test_transport_command_reads_gsd_and_mdanalysis_formats_alike(tmp_path):
    pytest.importorskip("MDAnalysis", reason="MDAnalysis is not installed (pip install MDAnalysis)")
    import json

    from tests.conftest import cli

    length = write_brownian(tmp_path / "b.gsd", n_pairs=60, n_solvent=60, frames=200, seed=7) ** (1 / 3)
    write_dcd_and_pdb(tmp_path / "b.gsd", tmp_path / "b.dcd", tmp_path / "top.pdb", length)

    native = cli("transport", str(tmp_path / "b.gsd"), "--fit", "5", "50", "--json")
    assert native.returncode == 0, native.stderr
    imported = cli("transport", str(tmp_path / "b.dcd"), "--topology", str(tmp_path / "top.pdb"), "--cation",
                   "name CAT", "--anion", "name ANI", "--frame-interval", "0.5", "--fit", "5", "50", "--json")
    assert imported.returncode == 0, imported.stderr
    a, b = json.loads(native.stdout)["pooled"], json.loads(imported.stdout)["pooled"]
    for key in ("D_p", "D_m", "kappa", "L_pm"):
        assert b[key] == pytest.approx(a[key], rel=1e-3, abs=1e-9), key
    write_brownian(tmp_path / "b2.gsd", n_pairs=60, n_solvent=60, frames=200, seed=8)   # a second replica
    table = cli("transport", str(tmp_path / "b.gsd"), str(tmp_path / "b2.gsd"))
    assert table.returncode == 0 and "pooled" in table.stdout and "replica scatter" in table.stdout
    assert "nan" not in table.stdout.lower()          # a number the files cannot give is "—", not nan

    bad = cli("transport", str(tmp_path / "b.dcd"), "--topology", str(tmp_path / "top.pdb"), "--cation", "name NA")
    assert bad.returncode == 2 and "matches no atom" in bad.stderr and "Traceback" not in bad.stderr


def test_trajectories_plugin_imports_files_for_the_pipeline(tmp_path):
    pytest.importorskip("MDAnalysis", reason="MDAnalysis is not installed (pip install MDAnalysis)")
    from core.datatypes import SimulationJob, SystemSpec, TaskContext
    from core.plugin_system.registry import get_registry
    from tests.model_systems import settings

    length = write_brownian(tmp_path / "b.gsd", n_pairs=60, n_solvent=60, frames=200, seed=7) ** (1 / 3)
    write_dcd_and_pdb(tmp_path / "b.gsd", tmp_path / "run0.dcd", tmp_path / "top.pdb", length)
    plugin = get_registry().instantiate("simulator", "trajectories", {
        "pattern": str(tmp_path / "run{replica}.dcd"), "topology": str(tmp_path / "top.pdb"),
        "cation": "name CAT", "anion": "name ANI", "frame_interval": 0.5})
    system = SystemSpec("imported", 0.0075, 5.0, 0.0, 180, 0.8, 2, 1)
    context = TaskContext(threads=1, scratch_dir=tmp_path, label="import")
    job = SimulationJob(system, 0, 1, settings(), tmp_path / "out.gsd")
    meta = plugin.simulate(job, context)
    assert meta["frames"] == 200
    imported = replica_transport(job.trajectory_path, fit_window=(5.0, 50.0))
    original = replica_transport(tmp_path / "b.gsd", fit_window=(5.0, 50.0))
    assert imported.D_p == pytest.approx(original.D_p, rel=1e-3)
    assert imported.kappa == pytest.approx(original.kappa, rel=1e-3)
    with pytest.raises(FileNotFoundError, match="run1.dcd.*replica 1"):
        plugin.simulate(SimulationJob(system, 1, 2, settings(), tmp_path / "out1.gsd"), context)


def test_transport_command_pools_replicas_refuses_mixed_systems_and_writes_valid_json(tmp_path):
    import json

    from tests.conftest import cli

    write_brownian(tmp_path / "a.gsd", n_pairs=40, n_solvent=40, frames=200, seed=1)
    write_brownian(tmp_path / "b.gsd", n_pairs=40, n_solvent=40, frames=200, seed=2)
    write_brownian(tmp_path / "other.gsd", n_pairs=30, n_solvent=50, frames=200, seed=3)
    pooled = cli("transport", str(tmp_path / "a.gsd"), str(tmp_path / "b.gsd"), "--json")
    assert pooled.returncode == 0, pooled.stderr
    assert "NaN" not in pooled.stdout                      # JSON has no NaN: non-finite numbers are null
    result = json.loads(pooled.stdout)
    single = [json.loads(cli("transport", str(tmp_path / name), "--fit", str(result["pooled"]["fit_t0"]),
                             str(result["pooled"]["fit_t1"]), "--json").stdout)["pooled"] for name in ("a.gsd", "b.gsd")]
    # equal lengths: the pooled Λ is the mean of the two replicas' values and its error 1/√2 of theirs
    replicas = result["replicas"]
    assert result["pooled"]["molar_conductivity"] == pytest.approx(
        np.mean([r["molar_conductivity"] for r in replicas]), rel=1e-9)
    assert result["pooled"]["molar_conductivity_err"] == pytest.approx(
        replicas[0]["molar_conductivity_err"] / np.sqrt(2), rel=1e-9)
    # each file on its own (its own line parameters) gives nearly the same numbers
    for alone, replica in zip(single, replicas):
        assert alone["molar_conductivity"] == pytest.approx(replica["molar_conductivity"], rel=0.1, abs=0.2 * alone[
            "molar_conductivity_err"])
        assert alone["molar_conductivity_err"] == pytest.approx(replica["molar_conductivity_err"], rel=0.2)
    mixed = cli("transport", str(tmp_path / "a.gsd"), str(tmp_path / "other.gsd"))
    assert mixed.returncode == 2 and "same ions" in mixed.stderr and "Traceback" not in mixed.stderr
