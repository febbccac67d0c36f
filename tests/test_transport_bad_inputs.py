"""``python -m core transport`` on bad input: each case exits 2 with a message that names the problem.

Table-driven, in-process (``core.cli.main``): damaged GSD files, impossible numbers, options that do
not apply to the file, overlapping ion selections, non-finite or absurd coordinates, frames out of order.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from core.cli import main
from tests.test_transport_core import write_brownian, write_dcd_and_pdb

gsd_hoomd = pytest.importorskip("gsd.hoomd")


def rewritten(source: Path, target: Path, edit: Callable[[list], list]) -> Path:
    with gsd_hoomd.open(str(source), "r") as trajectory:
        frames = [trajectory[index] for index in range(len(trajectory))]
    with gsd_hoomd.open(str(target), "w") as out:
        for frame in edit(frames):
            out.append(frame)
    return target


def _no_cations(frames):
    for frame in frames:
        frame.particles.typeid = np.where(frame.particles.typeid == 0, 2, frame.particles.typeid)
        frame.particles.charge = np.where(frame.particles.charge > 0, 0.0, frame.particles.charge).astype(np.float32)
    return frames


def _zero_box(frames):
    for frame in frames:
        frame.configuration.box = [0, 0, 0, 0, 0, 0]
    return frames


def _one_step(frames):
    for frame in frames:
        frame.configuration.step = 0
    return frames


def _nan(frames):
    frames[5].particles.position[3] = np.nan
    return frames


def _absurd(frames):
    frames[5].particles.image[3] = [2 ** 30, 0, 0]
    return frames


def _swapped(frames):
    frames[3], frames[4] = frames[4], frames[3]
    return frames


def _duplicated(frames):
    return frames[:5] + [frames[4]] + frames[5:]


def _fewer_particles(frames):
    """Frame 7 has lost its last particle (an IndexError before the shared input check)."""
    frame = frames[7]
    n = frame.particles.N - 1
    for name in [name for name in dir(frame.particles) if not name.startswith("_")]:
        value = getattr(frame.particles, name, None)
        if isinstance(value, np.ndarray) and value.ndim and len(value) == n + 1:   # every per-particle array
            setattr(frame.particles, name, value[:n])
    frame.particles.N = n
    return frames


def _negative_mass(frames):
    for frame in frames:
        mass = np.ones(frame.particles.N, dtype=np.float32)
        mass[2] = -1.0
        frame.particles.mass = mass
    return frames


def _zero_total_mass(frames):
    for frame in frames:
        mass = np.ones(frame.particles.N, dtype=np.float32)
        mass[: frame.particles.N // 2] = -1.0
        frame.particles.mass = mass
    return frames


def _nan_velocity(frames):
    for frame in frames:
        frame.particles.velocity = np.zeros((frame.particles.N, 3), dtype=np.float32)
    frames[4].particles.velocity[6] = np.nan
    return frames


def _retyped(frames):
    typeid = np.asarray(frames[9].particles.typeid).copy()
    typeid[[0, -1]] = typeid[[-1, 0]]
    frames[9].particles.typeid = typeid
    return frames


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("bad")
    good = directory / "good.gsd"
    length = write_brownian(good, n_pairs=20, n_solvent=20, frames=60, seed=3) ** (1 / 3)
    made = {"good": good}
    made["other_system"] = directory / "other_system.gsd"   # a replica of a different system (fewer ions)
    write_brownian(made["other_system"], n_pairs=12, n_solvent=28, frames=60, seed=4)
    (directory / "empty.gsd").write_bytes(b"")
    (directory / "text.gsd").write_text("not a trajectory\n")
    data = good.read_bytes()
    (directory / "truncated.gsd").write_bytes(data[: len(data) // 2])
    for name in ("empty", "text", "truncated"):
        made[name] = directory / f"{name}.gsd"
    for name, edit in (("no_cations", _no_cations), ("zero_box", _zero_box), ("one_step", _one_step),
                       ("nan", _nan), ("absurd", _absurd), ("swapped", _swapped), ("duplicated", _duplicated),
                       ("fewer_particles", _fewer_particles), ("negative_mass", _negative_mass),
                       ("zero_total_mass", _zero_total_mass), ("nan_velocity", _nan_velocity), ("retyped", _retyped)):
        made[name] = rewritten(good, directory / f"{name}.gsd", edit)
    pytest.importorskip("MDAnalysis")
    write_dcd_and_pdb(good, directory / "good.dcd", directory / "top.pdb", length)
    made["dcd"], made["pdb"] = directory / "good.dcd", directory / "top.pdb"
    return made


CASES = [
    # (file, extra arguments, a substring of the message)
    ("empty", [], "not a readable GSD file"),
    ("text", [], "not a readable GSD file"),
    ("truncated", [], "not a readable GSD file"),
    ("no_cations", [], "no cations"),
    ("zero_box", [], "frame 0 has box edges [0.0, 0.0, 0.0]; expected three finite positive"),
    ("one_step", [], "frame 1 is at t = 0 τ (step 0), not after the frame before it"),
    ("nan", [], "frame 5: particle 3 has a non-finite position"),
    ("absurd", [], "beyond 1e+06 box lengths"),
    ("swapped", [], "times must increase strictly"),
    ("duplicated", [], "frame 5 is at t = 2 τ (step 400), not after"),
    ("fewer_particles", [], "frame 7 has 59 particles, the first frame 60"),
    ("negative_mass", [], "frame 0: particle 2 has mass -1.0"),
    ("zero_total_mass", [], "masses must be finite and positive"),
    ("nan_velocity", [], "frame 4: particle 6 has a non-finite velocity"),
    ("retyped", [], "frame 9: particle 0 has type"),
    ("good", ["--kT", "0"], "--kT must be a positive number"),
    ("good", ["--kT", "-1"], "--kT must be a positive number"),
    ("good", ["--kT", "nan"], "--kT must be a positive number"),
    ("good", ["--timestep", "0"], "--timestep must be a positive number"),
    ("good", ["--length-scale", "0"], "--length-scale must be a positive number"),
    ("good", ["--length-scale", "-1"], "--length-scale must be a positive number"),
    ("good", ["--time-scale", "0"], "--time-scale must be a positive number"),
    ("good", ["--frame-interval", "-2"], "--frame-interval must be a positive number"),
    ("good", ["--fit", "5", "1"], "0 < T0 < T1"),
    ("good", ["--fit", "-1", "5"], "0 < T0 < T1"),
    ("good", ["--max-window-fraction", "0.9"], "--max-window-fraction"),
    # a forced window starting past lag 30 of the 60 frames (0.5 τ apart), or holding fewer than three lags
    ("good", ["--fit", "15.5", "25"], "--fit 15.5 25: [15.5, 25] τ starts past half the shortest run (60 frames, "
                                      "29.5 τ)"),
    ("good", ["--fit", "20", "28"], "the longest window the data allow is [0.5, 29.5] τ, and a window must start "
                                    "by 15 τ"),
    ("good", ["--fit", "14.4", "15"], "--fit 14.4 15: [14.4, 15] τ holds 2 lag times"),
    ("good", ["--frame-interval", "0.5"], "--frame-interval: these options apply only to files read through"),
    ("good", ["--cation", "type anion"], "--cation: these options apply only"),
    ("good", ["--length-scale", "2"], "--length-scale: these options apply only"),
    ("good", ["{other_system}"], "replicas of one system must have the same ions"),
    ("dcd", ["--topology", "{pdb}", "--cation", "name CAT", "--anion", "name CAT"], "overlap"),
    ("dcd", ["--topology", "{pdb}", "--cation", "all", "--anion", "name ANI"], "overlap"),
]


@pytest.mark.parametrize(("name", "extra", "message"), CASES, ids=[f"{c[0]}{' '.join(c[1])}" for c in CASES])
def test_bad_input_exits_2_naming_the_problem(files, capsys, name: str, extra: list[str], message: str) -> None:
    arguments = ["transport", str(files[name]), *[a.replace("{pdb}", str(files.get("pdb", "")))
                                                  .replace("{other_system}", str(files["other_system"]))
                                                  for a in extra]]
    status = main(arguments)
    captured = capsys.readouterr()
    assert status == 2, captured.out + captured.err
    assert message in captured.err and "Traceback" not in captured.err
    if name != "good" or not extra[0].startswith("--"):
        assert str(files[name]) in captured.err


@pytest.mark.parametrize(("window", "warned"), [(("1", "15"), False), (("15", "16"), True), (("1", "29.5"), True)])
def test_a_forced_window_at_the_boundary_passes_and_warns_where_it_ends_past_half_the_run(files, capsys, window,
                                                                                         warned) -> None:
    """The latest start (lag n/2) passes; a window running past half the run passes with a warning beside the
    number (in --json, a ``warnings`` list), as kinisi users fit to the run's end."""
    import json

    assert main(["transport", str(files["good"]), "--fit", *window, "--json"]) == 0
    captured = capsys.readouterr()
    warnings = json.loads(captured.out).get("warnings", [])
    assert bool(warnings) == warned and ("ends past half the shortest run" in captured.err) == warned
    if warned:
        assert "fewer than two independent time origins" in warnings[0]
    assert main(["transport", str(files["good"]), "--fit", *window]) == 0
    assert ("warning: the fit window" in capsys.readouterr().out.replace("\n", " ")) == warned


def test_the_good_file_passes_and_gsd_through_mdanalysis_accepts_the_import_options(files, capsys) -> None:
    assert main(["transport", str(files["good"]), "--json"]) == 0
    assert main(["transport", str(files["good"]), "--mdanalysis", "--frame-interval", "0.5", "--json"]) == 0
    capsys.readouterr()
