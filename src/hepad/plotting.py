"""Figure helpers shared by both studies: the Agg backend, PDF + PNG output, median bands."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

__all__ = ["plt", "save", "band", "color"]

# a fixed palette for names without a colour of their own (a new method needs no edit here)
_PALETTE = ["tab:cyan", "tab:olive", "tab:pink", "tab:gray", "gold", "navy", "teal", "maroon"]


def save(fig, stem: str | Path) -> None:
    """Write stem.pdf and stem.png."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    for ext in ("pdf", "png"):
        fig.savefig(stem.with_suffix(f".{ext}"), dpi=130 if ext == "png" else None, bbox_inches="tight")
    plt.close(fig)


def color(name: str, known: dict[str, str]) -> str:
    """known[name], else a palette colour fixed by the name (stable across runs)."""
    if name in known:
        return known[name]
    return _PALETTE[sum(name.encode()) % len(_PALETTE)]


def band(ax, x, rows, label, color):
    """Median line and 16-84 % band over the rows (seeds) of `rows` (n_rows, len(x)), NaN-aware."""
    from hepad import metrics

    lo, med, hi = metrics.bands(np.asarray(rows, dtype=float))
    ax.plot(x, med, color=color, label=label)
    if len(rows) > 1:
        ax.fill_between(x, lo, hi, color=color, alpha=0.25, lw=0)
