"""Frame times of imported trajectories: what a file states, what ``--frame-interval`` says, and their agreement.

``options`` below is a :class:`core.md.trajectory_import.ImportOptions` (``frame_interval``, ``time_scale``).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from core.errors import UserError


def gsd_times(path: Path, timestep: float | None) -> np.ndarray:
    """Frame times of a GSD file, τ: its steps × ``timestep`` or × its ``localcond/timestep`` log value."""
    import gsd.hoomd

    from core.md.trajectory import LOG_TIMESTEP

    with gsd.hoomd.open(str(path), "r") as trajectory:
        if timestep is None:
            log = trajectory[0].log
            if LOG_TIMESTEP not in log:
                raise UserError(f"{path}: a GSD file without {LOG_TIMESTEP!r} in its log; give --timestep (τ per "
                                "step) or --frame-interval")
            timestep = float(np.asarray(log[LOG_TIMESTEP]).ravel()[0])
        return np.array([trajectory[i].configuration.step for i in range(len(trajectory))], dtype=np.float64) \
            * timestep


#: MDAnalysis formats whose files store their frames' times (others, such as LAMMPS dumps, get a made-up dt).
TIMED_FORMATS = frozenset({"XTC", "TRR", "DCD", "NCDF", "NC", "H5MD", "TNG", "GSD"})


def stated_gsd_times(path: Path, timestep: float | None) -> np.ndarray | None:
    """A GSD file's frame times where it states them (its ``localcond/timestep`` or ``timestep``); else None."""
    try:
        return gsd_times(path, timestep)
    except UserError:
        return None


def stated_interval(universe, times: np.ndarray | None, options) -> float | None:
    """τ between frames as the file states it (×``time_scale``), or None where the file has no times."""
    if times is not None:
        return float(np.median(np.diff(times))) if len(times) > 1 else None
    formats = universe.trajectory.format
    formats = {formats} if isinstance(formats, str) else set(formats or ())
    if not {name.upper() for name in formats} & TIMED_FORMATS or universe.trajectory.n_frames < 2:
        return None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        interval = float(universe.trajectory.dt)
    if any("dt information" in str(warning.message) for warning in caught) or not interval > 0:
        return None
    return interval * options.time_scale


def check_frame_interval(universe, times: np.ndarray | None, options, path: Path) -> None:
    """A --frame-interval that disagrees with the times the file states is an error."""
    if options.frame_interval is None:
        return
    stated = stated_interval(universe, times, options)
    if stated is not None and not np.isclose(stated, options.frame_interval, rtol=1e-4, atol=0.0):
        raise UserError(f"{path}: the file states {stated:.6g} between frames (its own times"
                        f"{' × the time scale' if options.time_scale != 1.0 else ''}), but --frame-interval says "
                        f"{options.frame_interval:g}; leave --frame-interval out to use the file's times")


def stepped_time(path: Path, index: int, ts, frame_interval: float, first_steps: list[int]) -> float:
    """τ of frame ``index`` with ``--frame-interval``: where the file states steps (a LAMMPS dump's TIMESTEP), the
    step's distance from the first frame's in units of the first two frames' spacing, × the interval; so repeated
    steps (a dump appended after a restart), steps running backwards and uneven (log-spaced) steps reach the
    shared checks instead of being read as evenly spaced. Without steps, ``index`` × the interval.

    ``first_steps`` keeps the first two frames' steps between calls."""
    step = ts.data.get("step")
    if step is None:
        return index * frame_interval
    if len(first_steps) < 2:
        first_steps.append(int(step))
    if len(first_steps) < 2:
        return 0.0
    spacing = first_steps[1] - first_steps[0]
    if spacing <= 0:
        raise ValueError(f"{path}: frame 1 is at step {first_steps[1]}, frame 0 at {first_steps[0]}; times must "
                         "increase strictly (a dump appended after a restart repeats steps: remove the repeated "
                         "frames)")
    return (int(step) - first_steps[0]) / spacing * frame_interval
