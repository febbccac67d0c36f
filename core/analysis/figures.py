"""Figure output shared by analysis plugins: headless matplotlib, PNG and SVG side by side."""

from __future__ import annotations

from pathlib import Path


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
