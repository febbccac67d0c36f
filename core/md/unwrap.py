"""Unwrapping the frames of a file that holds wrapped positions and no image flags (NoJump).

Every reader follows one rule (issue 30): coordinates are unwrapped from what the file holds (unwrapped
columns, image flags), and where it holds neither, by NoJump: each particle's step between consecutive
frames is taken as the minimum image of its wrapped step, u_k = u_{k−1} + mic(x_k − x_{k−1}) with frame k's
box. That is right only while no particle moves near half a box between frames, so a step beyond
:data:`SPARSE_FRAME_FRACTION` of the box stops the read with an error that names the file, the frames and
the particle. MDAnalysis-read files use MDAnalysis' own ``NoJump`` with the same bound
(:mod:`core.md.trajectory_import`); localcond GSD files use :func:`nojump_frames`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from core.datatypes import Frame
from core.periodic import minimum_image

#: Unwrapping by NoJump is refused when a particle moves more than this fraction of the box between frames:
#: its unwrapped step is at most half a box by construction, so steps near that bound are likely folded.
SPARSE_FRAME_FRACTION = 0.35


def nojump_frames(frames: Iterable[Frame], source: Path | str) -> Iterator[Frame]:
    """Yield ``frames`` with image flags that make :meth:`Frame.unwrapped_positions` continuous in time.

    Positions stay as the file has them; ``image`` is replaced by round((u − x) / L). Raises
    ``ValueError`` naming ``source`` where a particle steps more than :data:`SPARSE_FRAME_FRACTION` of the box.
    """
    previous_position: np.ndarray | None = None
    previous_unwrapped: np.ndarray | None = None
    for index, frame in enumerate(frames):
        position = np.asarray(frame.positions, dtype=np.float64)
        box = np.asarray(frame.box, dtype=np.float64)
        if previous_position is None:
            unwrapped = position + np.asarray(frame.image, dtype=np.float64) * box
        else:
            step = position - previous_position
            step = minimum_image(step, box)
            jump = np.abs(step) / box
            if jump.max() > SPARSE_FRAME_FRACTION:
                particle = int(np.unravel_index(np.argmax(jump), jump.shape)[0])
                raise ValueError(
                    f"{source}: between frames {index - 1} and {index} particle {particle} moves {jump.max():.2f} "
                    "of the box: frames too far apart to unwrap (the file has no image flags, and NoJump assumes "
                    "less than half a box); write particles/image, or denser frames")
            unwrapped = previous_unwrapped + step
        previous_position, previous_unwrapped = position, unwrapped
        image = np.round((unwrapped - position) / box).astype(np.int32)
        yield dataclasses.replace(frame, image=image)
