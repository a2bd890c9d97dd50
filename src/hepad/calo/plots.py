"""Figures of the CaloFlow study (the paper's Fig. 2/7, 3, 4, 6, 8), PDF + PNG via hepad.plotting.save."""

from __future__ import annotations

import numpy as np
from matplotlib.colors import LogNorm

from hepad import metrics
from hepad.calo.caloflow import anomaly_score
from hepad.calo.showers import LAYER_SHAPES
from hepad.plotting import plt, save  # Agg backend


def _mass_label(m: float) -> str:
    return f"m = {m:g} GeV"


def heatmap(rows: list[dict], stem, min_bkg: int) -> None:
    """Fig. 3: max SIC over mass x displacement, with our background floor and without (paper)."""
    masses = sorted({r["mass_gev"] for r in rows})
    zs = sorted({r["z_m"] for r in rows})
    fig, axes = plt.subplots(1, 2, figsize=(2.5 + 1.6 * len(masses), 0.35 * len(zs) + 2.0), squeeze=False,
                             layout="constrained")
    n_bkg = rows[0]["n_bkg"]
    for ax, key, title in ((axes[0][0], "max_sic", f"max SIC, cuts with >= {min_bkg} bkg showers"),
                           (axes[0][1], "max_sic_nofloor", f"max SIC, no floor (paper; ceiling {np.sqrt(n_bkg):.0f})")):
        grid = np.full((len(zs), len(masses)), np.nan)
        for r in rows:
            grid[zs.index(r["z_m"]), masses.index(r["mass_gev"])] = r[key]
        im = ax.imshow(np.log10(np.maximum(grid, 1e-3)), origin="lower", aspect="auto", cmap="viridis",
                       vmin=0, vmax=np.log10(max(np.sqrt(n_bkg), 10)))
        for (i, j), v in np.ndenumerate(grid):
            ax.text(j, i, f"{v:.1f}" if v < 100 else f"{v:.0f}", ha="center", va="center", fontsize=7,
                    color="white" if v < 10 else "black")
        ax.set(xticks=range(len(masses)), xticklabels=[f"{m:g}" for m in masses], yticks=range(len(zs)),
               yticklabels=[f"{z:g}" for z in zs], xlabel=r"$m_\chi$ [GeV]", ylabel="decay position z [m]")
        ax.set_title(title, fontsize=8)
        fig.colorbar(im, ax=ax, label=r"log$_{10}$ max SIC")
    fig.text(0.5, -0.02, f"SIC = tpr/sqrt(fpr); {n_bkg} evaluation photons; score {rows[0]['score']}",
             ha="center", fontsize=7)
    save(fig, stem)


def _hist(ax, values, label, color, bins, ls="-"):
    ax.hist(np.clip(values, bins[0], bins[-1]), bins=bins, histtype="step", density=True, label=label,
            color=color, ls=ls)


def _bins(arrays, n=60):
    lo, hi = np.percentile(np.concatenate(arrays), [0.5, 99.9])
    return np.linspace(lo, hi, n + 1)


def loglik(bkg: dict, signals: dict, stem) -> None:
    """Fig. 2/7: log-likelihood of the evaluation photons vs the chi samples, one panel per mass."""
    masses = sorted({m for m, _ in signals})
    zs = sorted({z for _, z in signals})
    colors = plt.cm.plasma(np.linspace(0, 0.9, len(zs)))
    fig, axes = plt.subplots(1, len(masses), figsize=(3.6 * len(masses), 3.2), squeeze=False, sharey=True,
                             layout="constrained")
    lp_b = -anomaly_score(bkg)
    bins = _bins([lp_b] + [-anomaly_score(s) for s in signals.values()])
    for ax, m in zip(axes[0], masses):
        _hist(ax, lp_b, "photons", "black", bins)
        for z, c in zip(zs, colors):
            if (m, z) in signals:
                _hist(ax, -anomaly_score(signals[(m, z)]), f"z = {z:g} m", c, bins)
        ax.set(xlabel="log p (latent, paper)", yscale="log", title=_mass_label(m))
    axes[0][0].set_ylabel("showers (normalised)")
    axes[0][-1].legend(frameon=False, fontsize=6)
    save(fig, stem)


