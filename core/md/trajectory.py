"""Reading and writing the GSD trajectories every simulator produces.

The contract (see :class:`core.plugin_system.plugin_api.SimulatorPlugin`): particle types
``cation``, ``anion``, ``solvent``; ``particles.image`` set so unwrapped
motion is exact; bonds of type ``pair``; and these log keys in every frame
(arrays of one float each) so a trajectory needs nothing else to be analysed:
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.datatypes import PAIR_BOND_TYPE, Frame

#: GSD log keys written by simulators; values are 1-element float64 arrays.
LOG_TIMESTEP = "localcond/timestep"
LOG_CONCENTRATION = "localcond/concentration"
LOG_BJERRUM_LENGTH = "localcond/bjerrum_length"
LOG_PAIRED_FRACTION = "localcond/paired_fraction"
LOG_SEED = "localcond/seed"
LOG_KT = "localcond/kT"
LOG_FRAME_INTERVAL = "localcond/frame_interval"
#: Text (engine name and version), stored as a uint8 array of its UTF-8 bytes.
LOG_ENGINE = "localcond/engine"


def _gsd():
    import gsd.hoomd

    return gsd.hoomd


def frame_count(path: Path) -> int:
    """Number of frames in a GSD file."""
    with _gsd().open(str(path), "r") as trajectory:
        return len(trajectory)


@dataclass(frozen=True)
class GSDContents:
    """What a GSD file's index says it holds, read without the data.

    n_frames: frames the index claims. first_without_positions: the first frame after frame 0 with no
    ``particles/position`` chunk, or None: GSD hands such a frame frame 0's positions (a writer leaves out
    what equals frame 0), which no dynamics reproduces bit for bit. with_positions: frames 1 … n − 1 that
    hold positions, plus frame 0. has_images: whether any frame stores ``particles/image``.
    """

    n_frames: int
    first_without_positions: int | None
    with_positions: int
    has_images: bool


def gsd_contents(path: Path) -> GSDContents:
    """Check a GSD file's index frame by frame (about 0.25 µs per frame: 0.5 s for a million)."""
    import gsd.fl

    with gsd.fl.open(str(path), "r") as handle:
        n_frames = int(handle.nframes)
        missing = [index for index in range(1, n_frames) if not handle.chunk_exists(index, "particles/position")]
        has_images = any(handle.chunk_exists(index, "particles/image") for index in range(n_frames))
    return GSDContents(n_frames, missing[0] if missing else None, n_frames - len(missing), has_images)


def read_log(path: Path, frame: int = 0) -> dict[str, float | str]:
    """The ``localcond/*`` log values of one frame: floats, and text for uint8-encoded entries."""
    with _gsd().open(str(path), "r") as trajectory:
        log = trajectory[frame].log
    return {key: _log_value(np.asarray(value)) for key, value in log.items()
            if key.startswith("localcond/") and (np.asarray(value).size == 1 or np.asarray(value).dtype == np.uint8)
            and key not in _PER_PARTICLE_KEYS}


#: Log keys that hold per-particle data rather than one value per frame.
_PER_PARTICLE_KEYS = frozenset({"localcond/species", "localcond/species_names"})


def _log_value(value: np.ndarray) -> float | str:
    if value.dtype == np.uint8:
        return value.tobytes().decode()
    return float(value.ravel()[0])


def _log_array(value: float | str) -> np.ndarray:
    if isinstance(value, str):
        return np.frombuffer(value.encode(), dtype=np.uint8).copy()
    return np.array([value], dtype=np.float64)


def read_frames(path: Path, indices: list[int] | None = None, timestep: float | None = None) -> Iterator[Frame]:
    """Yield frames (all, or ``indices``) one at a time; memory is one frame.

    ``timestep`` (τ per step) sets ``Frame.time``; by default it is read from
    the file's ``localcond/timestep`` log key (a missing key is an error).
    """
    with _gsd().open(str(path), "r") as trajectory:
        if timestep is None:
            log = trajectory[0].log
            if LOG_TIMESTEP not in log:
                raise ValueError(f"{path}: no {LOG_TIMESTEP!r} log key; pass the time step explicitly")
            timestep = float(np.asarray(log[LOG_TIMESTEP]).ravel()[0])
        for index in (range(len(trajectory)) if indices is None else indices):
            yield _to_frame(trajectory[index], timestep)


def _to_frame(snapshot, timestep: float) -> Frame:
    particles = snapshot.particles
    box = np.asarray(snapshot.configuration.box, dtype=np.float64)
    if np.any(box[3:] != 0):
        raise ValueError("triclinic boxes (non-zero tilt factors) are not supported")
    n = int(particles.N)
    image = particles.image if particles.image is not None else np.zeros((n, 3), dtype=np.int32)
    bonds = snapshot.bonds.group if snapshot.bonds.N else np.zeros((0, 2), dtype=np.int64)
    step = int(snapshot.configuration.step)
    return Frame(
        positions=np.asarray(particles.position, dtype=np.float64),
        box=box[:3].copy(),
        typeid=np.asarray(particles.typeid, dtype=np.int32),
        types=tuple(particles.types),
        image=np.asarray(image, dtype=np.int32),
        bonds=np.asarray(bonds, dtype=np.int64),
        step=step,
        time=step * timestep,
        velocities=_stored_velocities(particles),
        masses=_stored_masses(particles),
        valence=_stored_valence(particles),
        **_stored_species(snapshot.log),
    )


