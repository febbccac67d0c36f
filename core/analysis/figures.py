"""Figure output shared by analysis plugins: headless matplotlib, PNG and SVG side by side."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np


def pyplot():
    """``matplotlib.pyplot`` on the headless Agg backend (analyses run in workers without a display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(figure, output_dir: Path, stem: str, dpi: int = 150) -> list[str]:
    """Write ``stem.png`` and ``stem.svg`` under ``output_dir``, close the figure; returns the file names."""
    names = []
    for suffix in ("png", "svg"):
        figure.savefig(output_dir / f"{stem}.{suffix}", dpi=dpi)
        names.append(f"{stem}.{suffix}")
    pyplot().close(figure)
    return names


def identity_line(axes, values: Iterable[float], style: str = "k--", pad_fraction: float = 0.0) -> None:
    """Draw y = x on ``axes`` over the range of the finite ``values`` (both axes' data, reduced units),
    widened by ``pad_fraction`` of that range at each end; nothing when no value is finite."""
    finite = [float(v) for v in values if np.isfinite(v)]
    if not finite:
        return
    low, high = min(finite), max(finite)
    pad = pad_fraction * (high - low or 1.0)
    axes.plot([low - pad, high + pad], [low - pad, high + pad], style, lw=0.8)
