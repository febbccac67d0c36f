"""Trajectories from other tools: any format MDAnalysis reads, as localcond :class:`Frame` objects.

Users bring DCD, XTC, TRR, LAMMPS dumps (with a topology such as a LAMMPS
data file, PSF or PDB), or GSD files written by other programs. Ions are
chosen by MDAnalysis selection strings (``"type 1"``, ``"name NA"``): a cation
and an anion selection, or any number of named species (``species``); every
other atom is solvent. Positions are unwrapped by what the file holds: its
unwrapped coordinates (LAMMPS ``xu yu zu`` or ``xsu ysu zsu``), its image flags
(LAMMPS ``ix iy iz``, GSD ``particles.image``), or, where it has neither,
MDAnalysis' ``NoJump`` (no atom may move more than half a box between frames,
so frames must be close enough in time; too sparse frames are refused).
``unwrapped`` says the coordinates are unwrapped where the file cannot say so
(an XTC written unwrapped). They are stored as wrapped positions plus image
counters, as in localcond's own GSD files, with the topology's masses (for the
centre of mass). Lengths are taken as σ; ``length_scale`` and ``time_scale``
convert from the file's units (e.g. Å → σ, ps → τ).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.datatypes import ANION_TYPE, CATION_TYPE, SOLVENT_TYPE, Frame
from core.errors import UserError
from core.md.species import check_name
from core.md.frame_times import check_frame_interval, stated_gsd_times, stated_interval, stepped_time
from core.md.lammps_ids import check_lammps_frame_ids, check_unique_ids
from core.md.trajectory import EXTENSION_FORMATS, is_gsd, read_frames
from core.md.unwrapping import IMAGE_FLAGS, NOJUMP, checked_gsd_contents, gsd_images, is_lammps_dump, unwrapping_of
from core.periodic import minimum_image, wrap
from core.md.unwrap import SPARSE_FRAME_FRACTION  # one bound for every reader

TYPES = (CATION_TYPE, ANION_TYPE, SOLVENT_TYPE)

#: A topology charge counts as the valence z when it is within this of an integer (e).
VALENCE_TOLERANCE = 0.05
#: Ways to group selected atoms into ions (``ImportOptions.group``).
GROUPS = ("atom", "residue", "molecule", "fragment")


@dataclass(frozen=True)
class ImportOptions:
    """How to read a foreign trajectory.

    topology: file with atom names/types (None when the trajectory carries them).
    cation, anion: MDAnalysis selections of the ions.
    frame_interval: τ between frames; None: the file's times × ``time_scale`` (for a GSD file, its steps
    × its ``localcond/timestep`` log value or the ``timestep`` given to :func:`frames_of`).
    length_scale: σ per file length unit. time_scale: τ per file time unit.
    format: MDAnalysis' name of the trajectory format (``"LAMMPSDUMP"``, ``"XTC"``, ...), where the file
    extension does not say it; None: guessed from the extension.
    unwrapped: the file's coordinates are already unwrapped (LAMMPS ``xu``, or unwrapped from image flags
    by the reader): they are taken as they are; False: unwrapped here with ``NoJump``.
    cation_valence, anion_valence: the ions' valences z; None: the topology's charges, rounded (they must
    be integers within :data:`VALENCE_TOLERANCE`), or ±1 where the topology has no charges.
    group: what one ion is: ``atom`` (every selected atom), or a molecular ion made of the selected atoms
    of one ``residue``, ``molecule`` (the topology's molecule numbers) or ``fragment`` (bond graph), at its
    centre of mass, with the sum of its atoms' charges as its valence.
    equal_masses: every atom weighs the same in the centre of mass by intent (no warning when the topology
    has no masses).
    species: (name, selection) of each ionic species, for more than one cation or anion species (Li⁺ and
    Mg²⁺ with TFSI⁻); replaces ``cation`` and ``anion``. Each species' valence is its ions' summed
    topology charges (one per species) or given in ``valences``; its sign makes it a cation or an anion.
    valences: (name, z) of species whose valence the topology does not give.
    """

    topology: Path | None = None
    cation: str = f"type {CATION_TYPE}"
    anion: str = f"type {ANION_TYPE}"
    frame_interval: float | None = None
    length_scale: float = 1.0
    time_scale: float = 1.0
    format: str | None = None
    unwrapped: bool = False
    cation_valence: float | None = None
    anion_valence: float | None = None
    group: str = "atom"
    equal_masses: bool = False
    species: tuple[tuple[str, str], ...] = ()
    valences: tuple[tuple[str, float], ...] = ()

    def __post_init__(self) -> None:
        for name in ("frame_interval", "length_scale", "time_scale"):
            value = getattr(self, name)
            if value is not None and not (np.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        names = [name for name, _ in self.species]
        for name in names:
            check_name(name, "species")
        if len(set(names)) != len(names):
            raise ValueError(f"species names must differ, got {names}")
        if self.species and len(self.species) < 2:
            raise ValueError("species: name at least two (a cation and an anion species)")
        for name, value in self.valences:
            if name not in names:
                raise ValueError(f"valence for {name!r}, which is not a species (species: {names or 'none named'})")
            if not (np.isfinite(value) and value != 0):
                raise ValueError(f"valence of {name!r} must be a non-zero number, got {value!r}")

    def ion_selections(self) -> list[tuple[str, str, float | None]]:
        """(name, selection, given valence or None) of every ionic species, in order."""
        if not self.species:
            return [("cation", self.cation, self.cation_valence), ("anion", self.anion, self.anion_valence)]
        given = dict(self.valences)
        return [(name, selection, given.get(name)) for name, selection in self.species]


def frames_of(path: Path, options: ImportOptions | None = None, timestep: float | None = None) -> Iterator[Frame]:
    """Frames of a localcond GSD file (``options`` ignored) or of any MDAnalysis-readable trajectory, each
    checked (:mod:`core.md.trajectory_checks`) before it is handed out."""
    from core.md.trajectory_checks import checked_frames

    if is_gsd(path) and options is None:
        contents = checked_gsd_contents(path)
        frames = read_frames(path, timestep=timestep)
        if not contents.has_images:
            from core.md.unwrap import nojump_frames

            warnings.warn(f"{path}: no image flags; positions unwrapped by NoJump (no particle may move more "
                          f"than {SPARSE_FRAME_FRACTION:g} of the box between frames)", UserWarning, stacklevel=2)
            frames = nojump_frames(frames, path)
        return checked_frames(frames, path)
    return checked_frames(mdanalysis_frames(path, options or ImportOptions(), timestep), path)


def mdanalysis_frames(path: Path, options: ImportOptions, timestep: float | None = None) -> Iterator[Frame]:
    """Read ``path`` through MDAnalysis, one frame at a time; a :class:`UserError` names what is wrong.

    Times: ``options.frame_interval`` if given (an error where it disagrees with times the file states:
    GSD, XTC, TRR, DCD, NetCDF, H5MD, TNG); for a GSD file its own steps × time step (MDAnalysis
    reads a GSD file's frame times as 0, 1, 2, ...); else the reader's times × ``options.time_scale``.
    Masses (for the centre of mass) are the topology's own (never guessed from names), where every atom
    has a positive one; otherwise every atom weighs the same.
    """
    try:
        import MDAnalysis as mda
        from MDAnalysis.transformations import NoJump
    except ImportError as exc:
        raise UserError(f"{path}: reading non-GSD trajectories needs MDAnalysis "
                        f"(pip install 'localcond[mdanalysis]'): {exc}") from exc
    files = [str(options.topology), str(path)] if options.topology else [str(path)]
    try:
        named = {}
        format_name = options.format or EXTENSION_FORMATS.get(Path(path).suffix.lower())
        if format_name:  # the trajectory's format; without a topology file the topology comes from it too
            named = {"format": format_name} if options.topology else {"format": format_name,
                                                                      "topology_format": format_name}
        # Types may be guessed (for selections such as "type NA"); masses never: a mass guessed from a
        # coarse-grained name ("CAT" taken as carbon) would silently weigh the centre of mass wrongly.
        unwrapping, reader_options = unwrapping_of(path, options)
        with _no_made_up_dt_warning():
            universe = mda.Universe(*files, to_guess=("types",), **named, **reader_options)
    except Exception as exc:  # MDAnalysis raises many kinds for unreadable input
        with_topology = f" with {options.topology}" if options.topology else ""
        hint = ("; name the format with --format (e.g. LAMMPSDUMP, XTC, DCD)"
                if options.format is None and ("format" in str(exc).lower() or "guess" in str(exc).lower()) else "")
        raise UserError(f"{path}: MDAnalysis cannot read it{with_topology}: {exc}{hint}") from exc
    check_unique_ids(universe, path)
    if is_lammps_dump(path, options):
        check_lammps_frame_ids(path)
    entries = options.ion_selections()
    owner = np.full(universe.atoms.n_atoms, -1, dtype=np.int64)  # species index of each atom
    carriers: list[np.ndarray] = []  # per ion: its atoms' indices
    species: list[int] = []          # per ion: its index into ``entries``
    for index, (label, selection, _) in enumerate(entries):
        try:
            chosen = universe.select_atoms(selection)
        except Exception as exc:
            raise UserError(f"{path}: bad {label} selection {selection!r}: {exc}") from exc
        if chosen.n_atoms == 0:
            raise UserError(f"{path}: the {label} selection {selection!r} matches no atom")
        taken = owner[chosen.indices]
        if np.any(taken >= 0):
            other = entries[int(taken[taken >= 0][0])]
            raise UserError(f"{path}: the {other[0]} selection {other[1]!r} and the {label} selection "
                            f"{selection!r} overlap ({int(np.count_nonzero(taken >= 0))} atoms in both); each ion "
                            "must be of one species")
        owner[chosen.indices] = index
        groups = _ion_groups(universe, chosen, options.group, label, selection, path)
        carriers += groups
        species += [index] * len(groups)
    if universe.trajectory.ts.dimensions is None:
        raise UserError(f"{path}: the trajectory has no periodic box")
    if unwrapping == NOJUMP:
        with _no_made_up_dt_warning():
            universe.trajectory.add_transformations(NoJump())
    times = stated_gsd_times(path, timestep) if is_gsd(path) else None
    check_frame_interval(universe, times, options, path)
    if options.frame_interval is None and times is None and stated_interval(universe, None, options) is None:
        raise UserError(f"{path}: the file does not state its frames' times (a {universe.trajectory.format} file "
                        "holds steps, and MDAnalysis would make up 1 ps per step); give --frame-interval (τ "
                        "between frames; frame_interval in a recipe)")
    if options.frame_interval is not None:
        times = None
    masses = _masses(universe)
    if masses is None and not options.equal_masses:
        warnings.warn(f"{path}: the topology gives no masses, so every atom weighs the same in the centre of mass "
                      "(exact for beads of one mass; for an atomistic file it shifts every L^ij); give a topology "
                      "with masses, or --equal-masses to say this is intended", UserWarning, stacklevel=2)
    carrier_species = np.array(species, dtype=np.int64)
    carrier_valence = _carrier_valences(universe, carriers, carrier_species, entries, options, path)
    if options.species:  # named species: the valence's sign says cation or anion
        carrier_typeid = np.where(carrier_valence > 0, 0, 1).astype(np.int32)
    else:                # the cation and anion selections say it (a wrong sign is refused by transport)
        carrier_typeid = carrier_species.astype(np.int32)
    typeid = np.full(universe.atoms.n_atoms, 2, dtype=np.int32)
    for atoms, kind in zip(carriers, carrier_typeid):
        typeid[atoms] = kind
    layout = _CarrierLayout.build(carriers, carrier_typeid, typeid, masses)
    bonds = _ion_bonds(universe, typeid) if options.group == "atom" else np.zeros((0, 2), dtype=np.int64)
    bonds = layout.renumber(bonds)
    others = len(layout.typeid) - layout.n_carriers
    valence = np.concatenate([carrier_valence, np.zeros(others)])
    plain = not options.species and np.array_equal(carrier_valence, np.where(carrier_species == 0, 1.0, -1.0))
    labels = None
    if options.species:
        labels = (np.concatenate([carrier_species, np.full(others, -1)]).astype(np.int32),
                  tuple(name for name, _, _ in entries))
    return _frames(universe, layout, bonds, options, path, times, None if plain else valence, labels, unwrapping)


def _ion_groups(universe, chosen, group: str, label: str, selection: str, path: Path) -> list[np.ndarray]:
    """The atom indices of each ion in ``chosen``: one atom each, or whole residues, molecules or fragments.

    A group whose atoms are not all selected (a molecule split between species or left partly out) is
    refused, since its centre of mass would not be the ion's.
    """
    if group == "atom":
        return [np.array([i]) for i in chosen.indices]
    if group not in GROUPS:
        raise UserError(f"{path}: --group {group!r}; expected one of {', '.join(GROUPS)}")
    try:
        if group == "residue":
            wholes = [residue.atoms for residue in chosen.residues]
        elif group == "molecule":
            molnums = np.asarray(universe.atoms.molnums)
            wholes = [universe.atoms[molnums == m] for m in np.unique(molnums[chosen.indices])]
        else:
            wholes = list(chosen.fragments)
    except Exception as exc:  # the topology lacks residues, molecule numbers or bonds
        hint = {"molecule": "; molecule numbers come from a GROMACS TPR, while a LAMMPS data file's molecule ids "
                            "are read as residues: use --group residue (or fragment, from the bonds)",
                "fragment": "; fragments come from the topology's bonds: use a topology with bonds, or --group "
                            "residue"}.get(group, "")
        raise UserError(f"{path}: cannot group the {label}s by {group}: {exc}{hint}") from exc
    selected = set(chosen.indices.tolist())
    groups = []
    for whole in wholes:
        atoms = np.asarray(whole.indices)
        inside = sum(1 for i in atoms.tolist() if i in selected)
        if inside != len(atoms):
            raise UserError(f"{path}: the {label} selection {selection!r} takes {inside} of the {len(atoms)} atoms "
                            f"of one {group} (atoms {atoms[:6].tolist()}…); select whole {group}s, or another "
                            "--group")
        groups.append(atoms)
    return groups


@dataclass(frozen=True)
class _CarrierLayout:
    """How atoms become the particles of a localcond frame: ions (carriers) first, then every other atom.

    carrier_of: (N_atoms,) carrier index of each ion atom, −1 elsewhere. others: (N_other,) atom indices.
    weights: (N_atoms,) atom masses (1 where the topology has none). typeid: (N_particles,) of the frame.
    masses: (N_particles,) carrier masses (sums) and other atoms' masses, or None when all are equal.
    anchor: (N_carriers,) the first atom of each carrier, which its other atoms are made whole around.
    """

    carrier_of: np.ndarray
    n_carriers: int
    others: np.ndarray
    weights: np.ndarray
    typeid: np.ndarray
    masses: np.ndarray | None
    anchor: np.ndarray

    @staticmethod
    def build(carriers: list[np.ndarray], species: np.ndarray, atom_typeid: np.ndarray,
              masses: np.ndarray | None) -> _CarrierLayout:
        carrier_of = np.full(len(atom_typeid), -1, dtype=np.int64)
        for index, atoms in enumerate(carriers):
            carrier_of[atoms] = index
        others = np.flatnonzero(carrier_of < 0)
        weights = masses if masses is not None else np.ones(len(atom_typeid))
        carrier_mass = np.bincount(carrier_of[carrier_of >= 0], weights=weights[carrier_of >= 0],
                                   minlength=len(carriers))
        particle_mass = np.concatenate([carrier_mass, weights[others]])
        typeid = np.concatenate([species, atom_typeid[others]]).astype(np.int32)
        equal = np.ptp(particle_mass) == 0
        anchor = np.array([int(atoms[0]) for atoms in carriers], dtype=np.int64)
        return _CarrierLayout(carrier_of, len(carriers), others, weights, typeid, None if equal else particle_mass,
                              anchor)

    def positions(self, atoms: np.ndarray, box: np.ndarray) -> np.ndarray:
        """(N_particles, 3) carrier centres of mass, then the other atoms, from (N_atoms, 3) positions.

        Each molecular ion is made whole first: its atoms are taken at the minimum image from its first
        atom (``box`` (3,), same units), so a molecule that the file splits across the box (wrapped
        coordinates, or NoJump started from a wrapped first frame) has its true centre of mass. This
        assumes a molecule spans less than half the box, as any sensible simulation box ensures.
        """
        inside = self.carrier_of >= 0
        labels, mass = self.carrier_of[inside], self.weights[inside]
        base = atoms[self.anchor][labels]
        offset = atoms[inside] - base
        offset = minimum_image(offset, box)
        total = np.bincount(labels, weights=mass, minlength=self.n_carriers)
        centres = atoms[self.anchor] + np.stack(
            [np.bincount(labels, weights=mass * offset[:, k], minlength=self.n_carriers) for k in range(3)],
            axis=1) / total[:, None]
        return np.concatenate([centres, atoms[self.others]])

    def renumber(self, bonds: np.ndarray) -> np.ndarray:
        """Atom-index bonds between single-atom ions as particle indices of the frame."""
        if not bonds.size:
            return bonds
        return self.carrier_of[bonds]


def _carrier_valences(universe, carriers: list[np.ndarray], carrier_species: np.ndarray,
                      entries: list[tuple[str, str, float | None]], options: ImportOptions, path: Path) -> np.ndarray:
    """(N_carriers,) valence of every ion: its species' given one, else its atoms' summed topology charges,
    rounded (integers within :data:`VALENCE_TOLERANCE`); without charges ±1 for the cation and anion
    selections, and an error for named species."""
    try:
        charges = np.asarray(universe.atoms.charges, dtype=np.float64)
    except Exception:  # a topology without charges
        charges = None
    if charges is not None and not np.any(charges != 0):
        charges = None
    summed = (np.array([charges[atoms].sum() for atoms in carriers]) if charges is not None
              else np.zeros(len(carriers)))
    valence = np.zeros(len(carriers))
    for index, (label, _, given) in enumerate(entries):
        chosen = carrier_species == index
        flag = f"--{label}-valence" if not options.species else f"--valence {label} Z"
        if given is not None:
            valence[chosen] = given
            continue
        if charges is None:
            if options.species:
                raise UserError(f"{path}: the topology gives no charges, so species {label!r} has no valence; "
                                f"give {flag}")
            valence[chosen] = 1.0 if index == 0 else -1.0
            continue
        rounded = np.round(summed[chosen])
        worst = float(np.max(np.abs(summed[chosen] - rounded))) if np.any(chosen) else 0.0
        if worst > VALENCE_TOLERANCE:
            hint = ("group the atoms of molecular ions with --group residue, molecule or fragment, or "
                    if options.group == "atom" else "")
            raise UserError(f"{path}: the {label}s' charges are not integers (off by up to {worst:.3g} e); "
                            f"{hint}give {flag}")
        found = np.unique(rounded)
        if options.species and found.size > 1:
            raise UserError(f"{path}: species {label!r} has ions of charges {', '.join(f'{v:+g}' for v in found)}; "
                            "one valence per species: select each valence as a species of its own")
        if options.species and np.any(found == 0):
            raise UserError(f"{path}: species {label!r} is neutral (its ions' charges sum to 0); leave it out of "
                            "the ions (it is then solvent)")
        valence[chosen] = rounded
    return valence


def _masses(universe) -> np.ndarray | None:
    """The atoms' masses where the topology gives every atom a positive one, else None (equal weights)."""
    try:
        masses = np.asarray(universe.atoms.masses, dtype=np.float64)
    except Exception:  # a topology without masses
        return None
    usable = masses.size and np.all(np.isfinite(masses)) and np.all(masses > 0) and np.ptp(masses) > 0
    return masses if usable else None


def _frames(universe, layout: _CarrierLayout, bonds: np.ndarray, options: ImportOptions, path: Path,
            times: np.ndarray | None, valence: np.ndarray | None,
            labels: tuple[np.ndarray, tuple[str, ...]] | None, unwrapping: str) -> Iterator[Frame]:
    try:
        yield from _frames_of(universe, layout, bonds, options, path, times, valence, labels, unwrapping)
    finally:
        universe.trajectory.close()


def _frames_of(universe, layout: _CarrierLayout, bonds: np.ndarray, options: ImportOptions, path: Path,
               times: np.ndarray | None, valence: np.ndarray | None,
               labels: tuple[np.ndarray, tuple[str, ...]] | None, unwrapping: str) -> Iterator[Frame]:
    previous = None
    first_steps: list[int] = []
    images = gsd_images(path) if unwrapping == IMAGE_FLAGS and is_gsd(path) else None
    species, names = labels if labels is not None else (None, ())
    for index, ts in enumerate(_quietly(universe.trajectory)):
        dimensions = np.asarray(ts.dimensions, dtype=np.float64)
        if not np.allclose(dimensions[3:], 90.0):
            raise UserError(f"{path}: frame {index} has a triclinic box; only orthorhombic boxes are supported")
        box = dimensions[:3] * options.length_scale
        atoms = np.asarray(universe.atoms.positions, dtype=np.float64)
        if images is not None:
            atoms = atoms + next(images) * dimensions[:3]
        atoms = atoms * options.length_scale
        if unwrapping == NOJUMP and previous is not None:
            jump = np.abs(atoms - previous) / box
            if jump.max() > SPARSE_FRAME_FRACTION:
                atom = int(np.unravel_index(np.argmax(jump), jump.shape)[0])
                raise UserError(f"{path}: between frames {index - 1} and {index} atom {atom} moves "
                                f"{jump.max():.2f} of the box: frames too far apart to unwrap (the file has neither "
                                "unwrapped coordinates nor image flags, and NoJump assumes less than half a box); "
                                "use denser frames, a file with image flags (LAMMPS ix iy iz) or unwrapped "
                                "coordinates (xu yu zu), or --unwrapped if its coordinates already are")
        previous = atoms
        unwrapped = layout.positions(atoms, box)
        wrapped, image = wrap(unwrapped, box)
        if options.frame_interval is not None:
            time = stepped_time(path, index, ts, options.frame_interval, first_steps)
        elif times is not None:
            time = times[index]
        else:
            time = ts.time * options.time_scale
        yield Frame(wrapped, box, layout.typeid, TYPES, image, bonds, step=index, time=float(time),
                    masses=layout.masses, valence=valence, species=species, species_names=names)


@contextlib.contextmanager
def _no_made_up_dt_warning() -> Iterator[None]:
    """Silence MDAnalysis' "no dt information" warning: a file without times is either refused or read with
    --frame-interval, so the made-up dt it warns of is never used."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Reader has no dt information")
        yield


def _quietly(trajectory) -> Iterator:
    """The trajectory's time steps, read under :func:`_no_made_up_dt_warning`."""
    iterator = iter(trajectory)
    while True:
        with _no_made_up_dt_warning():
            try:
                ts = next(iterator)
            except StopIteration:
                return
        yield ts


def _ion_bonds(universe, typeid: np.ndarray) -> np.ndarray:
    """(M, 2) bonds of the topology that join a cation to an anion (the model's paired ions)."""
    try:
        pairs = np.asarray(universe.bonds.indices, dtype=np.int64).reshape(-1, 2)
    except Exception:  # a topology without bonds
        return np.zeros((0, 2), dtype=np.int64)
    kinds = np.sort(typeid[pairs], axis=1)
    return pairs[(kinds[:, 0] == 0) & (kinds[:, 1] == 1)]
