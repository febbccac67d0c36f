"""One check of trajectory input, frame by frame, before any number is computed (issue 30).

Every reader goes through :func:`core.md.trajectory_import.frames_of` (localcond GSD files, and what MDAnalysis
reads), which passes each frame through :func:`checked_frames`. A frame that breaks a rule stops the read
with a ``ValueError`` naming the file, the frame (and where it helps the particle) and what was expected;
the command line and the pipeline turn it into a message and exit 2.

Rules, each against the file's first frame where it compares:
- the same number of particles and the same particle types in every frame;
- masses (where the file gives them) finite and positive;
- valences finite (electroneutrality is checked with the ionic species, :func:`core.md.species.ion_species`,
  whose message names them);
- positions and velocities finite; box edges finite and positive;
- times strictly increasing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from core.datatypes import Frame

def checked_frames(frames: Iterable[Frame], source: Path | str) -> Iterator[Frame]:
    """Yield ``frames`` of the file ``source`` unchanged, each after the checks above."""
    first: Frame | None = None
    previous_time = -np.inf
    for index, frame in enumerate(frames):
        where = f"{source}: frame {index}"
        if first is None:
            first = frame
            _check_first(frame, where)
        elif frame.n_particles != first.n_particles:
            raise ValueError(f"{where} has {frame.n_particles} particles, the first frame {first.n_particles}; "
                             "every frame must hold the same particles")
        elif frame.typeid.shape != first.typeid.shape or np.any(frame.typeid != first.typeid):
            changed = int(np.flatnonzero(frame.typeid != first.typeid)[0])
            raise ValueError(f"{where}: particle {changed} has type {frame.types[frame.typeid[changed]]!r}, in the "
                             f"first frame {first.types[first.typeid[changed]]!r}; every frame must hold the same "
                             "particles in the same order")
        _check_values(frame, where)
        if not frame.time > previous_time:
            raise ValueError(f"{where} is at t = {frame.time:g} τ (step {frame.step}), not after the frame before it "
                             f"(t = {previous_time:g} τ); times must increase strictly (a dump appended after a "
                             "restart repeats steps: remove the repeated frames)")
        previous_time = frame.time
        yield frame


def _check_first(frame: Frame, where: str) -> None:
    """The rules of a file's first frame: masses and charges."""
    if frame.masses is not None:
        masses = np.asarray(frame.masses, dtype=np.float64)
        bad = np.flatnonzero(~np.isfinite(masses) | (masses <= 0))
        if len(bad):
            raise ValueError(f"{where}: particle {int(bad[0])} has mass {float(masses[bad[0]])!r} ({len(bad)} particles in "
                             "all); masses must be finite and positive")
    if frame.valence is not None:
        valence = np.asarray(frame.valence, dtype=np.float64)
        bad = np.flatnonzero(~np.isfinite(valence))
        if len(bad):
            raise ValueError(f"{where}: particle {int(bad[0])} has charge {float(valence[bad[0]])!r}; charges must be finite")


def _check_values(frame: Frame, where: str) -> None:
    """Every frame: finite positions and velocities, a finite positive box."""
    box = np.asarray(frame.box, dtype=np.float64)
    if box.shape != (3,) or not np.all(np.isfinite(box)) or not np.all(box > 0):
        raise ValueError(f"{where} has box edges {box.tolist()}; expected three finite positive lengths (σ)")
    for what, values in (("position", frame.positions), ("velocity", frame.velocities)):
        if values is None:
            continue
        bad = np.flatnonzero(~np.isfinite(np.asarray(values, dtype=np.float64)).all(axis=1))
        if len(bad):
            raise ValueError(f"{where}: particle {int(bad[0])} has a non-finite {what} ({len(bad)} particles in all)")
