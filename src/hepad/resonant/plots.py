"""Figures of the resonant study (matplotlib, written as PDF and PNG)."""

from __future__ import annotations

import numpy as np

from hepad import metrics
from hepad.plotting import band, color, plt, save

COLORS = {"supervised": "black", "iad": "tab:blue", "cwola": "tab:orange", "cathode": "tab:green",
          "anode": "tab:red", "ranode": "tab:purple", "sigma": "tab:brown"}


def sic_curves(curves: dict, title: str, stem, min_bkg: int) -> None:
    """curves: {(nsig, method): array (n_seeds, len(TPR_GRID))}; one panel per n_sig."""
    nsigs = sorted({k[0] for k in curves})
    fig, axes = plt.subplots(1, len(nsigs), figsize=(4.2 * len(nsigs), 3.6), squeeze=False, sharey=True)
    for ax, n in zip(axes[0], nsigs):
        for (nn, method), rows in sorted(curves.items()):
            if nn == n:
                band(ax, metrics.TPR_GRID, rows, method, color(method, COLORS))
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
            c = color(method, COLORS)
            ax.plot(xs, q[:, 1], "o-", color=c, label=method, ms=3)
            ax.fill_between(xs, q[:, 0], q[:, 2], color=c, alpha=0.2, lw=0)
        ax.axhline(1, color="grey", ls=":", lw=1)
        ax.set(xlabel=xlabel, title=panel_title(p))
    axes[0][0].set_ylabel(f"max SIC (>= {min_bkg} bkg events)")
    axes[0][-1].legend(frameon=False, fontsize=8)
    save(fig, stem)


def training_cost(methods: list[dict], stem) -> None:
    """Stacked bars: each method's own training jobs + the shared flows it uses (seconds)."""
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    names = [m["method"] for m in methods]
    own = np.array([m["own_seconds"] for m in methods])
    flow = np.array([m["flow_seconds"] for m in methods])
    ax.bar(names, own, color=[color(n, COLORS) for n in names], label="method's own training jobs")
    ax.bar(names, flow, bottom=own, color="lightgrey", hatch="//", label="shared flows it uses")
    total = {m["method"]: m["total_seconds"] for m in methods}
    if "sigma" in total and total.get("cathode"):
        ax.set_title(f"SIGMA / CATHODE total training time = {total['sigma'] / total['cathode']:.2f}", fontsize=9)
    ax.set(ylabel="training wall time, summed over jobs [s]")
    ax.legend(frameon=False, fontsize=8)
    save(fig, stem)


def template_vs_background(template, background, sr_data, title: str, stem) -> None:
    """Per feature: template, true SR background and SR data (normalised histograms)."""
    from hepad.resonant.formats.table import FEATURES

    fig, axes = plt.subplots(1, len(FEATURES) + 1, figsize=(3.2 * (len(FEATURES) + 1), 3.0))
    cols = [("mjj", lambda d: d.mjj)] + [(f, lambda d, i=i: d.x[:, i]) for i, f in enumerate(FEATURES)]
    for ax, (name, get) in zip(axes, cols):
        edges = np.histogram_bin_edges(get(background), bins=40)
        for d, label, kw in ((background, "true SR background", dict(color="black", lw=1.5)),
                             (template, "template", dict(color="tab:green", ls="--")),
                             (sr_data, "SR data", dict(color="tab:red", lw=0.8))):
            ax.hist(get(d), bins=edges, density=True, histtype="step", label=label, **kw)
        ax.set(xlabel=name, yticks=[])
    axes[0].legend(frameon=False, fontsize=7)
    fig.suptitle(title, fontsize=9)
    save(fig, stem)


def flow_losses(histories: dict, stem) -> None:
    """histories: {panel: {label: [rows epoch, train_loss, val_loss]}}; validation loss per epoch."""
    fig, axes = plt.subplots(1, len(histories), figsize=(4.5 * len(histories), 3.4), squeeze=False)
    for ax, (panel, runs) in zip(axes[0], sorted(histories.items())):
        for i, (label, rows) in enumerate(sorted(runs.items())):
            ep = [r["epoch"] + 1 for r in rows]
            c = plt.cm.viridis(i / max(len(runs) - 1, 1))
            ax.plot(ep, [r["val_loss"] for r in rows], color=c, lw=1, label=label if i < 12 else None)
            ax.plot(ep, [r["train_loss"] for r in rows], color=c, lw=0.6, ls=":")
        ax.set(xlabel="epoch", ylabel="negative log-likelihood per event", title=f"{panel} (solid: val, dotted: train)")
        ax.legend(frameon=False, fontsize=6)
    save(fig, stem)
