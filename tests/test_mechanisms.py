"""Mechanism-resolved conductivity (core/transport/mechanisms.py, issue 43): the classes partition Λ to round-off,
recover exact contributions on rigid-cluster electrolytes, classify as a naive loop does, and the ``transport``
command prints them for an all-atom-style 2:1 salt of molecular anions."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest

from core.testing.exact_electrolytes import write_frames
from core.testing.rigid_clusters import RigidClusters, class_fractions, expected_contributions
from core.transport.attribution import summary, system_attribution
from core.transport.mechanisms import cluster_classes, decompose, shell_classes
from core.transport.replica_files import replica_positions
from tests.conftest import HERE, cli

CUTOFF = 1.3
#: The classes every rigid-cluster system has by construction (the rest are chance encounters).
BUILT = ("free ion (+1)", "free ion (-1)", "2-ion cluster (0)", "3-ion cluster (+1)", "3-ion cluster (-1)")


def rigid_system(tmp_path: Path, model: RigidClusters, seed: int, duration: float = 500.0):
    rng = np.random.default_rng(seed)
    paths = [write_frames(tmp_path / f"r{k}.gsd", model.positions(duration, 0.5, rng), model.box_length, 0.5)
             for k in range(2)]
    positions = [replica_positions(path) for path in paths]
    attribution = system_attribution(positions, plateau_start=0.5, formula_units=positions[0].curves().formula_units)
    return positions, attribution


def test_the_classes_partition_the_attributed_lambda_to_round_off(tmp_path) -> None:
    positions, attribution = rigid_system(tmp_path, RigidClusters(), seed=0, duration=200.0)
    attributed = summary(attribution).molar_conductivity
    for kind in ("cluster", "shell"):
        result = decompose(positions, attribution, kind=kind, cutoff=CUTOFF)
        assert sum(c.contribution.value for c in result.classes) == pytest.approx(attributed.value, rel=1e-6)
        assert result.total.err == pytest.approx(attributed.err, rel=1e-4)       # the covariance sums to its error
        assert sum(c.fraction for c in result.classes) == pytest.approx(1.0)
        assert result.covariance.shape == (len(result.classes),) * 2


def test_rigid_clusters_give_back_their_exact_contributions(tmp_path) -> None:
    """Free ions, neutral pairs and ±1 triples moving as rigid Brownian units (2 × 500 τ, 128 ions): each class's
    Λ_c within 2 standard errors of the exact Σ_i f_ic E[k_i], the neutral pairs' near zero, and χ²/dof over
    every class (chance encounters included) below 2. Over 16 realisations (docs/transport.md) the RMS z per
    class is 0.79–1.15."""
    model = RigidClusters()
    positions, attribution = rigid_system(tmp_path, model, seed=0)
    result = decompose(positions, attribution, kind="cluster", cutoff=CUTOFF)
    names = [c.name for c in result.classes]
    assert set(BUILT) <= set(names)
    exact = expected_contributions(model, class_fractions(positions, attribution, "cluster", CUTOFF, names))
    z = np.array([(c.contribution.value - e) / c.contribution.err for c, e in zip(result.classes, exact)])
    built = np.array([name in BUILT for name in names])
    assert np.all(np.abs(z[built]) < 2.0), dict(zip(names, z.round(2)))
    assert float(np.mean(z ** 2)) < 2.0, dict(zip(names, z.round(2)))
    pairs = result.classes[names.index("2-ion cluster (0)")]
    assert abs(pairs.contribution.value) < 0.05 * model.molar_conductivity    # pairs carry (almost) no current
    assert sum(exact) == pytest.approx(model.molar_conductivity, rel=1e-9)


def naive_clusters(frame: np.ndarray, valence: np.ndarray, box: np.ndarray, cutoff: float) -> list[tuple[int, float]]:
    n = len(valence)
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for i in range(n):
        for j in range(i + 1, n):
            d = frame[i] - frame[j]
            d -= box * np.round(d / box)
            if valence[i] * valence[j] < 0 and np.sqrt(d @ d) < cutoff:
                parent[root(i)] = root(j)
    roots = [root(i) for i in range(n)]
    return [(roots.count(r), round(float(sum(valence[k] for k in range(n) if roots[k] == r)), 6)) for r in roots]


def test_the_classes_are_a_naive_loops(tmp_path) -> None:
    """Random ions of valence +2, +1, −1 in a periodic box (positions outside the box too): the cluster
    sizes and charges and the shell counts equal an O(n²) minimum-image loop with union–find."""
    rng = np.random.default_rng(3)
    box = np.array([6.0, 7.0, 8.0])
    frame = rng.uniform(-8, 16, (60, 3))
    valence = rng.choice([2.0, 1.0, -1.0], 60)
    assert cluster_classes(frame, valence, box, 1.6) == naive_clusters(frame, valence, box, 1.6)
    expected = []
    for i in range(60):
        d = frame - frame[i]
        d -= box * np.round(d / box)
        near = (np.sqrt((d ** 2).sum(axis=1)) < 1.6) & (valence * valence[i] < 0)
        expected.append((float(valence[i]), int(near.sum())))
    assert shell_classes(frame, valence, box, 1.6) == expected


def test_a_mechanism_that_never_happens_is_an_empty_class(tmp_path) -> None:
    """Free ions only, a cutoff far below any encounter: the unlike pair is listed, empty, with Λ_c = 0 exactly."""
    model = RigidClusters(n_free=30, n_pairs=0, n_triples=0, box_length=30.0)
    positions, attribution = rigid_system(tmp_path, model, seed=1, duration=50.0)
    result = decompose(positions, attribution, kind="cluster", cutoff=0.01)
    pair = next(c for c in result.classes if c.name == "2-ion cluster (0)")
    assert pair.empty and pair.contribution.value == 0.0 and pair.contribution.err == 0.0 and pair.fraction == 0
    record = next(c for c in result.as_dict()["classes"] if c["name"] == "2-ion cluster (0)")
    assert record["empty"] is True and all(math.isfinite(v) for v in record.values() if isinstance(v, float))
    with pytest.raises(ValueError, match="class kind"):
        decompose(positions, attribution, kind="bonds")


def atomistic_files(root: Path) -> Path:
    spec = importlib.util.spec_from_file_location("make_files", HERE.parent / "examples" / "atomistic" / "make_files.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.write_system(root / "p0.375", 0.375, replicas=2, frames=200)
    return root / "p0.375"


def test_the_transport_command_decomposes_a_molecular_2_1_salt(tmp_path) -> None:
    """The atomistic example's Mg(X)₂ files (LAMMPS data + dump, three-atom anions grouped by residue, Å): the
    RDF's first minimum is found and printed, the contact pairs (+1) are a class holding the paired Mg²⁺
    and their anions, and the classes sum to the printed total."""
    pytest.importorskip("MDAnalysis")
    data = atomistic_files(tmp_path)
    base = [str(data / "run0.lammpstrj"), str(data / "run1.lammpstrj"), "--topology", str(data / "system.data"),
            "--cation", "type 1", "--anion", "type 2 3", "--group", "residue", "--frame-interval", "2.0",
            "--length-scale", str(1 / 3)]
    result = cli("transport", *base, "--decompose", "cluster", "--json")
    assert result.returncode == 0, result.stderr
    decomposition = json.loads(result.stdout)["decomposition"]
    assert decomposition["cutoff_from"] == "rdf first minimum" and 0.8 < decomposition["cutoff"] < 1.5
    classes = {c["name"]: c for c in decomposition["classes"]}
    pair = classes["2-ion cluster (+1)"]
    assert 0.24 <= pair["fraction"] < 0.32 and pair["contribution_err"] > 0     # 6 of 16 Mg²⁺ paired: 12 of 48 ions
    assert sum(c["contribution"] for c in classes.values()) == pytest.approx(decomposition["total"], rel=1e-9)
    table = cli("transport", *base, "--decompose", "shell")
    assert table.returncode == 0 and "first shell" in table.stdout and "first minimum" in table.stdout
    # in SI (the file's Å and ps, 300 K): every contribution scaled as Λ is, the cutoff in Å
    real = cli("transport", *base[:-2], "--units", "real", "--temperature", "300", "--decompose", "cluster",
               "--json")
    assert real.returncode == 0, real.stderr
    real = json.loads(real.stdout)
    scale = real["pooled"]["molar_conductivity"] / json.loads(result.stdout)["pooled"]["molar_conductivity"]
    assert real["decomposition"]["total"] == pytest.approx(scale * decomposition["total"], rel=1e-6)
    assert real["decomposition"]["cutoff"] == pytest.approx(3 * decomposition["cutoff"], rel=0.05)   # RDF bins of 0.02 units


@pytest.mark.parametrize("arguments, named", [
    (["--decompose", "cluster", "--cutoff", "-1"], "--cutoff"),
    (["--cutoff", "1.2"], "--cutoff"),
    (["--decompose", "cluster", "--horizon", "nan"], "--horizon"),
    (["--decompose", "bonds"], "--decompose"),
])
def test_bad_decomposition_options_exit_2_naming_the_option(tmp_path, arguments, named) -> None:
    path = write_frames(tmp_path / "r.gsd", RigidClusters().positions(20.0, 0.5, np.random.default_rng(0)), 20.0, 0.5)
    result = cli("transport", str(path), *arguments)
    assert result.returncode == 2 and named in result.stderr and "Traceback" not in result.stderr, result.stderr


def test_a_bad_mechanisms_option_in_a_recipe_exits_2_naming_the_key(tmp_path) -> None:
    import yaml

    recipe = yaml.safe_load((HERE.parent / "recipes" / "quickstart.yaml").read_text())
    recipe["analyses"] = [{"plugin": "mechanisms", "options": {"kind": "bonds"}}]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(recipe))
    result = cli("validate", str(path))
    output = result.stdout + result.stderr
    assert result.returncode == 2 and "kind" in output and "mechanisms" in output and "Traceback" not in output, output


def test_a_users_class_function_partitions_lambda_and_gets_its_exact_answer(tmp_path) -> None:
    """A class function of the user's (here: which half of the box an ion is in, by its wrapped x): its classes
    sum to the attributed Λ, and each half carries half of it within 2 s.e. (the exact answer: every ion
    spends half its time in each half, whatever its unit); a function that returns too few names is refused."""
    model = RigidClusters()
    positions, attribution = rigid_system(tmp_path, model, seed=2)

    def halves(frame, valence, box, cutoff):
        return ["left" if x < box[0] / 2 else "right" for x in np.mod(frame[:, 0], box[0])]

    result = decompose(positions, attribution, kind=halves, cutoff=CUTOFF)
    assert [c.name for c in result.classes] == ["left", "right"] and result.kind == "halves"
    assert result.total.value == pytest.approx(summary(attribution).molar_conductivity.value, rel=1e-6)
    exact = expected_contributions(model, class_fractions(positions, attribution, halves, CUTOFF, ["left", "right"]))
    for c, e in zip(result.classes, exact):
        assert abs(c.contribution.value - e) < 2 * c.contribution.err, (c.name, c.contribution, e)
    with pytest.raises(ValueError, match="one class name"):
        decompose(positions, attribution, kind=lambda frame, valence, box, cutoff: ["a"], cutoff=CUTOFF)


def test_positions_shorter_than_the_shares_count_only_their_frames(tmp_path) -> None:
    """An extended run's analyses read its first segment: with positions of the first 150 frames and shares of
    all 401, the classes partition the mean share over the frames the positions hold, exactly."""
    from dataclasses import replace

    positions, attribution = rigid_system(tmp_path, RigidClusters(), seed=4, duration=200.0)
    short = [replace(p, cations=p.cations[:150], anions=p.anions[:150]) for p in positions]
    result = decompose(short, attribution, kind="cluster", cutoff=CUTOFF)
    frames = [attribution.full(n)[:150][np.isfinite(attribution.full(n)[:150, 0])] for n in range(2)]
    expected = float(np.mean(np.concatenate(frames).mean(axis=1)))
    assert result.total.value == pytest.approx(expected, rel=1e-6)
