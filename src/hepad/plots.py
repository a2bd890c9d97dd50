"""Figures of the resonant study (matplotlib, written as PDF and PNG)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from hepad import metrics  # noqa: E402

COLORS = {"supervised": "black", "iad": "tab:blue", "cwola": "tab:orange", "cathode": "tab:green",
          "anode": "tab:red", "ranode": "tab:purple", "sigma": "tab:brown"}


def save(fig, stem: str | Path) -> None:
    """Write stem.pdf and stem.png."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    for ext in ("pdf", "png"):
        fig.savefig(stem.with_suffix(f".{ext}"), dpi=130 if ext == "png" else None, bbox_inches="tight")
    plt.close(fig)


def _band(ax, x, rows, label, color):
    lo, med, hi = metrics.bands(rows)
    ax.plot(x, med, color=color, label=label)
    if len(rows) > 1:
        ax.fill_between(x, lo, hi, color=color, alpha=0.25, lw=0)


def sic_curves(curves: dict, title: str, stem, min_bkg: int) -> None:
    """curves: {(nsig, method): array (n_seeds, len(TPR_GRID))}; one panel per n_sig."""
    nsigs = sorted({k[0] for k in curves})
    fig, axes = plt.subplots(1, len(nsigs), figsize=(4.2 * len(nsigs), 3.6), squeeze=False, sharey=True)
    for ax, n in zip(axes[0], nsigs):
        for (nn, method), rows in sorted(curves.items()):
            if nn == n:
                _band(ax, metrics.TPR_GRID, np.asarray(rows, dtype=float), method, COLORS.get(method))
        ax.axhline(1, color="grey", ls=":", lw=1)
        ax.set(xlabel="signal efficiency (tpr)", title=f"{title}, $n_{{sig}}$ = {n}")
    axes[0][0].set_ylabel(r"SIC = tpr/$\sqrt{\mathrm{fpr}}$")
    axes[0][-1].legend(frameon=False, fontsize=8)
    fig.text(0.5, -0.04, f"median and 16-84 % band over seeds; cuts passed by >= {min_bkg} test background events",
             ha="center", fontsize=7)
    save(fig, stem)


def max_sic_vs(rows: list[dict], xkey: str, xlabel: str, panel_key: str, stem, min_bkg: int, panel_title=str) -> None:
    """Median and 16/84 % band over seeds of max SIC against `xkey`, one panel per `panel_key` value."""
    panels = sorted({r[panel_key] for r in rows})
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.6), squeeze=False, sharey=True)
    for ax, p in zip(axes[0], panels):
        sel = [r for r in rows if r[panel_key] == p]
        for method in sorted({r["method"] for r in sel}):
            xs = sorted({r[xkey] for r in sel if r["method"] == method})
            q = np.array([np.nanpercentile([r["max_sic"] for r in sel if r["method"] == method and r[xkey] == x],
                                           [16, 50, 84]) for x in xs])
            c = COLORS.get(method)
            ax.plot(xs, q[:, 1], "o-", color=c, label=method, ms=3)
            ax.fill_between(xs, q[:, 0], q[:, 2], color=c, alpha=0.2, lw=0)
        ax.axhline(1, color="grey", ls=":", lw=1)
        ax.set(xlabel=xlabel, title=panel_title(p))
    axes[0][0].set_ylabel(f"max SIC (>= {min_bkg} bkg events)")
    axes[0][-1].legend(frameon=False, fontsize=8)
    save(fig, stem)
