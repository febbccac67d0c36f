"""Write atomistic-style LAMMPS files of a 2:1 salt with a known answer, for the atomistic example.

    python examples/atomistic/make_files.py data/atomistic      # then: python -m core run examples/atomistic/recipe.yaml

What it writes is synthetic, not molecular dynamics: each carrier follows a random walk, so the
transport coefficients are known exactly (:func:`known_molar_conductivity`). Everything else is what an
all-atom LAMMPS run of Mg(X)₂ in a solvent gives a user:

- ``p{f}/system.data``: a LAMMPS data file (``atom_style full``: molecule ids, partial charges, masses,
  bonds). Mg²⁺ (type 1, 24.305 u, +2 e); X⁻, a rigid three-atom anion (type 2: 14.007 u, −0.6 e; type 3:
  15.999 u, −0.2 e ×2; bonded), and a neutral one-atom solvent (type 4, 39.948 u).
- ``p{f}/run{r}.lammpstrj``: a text dump ``id type x y z ix iy iz``: coordinates wrapped into the box
  [0, L) Å atom by atom (so anions are split across its faces) with image flags; LAMMPS time steps of
  1 fs, a frame every 2 ps.

In the system with paired fraction f, a fraction f of the Mg²⁺ carry an X⁻ at 2.4 Å that moves with them
(a contact ion pair, charge +1), which lowers Λ as f grows and gives the local environments something to
learn: the paired ions have an unlike neighbour at contact.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

LENGTH = 30.0            # Å
FRAME_PS = 2.0           # ps between frames
STEPS_PER_FRAME = 2000   # 1 fs time steps
N_MG, N_SOLVENT = 16, 250
ANION_MASSES = np.array([14.007, 15.999, 15.999])
ANION_CHARGES = np.array([-0.6, -0.2, -0.2])
MASSES = {1: 24.305, 2: 14.007, 3: 15.999, 4: 39.948}
#: Diffusion coefficients, Å²/ps: free Mg²⁺, free X⁻, a contact pair, solvent.
D_MG, D_X, D_PAIR, D_SOLVENT = 0.08, 0.15, 0.04, 0.3
PAIR_DISTANCE = 2.4      # Å, Mg to the anion's centre of mass


def _anion_shape() -> np.ndarray:
    """(3, 3) atom offsets of X⁻ from its centre of mass, Å: N at the apex, two O 1.25 Å from it."""
    shape = np.array([[0.0, 0.0, 0.0], [1.25, 0.0, 0.0], [-0.45, 1.17, 0.0]])
    return shape - ANION_MASSES @ shape / ANION_MASSES.sum()


def carriers(paired_fraction: float) -> dict[str, np.ndarray]:
    """The walkers: ``walker`` (per carrier: Mg, X, solvent in that order) and ``diffusion`` (per walker).

    The first round(f · N_Mg) Mg²⁺ each carry the first X⁻s: a pair is one walker.
    """
    n_paired = int(round(paired_fraction * N_MG))
    n_carriers = N_MG + 2 * N_MG + N_SOLVENT
    walker = np.arange(n_carriers)
    walker[N_MG:N_MG + n_paired] = np.arange(n_paired)  # the paired anions ride on their Mg's walker
    _, walker = np.unique(walker, return_inverse=True)
    kind = np.repeat([0, 1, 2], [N_MG, 2 * N_MG, N_SOLVENT])
    diffusion = np.zeros(walker.max() + 1)
    diffusion[walker] = np.array([D_MG, D_X, D_SOLVENT])[kind]
    diffusion[walker[:n_paired]] = D_PAIR
    mass = np.concatenate([np.full(N_MG, MASSES[1]), np.full(2 * N_MG, ANION_MASSES.sum()),
                           np.full(N_SOLVENT, MASSES[4])])
    valence = np.repeat([2.0, -1.0, 0.0], [N_MG, 2 * N_MG, N_SOLVENT])
    return {"walker": walker, "diffusion": diffusion, "mass": mass, "valence": valence, "n_paired": n_paired}


def known_molar_conductivity(paired_fraction: float, length_scale: float = 1.0 / 3.0,
                             time_scale: float = 1.0) -> float:
    """Λ per formula unit MgX₂, reduced units (σ = Å / length_scale, τ = ps / time_scale, kT = 1), exactly.

    Positions relative to the mass-weighted centre of mass: Q' = Σ_k (q_k − Z μ_k) W_k with q_k the
    charge walker k carries, μ_k its share of the mass and Z = Σ z = 0, so Q' = Σ_k q_k W_k and
    d/dt <|ΔQ|²> = Σ_k 6 D_k q_k²; Λ = that / (6 kT V c) with c V = N_Mg formula units.
    """
    walkers = carriers(paired_fraction)
    charge = np.bincount(walkers["walker"], weights=walkers["valence"])
    diffusion = walkers["diffusion"] * length_scale ** 2 / time_scale   # σ²/τ
    return float(np.sum(diffusion * charge ** 2)) / N_MG


def write_system(directory: Path, paired_fraction: float, replicas: int = 2, frames: int = 400,
                 seed: int = 0) -> Path:
    """``system.data`` and ``run{r}.lammpstrj`` for each replica in ``directory`` (created)."""
    directory.mkdir(parents=True, exist_ok=True)
    walkers = carriers(paired_fraction)
    _write_data(directory / "system.data")
    shape = _anion_shape()
    n_paired = walkers["n_paired"]
    for replica in range(replicas):
        rng = np.random.default_rng([seed, int(round(paired_fraction * 1000)), replica])
        start = rng.uniform(0.0, LENGTH, (len(walkers["walker"]), 3))
        direction = rng.normal(size=(n_paired, 3))
        start[N_MG:N_MG + n_paired] = start[:n_paired] + PAIR_DISTANCE * direction / np.linalg.norm(
            direction, axis=1, keepdims=True)
        walk = np.zeros((len(walkers["diffusion"]), 3))
        lines: list[str] = []
        for index in range(frames):
            centre = start + walk[walkers["walker"]]
            atoms = _atoms(centre, shape, rng)
            flags = np.floor(atoms / LENGTH).astype(np.int64)
            wrapped = atoms - flags * LENGTH
            lines += ["ITEM: TIMESTEP", str(index * STEPS_PER_FRAME), "ITEM: NUMBER OF ATOMS", str(len(atoms)),
                      "ITEM: BOX BOUNDS pp pp pp", *[f"0.0 {LENGTH}"] * 3, "ITEM: ATOMS id type x y z ix iy iz"]
            types = _atom_types()
            lines += [f"{i + 1} {t} {x:.5f} {y:.5f} {z:.5f} {a} {b} {c}"
                      for i, (t, (x, y, z), (a, b, c)) in enumerate(zip(types, wrapped.tolist(), flags.tolist()))]
            walk += rng.normal(size=walk.shape) * np.sqrt(2.0 * walkers["diffusion"] * FRAME_PS)[:, None]
        (directory / f"run{replica}.lammpstrj").write_text("\n".join(lines) + "\n")
    return directory


def _atom_types() -> list[int]:
    return [1] * N_MG + [2, 3, 3] * (2 * N_MG) + [4] * N_SOLVENT


def _atoms(centre: np.ndarray, shape: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Atom positions: each Mg and solvent at its carrier, each anion's atoms around its centre of mass
    in a fresh random orientation."""
    anions = centre[N_MG:3 * N_MG]
    rotations = np.linalg.qr(rng.normal(size=(len(anions), 3, 3)))[0]
    anion_atoms = anions[:, None, :] + np.einsum("aij,kj->aki", rotations, shape)
    return np.concatenate([centre[:N_MG], anion_atoms.reshape(-1, 3), centre[3 * N_MG:]])