def jacobian(bkg: dict, signals: dict, rows: list[dict], stem) -> None:
    """The score with and without the preprocessing's log-Jacobian: histograms and max SIC."""
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.4), layout="constrained")
    m = max(k[0] for k in signals)
    show = [k for k in sorted(signals) if k[0] == m]
    show = show[:: max(1, len(show) // 4)]
    colors = plt.cm.plasma(np.linspace(0, 0.9, len(show)))
    for ax, jac, name in ((axes[0], False, "log p latent (paper)"), (axes[1], True, "log p of (E_i, u): + log-Jacobian")):
        lp_b = -anomaly_score(bkg, jac)
        bins = _bins([lp_b] + [-anomaly_score(signals[k], jac) for k in show])
        _hist(ax, lp_b, "photons", "black", bins)
        for k, c in zip(show, colors):
            _hist(ax, -anomaly_score(signals[k], jac), f"m={k[0]:g}, z={k[1]:g}", c, bins)
        ax.set(xlabel=name, yscale="log")
    axes[0].legend(frameon=False, fontsize=6)
    a, b = np.array([r["max_sic_latent"] for r in rows]), np.array([r["max_sic_jacobian"] for r in rows])
    ax = axes[2]
    for mm in sorted({r["mass_gev"] for r in rows}):
        sel = np.array([r["mass_gev"] == mm for r in rows])
        ax.scatter(a[sel], b[sel], s=12, label=_mass_label(mm))
    lim = [0.5, max(a.max(), b.max()) * 1.5]
    ax.plot(lim, lim, color="grey", ls=":")
    ax.set(xscale="log", yscale="log", xlim=lim, ylim=lim, xlabel="max SIC, latent", ylabel="max SIC, with Jacobian",
           title=f">= {rows[0]['sic_min_bkg']} bkg showers per cut")
    ax.legend(frameon=False, fontsize=6)
    save(fig, stem)


def lifetime_sic(curves: dict, stem, n_bkg: int, min_bkg: int, with_sup: bool) -> None:
    """Fig. 6 (unsupervised) or Fig. 8 (+ supervised MLPs, dashed/dotted, and their combination with
    the unsupervised score, dash-dotted): SIC vs background rejection 1/fpr per mass.
    curves: {(method, train_mass, mass, tau): (label, score)}."""
    masses = sorted({k[2] for k in curves})
    taus = sorted({k[3] for k in curves})
    colors = dict(zip(taus, plt.cm.viridis(np.linspace(0, 0.85, len(taus)))))
    fig, axes = plt.subplots(1, len(masses), figsize=(3.6 * len(masses), 3.5), squeeze=False, sharey=True,
                             layout="constrained")
    sup_masses = sorted({k[1] for k in curves if k[0] == "sup"})
    for (method, mtrain, mass, tau), (y, s) in sorted(curves.items(), key=lambda kv: str(kv[0])):
        if method != "unsup" and not with_sup:
            continue
        fpr, tpr, nb = metrics.roc(y, s)
        ok = nb >= 1
        i = sup_masses.index(mtrain) if method != "unsup" else 0
        ls = {"unsup": "-", "sup": ["--", ":"][i % 2], "combined": [(0, (5, 1, 1, 1)), (0, (1, 2, 5, 2))][i % 2]}[method]
        name = "unsup" if method == "unsup" else f"{method} (m={mtrain:g})"
        ax = axes[0][masses.index(mass)]
        ax.plot(1 / fpr[ok], tpr[ok] / np.sqrt(fpr[ok]), color=colors[tau], ls=ls, lw=1,
                label=f"{name}, tau={tau:g} ns")
    for ax, m in zip(axes[0], masses):
        ax.axvline(n_bkg / max(min_bkg, 1), color="grey", ls=":", lw=1)  # the floor of max_sic
        ax.set(xscale="log", yscale="log", xlabel="background rejection 1/fpr", title=_mass_label(m))
        ax.set_ylim(bottom=0.1)
    axes[0][0].set_ylabel(r"SIC = tpr/$\sqrt{\mathrm{fpr}}$")
    axes[0][-1].legend(frameon=False, fontsize=5)
    fig.suptitle(f"{n_bkg} evaluation photons; grey line: {min_bkg} background showers pass (the max_sic floor)",
                 fontsize=7)
    save(fig, stem)


def example_showers(photon: list[np.ndarray], signal: list[np.ndarray], titles, stem) -> None:
    """Fig. 4: one signal shower (two blobs) above one photon, the three layers (MeV, log colour)."""
    fig, axes = plt.subplots(2, 3, figsize=(10, 6), layout="constrained")
    vmax = max(max(l.max() for l in photon), max(l.max() for l in signal))
    for row, (layers, title) in enumerate(zip((signal, photon), titles)):
        for i, (l, (nx, ny)) in enumerate(zip(layers, LAYER_SHAPES)):
            ax = axes[row][i]
            im = ax.imshow(np.where(l > 0, l, np.nan).T, origin="lower", aspect="auto", cmap="inferno", interpolation="nearest",
                           norm=LogNorm(vmin=1e-2, vmax=vmax), extent=[-240, 240, -240, 240])
            ax.set_title(f"{title}\nlayer {i} ({nx} x {ny} cells)", fontsize=8)
            ax.set_xlabel("x [mm]")
    axes[0][0].set_ylabel("y [mm]")
    axes[1][0].set_ylabel("y [mm]")
    fig.colorbar(im, ax=axes, label="voxel energy [MeV]")
    save(fig, stem)