def _stored_species(log) -> dict:
    """``species`` and ``species_names`` of a frame whose ions were named by species (see core.md.species)."""
    from core.md.species import LOG_SPECIES, LOG_SPECIES_NAMES

    if LOG_SPECIES not in log or LOG_SPECIES_NAMES not in log:
        return {}
    names = np.asarray(log[LOG_SPECIES_NAMES], dtype=np.uint8).tobytes().decode()
    return {"species": np.asarray(log[LOG_SPECIES], dtype=np.int32).copy(), "species_names": tuple(names.split("\n"))}


def _stored_valence(particles) -> np.ndarray | None:
    """``particles.charge`` (localcond's convention: the valence z), or None where it is all zero."""
    charge = np.asarray(particles.charge, dtype=np.float64) if particles.charge is not None else np.zeros(0)
    return charge if charge.size and np.any(charge != 0) else None


def _stored_masses(particles) -> np.ndarray | None:
    """The frame's masses, or None where they are all equal (GSD's default is 1 for every particle)."""
    mass = np.asarray(particles.mass, dtype=np.float64) if particles.mass is not None else np.zeros(0)
    return mass if mass.size and np.ptp(mass) > 0 else None


def _stored_velocities(particles) -> np.ndarray | None:
    """The frame's velocities, or None where the file holds none (GSD then gives its default, zeros)."""
    velocity = getattr(particles, "velocity", None)
    if velocity is None:
        return None
    velocity = np.asarray(velocity, dtype=np.float64)
    return velocity if velocity.size and np.any(velocity != 0) else None


class GSDWriter:
    """Appends :class:`Frame` objects to a GSD file, with ``localcond/*`` log values.

    >>> import tempfile, numpy as np
    >>> from core.datatypes import Frame
    >>> path = Path(tempfile.mkdtemp()) / "t.gsd"
    >>> frame = Frame(np.zeros((2, 3)), np.array([5.0, 5, 5]), np.array([0, 1]), ("cation", "anion"),
    ...               np.zeros((2, 3), int), np.zeros((0, 2), int), step=0, time=0.0)
    >>> with GSDWriter(path, {LOG_TIMESTEP: 0.005}) as writer:
    ...     writer.append(frame)
    >>> frame_count(path)
    1
    """

    def __init__(self, path: Path, log: Mapping[str, float | str], mode: str = "w") -> None:
        """Open ``path`` to write (``mode="w"``) or to append to (``"a"``)."""
        self._file = _gsd().open(str(path), mode)
        self._log = {key: _log_array(value) for key, value in log.items()}

    def append(self, frame: Frame, velocities: np.ndarray | None = None, charge: np.ndarray | None = None) -> None:
        """Write one frame.

        ``velocities``: optional (N, 3), σ/τ. ``charge``: optional (N,) ion
        valences z (not an engine's scaled charge), written to ``particles.charge``
        (default: the frame's ``valence``).
        """
        snapshot = _gsd().Frame()
        snapshot.configuration.step = frame.step
        snapshot.configuration.box = [*map(float, frame.box), 0.0, 0.0, 0.0]
        snapshot.particles.N = frame.n_particles
        snapshot.particles.types = list(frame.types)
        snapshot.particles.typeid = frame.typeid.astype(np.uint32)
        snapshot.particles.position = frame.positions.astype(np.float32)
        snapshot.particles.image = frame.image.astype(np.int32)
        if charge is None:
            charge = frame.valence
        if charge is not None:
            snapshot.particles.charge = np.asarray(charge, dtype=np.float32)
        if velocities is not None:
            snapshot.particles.velocity = np.asarray(velocities, dtype=np.float32)
        if frame.masses is not None:
            snapshot.particles.mass = np.asarray(frame.masses, dtype=np.float32)
        if frame.bonds.size:
            snapshot.bonds.N = len(frame.bonds)
            snapshot.bonds.types = [PAIR_BOND_TYPE]
            snapshot.bonds.typeid = np.zeros(len(frame.bonds), dtype=np.uint32)
            snapshot.bonds.group = frame.bonds.astype(np.uint32)
        snapshot.log = dict(self._log)
        if frame.species is not None:
            from core.md.species import LOG_SPECIES, LOG_SPECIES_NAMES

            snapshot.log[LOG_SPECIES] = np.asarray(frame.species, dtype=np.int32)
            snapshot.log[LOG_SPECIES_NAMES] = _log_array("\n".join(frame.species_names))
        self._file.append(snapshot)

    def flush(self) -> None:
        """Push buffered frames to the file (before a checkpoint names them as written)."""
        self._file.flush()

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> GSDWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def truncate_trajectory(path: Path, n_frames: int) -> None:
    """Keep only the first ``n_frames`` frames of ``path`` (rewritten through a temporary file).

    Used on resume: frames written after the last checkpoint are dropped so
    that the re-run writes them once.
    """
    gsd_hoomd = _gsd()
    with gsd_hoomd.open(str(path), "r") as source:
        if len(source) <= n_frames:
            return
        temporary = path.with_name(path.name + ".truncating")
        with gsd_hoomd.open(str(temporary), "w") as target:
            for index in range(n_frames):
                target.append(source[index])
    temporary.replace(path)


#: Extensions MDAnalysis does not know but that say the format unambiguously.
EXTENSION_FORMATS = {".lammpstrj": "LAMMPSDUMP", ".lammpsdump": "LAMMPSDUMP"}


def is_gsd(path: Path) -> bool:
    """Whether ``path`` is a GSD file (by its extension)."""
    return Path(path).suffix.lower() == ".gsd"