def _write_data(path: Path) -> None:
    """The LAMMPS data file: atom_style full (id molecule type charge x y z), masses and the anions' bonds."""
    atoms, bonds, molecule = [], [], 0
    types = _atom_types()
    charges = [2.0] * N_MG + list(ANION_CHARGES) * (2 * N_MG) + [0.0] * N_SOLVENT
    for index, (kind, charge) in enumerate(zip(types, charges), start=1):
        if kind != 3:
            molecule += 1
        atoms.append(f"{index} {molecule} {kind} {charge:.3f} 0.0 0.0 0.0")
        if kind == 2:
            bonds += [(index, index + 1), (index, index + 2)]
    text = ["LAMMPS data file: Mg(X)2 in a one-atom solvent (synthetic, localcond's atomistic example)", "",
            f"{len(atoms)} atoms", f"{len(bonds)} bonds", "4 atom types", "1 bond types", "",
            f"0.0 {LENGTH} xlo xhi", f"0.0 {LENGTH} ylo yhi", f"0.0 {LENGTH} zlo zhi", "", "Masses", "",
            *[f"{kind} {mass}" for kind, mass in MASSES.items()], "", "Atoms # full", "", *atoms, "", "Bonds", "",
            *[f"{number} 1 {a} {b}" for number, (a, b) in enumerate(bonds, start=1)], ""]
    path.write_text("\n".join(text))


#: The paired fractions of the example's four systems (the recipe's grid names the same).
PAIRED_FRACTIONS = (0.125, 0.375, 0.625, 0.875)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path, help="where to write p{f}/system.data and p{f}/run{r}.lammpstrj")
    parser.add_argument("--frames", type=int, default=400)
    parser.add_argument("--replicas", type=int, default=2)
    args = parser.parse_args()
    for fraction in PAIRED_FRACTIONS:
        write_system(args.directory / f"p{fraction}", fraction, args.replicas, args.frames)
        print(f"p{fraction}: Λ (per formula unit MgX₂, reduced units) = {known_molar_conductivity(fraction):.4f}")


if __name__ == "__main__":
    main()
