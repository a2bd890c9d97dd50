"""Figures of the bump hunt (PDF and PNG via hepad.plotting.save)."""

from __future__ import annotations

import textwrap
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy import stats

from hepad.plotting import color, plt, save
from hepad.resonant.bumphunt.calibration import LEFT_OUT
from hepad.resonant.plots import COLORS

STYLE = {"fit": "-", "template": "--", "ratio": "-."}


def _q(values) -> np.ndarray:
    v = np.asarray([x for x in values if np.isfinite(x)])
    return np.percentile(v, [16, 50, 84]) if len(v) else np.full(3, np.nan)


def _bands(ax, rows, xkey, label_of, note_lines=True):
    """Median and 16-84 % band over seeds of z_local against `xkey`, one line per label_of(row)."""
    groups, uncalibrated = defaultdict(lambda: defaultdict(list)), {}
    for r in rows:
        groups[label_of(r)][r[xkey]].append(r["z_local"])
        if r.get("calibration") in LEFT_OUT:  # its n_sig = 0 Z fail the calibration test (or none is possible): faded
            uncalibrated[label_of(r)] = r["calibration"]
    for (method, est), by_x in sorted(groups.items()):
        xs = sorted(by_x)
        q = np.array([_q(by_x[x]) for x in xs])
        c, bad = color(method, COLORS), uncalibrated.get((method, est), "")
        ax.plot(xs, q[:, 1], "o" + STYLE[est], color=c, ms=3, alpha=0.35 if bad else 1.0,
                label=f"{method} ({est}{', ' + bad.upper() if bad else ''})")
        ax.fill_between(xs, q[:, 0], q[:, 2], color=c, alpha=0.05 if bad else 0.15, lw=0)
    if note_lines:
        ax.axhline(5, color="black", ls=":", lw=1)
        ax.axhline(0, color="grey", lw=0.5)


def scan(rows: list[dict], estimate: str, stem) -> None:
    """Sliding-window scan: Z_local vs SR centre, panels eps (rows) x n_sig (columns)."""
    rows = [dict(r, sr_center=round(0.5 * (r["sr_lo"] + r["sr_hi"]), 3)) for r in rows if r["estimate"] == estimate]
    eps, nsig = sorted({r["eps"] for r in rows}, reverse=True), sorted({r["nsig"] for r in rows})
    fig, axes = plt.subplots(len(eps), len(nsig), figsize=(3.6 * len(nsig), 2.8 * len(eps)), squeeze=False,
                             sharex=True, sharey=True)
    for i, e in enumerate(eps):
        for j, n in enumerate(nsig):
            ax = axes[i][j]
            _bands(ax, [r for r in rows if r["eps"] == e and r["nsig"] == n], "sr_center",
                   lambda r: (r["method"], r["estimate"]))
            ax.set_title(rf"$n_{{sig}}$ = {n}, $\epsilon_B$ = {e:g}", fontsize=9)
    for ax in axes[-1]:
        ax.set_xlabel("signal-region centre [TeV]")
    for row in axes:
        row[0].set_ylabel(r"local significance $Z$")
    axes[0][-1].legend(frameon=False, fontsize=7)
    fig.suptitle(f"bump hunt, {estimate} background: median and 16-84 % band over seeds (dotted: 5 sigma)", fontsize=9)
    save(fig, stem)


def vs_nsig(rows: list[dict], window: int, stem) -> None:
    rows = [r for r in rows if r["window"] == window]
    eps = sorted({r["eps"] for r in rows}, reverse=True)
    fig, axes = plt.subplots(1, len(eps), figsize=(4.0 * len(eps), 3.4), squeeze=False, sharey=True)
    for ax, e in zip(axes[0], eps):
        _bands(ax, [r for r in rows if r["eps"] == e], "nsig", lambda r: (r["method"], r["estimate"]))
        ax.set(xlabel=r"injected signal events $n_{sig}$", title=rf"$\epsilon_B$ = {e:g}")
    axes[0][0].set_ylabel(r"local significance $Z$")
    entries = {}  # every panel's lines (the ratio route has a panel of its own, eps = 1)
    for ax in axes[0]:
        for h, label in zip(*ax.get_legend_handles_labels()):
            entries.setdefault(label, h)
    axes[0][-1].legend(entries.values(), entries.keys(), frameon=False, fontsize=7)
    fig.suptitle(f"window {window} [{rows[0]['sr_lo']}, {rows[0]['sr_hi']}] TeV (solid: sideband fit, dashed: "
                 "template, dash-dot: fitted signal fraction, no cut; dotted: 5 sigma)", fontsize=9)
    save(fig, stem)


def spectrum(bump, title: str, stem) -> None:
    """Selected m_jj spectrum, the sideband fit and its pulls, SR shaded."""
    s = bump.spec
    centres, mu = 0.5 * (s.edges[1:] + s.edges[:-1]), s.mu(bump.fit.a)
    fig, (ax, axp) = plt.subplots(2, 1, figsize=(5.2, 4.6), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    ax.errorbar(centres, s.counts, yerr=np.sqrt(s.counts), fmt="o", ms=3, color="black", label="selected data")
    ax.stairs(mu, s.edges, baseline=None, color="tab:blue", label=f"sideband fit ({bump.fit.n_params} par., "
              rf"$\chi^2$/ndf = {bump.fit.chi2:.1f}/{bump.fit.ndf})")
    for a in (ax, axp):
        a.axvspan(s.edges[:-1][s.in_sr][0], s.edges[1:][s.in_sr][-1], color="tab:red", alpha=0.12, lw=0)
    ax.set(yscale="log", ylabel="events / bin", title=f"{title}\nSR: {bump.n_sr} observed, "
           f"{bump.b_sr:.1f} $\\pm$ {bump.sigma_b:.1f} expected, Z = {bump.z:.2f}")
    ax.title.set_fontsize(8)
    ax.legend(frameon=False, fontsize=7)
    axp.bar(centres, (s.counts - mu) / np.sqrt(mu), width=np.diff(s.edges), color="grey")
    axp.axhline(0, color="black", lw=0.5)
    axp.set(xlabel=r"$m_{jj}$ [TeV]", ylabel="pull")
    save(fig, stem)


def calibration(rows: list[dict], stem) -> bool:
    """n_sig = 0: Z histograms with N(0, 1) and the Q-Q plot of local p-values, one row per estimate."""
    null = [r for r in rows if r["nsig"] == 0 and np.isfinite(r["z_local"])]
    ests = sorted({r["estimate"] for r in null})
    if not ests:
        return False
    fig, axes = plt.subplots(len(ests), 2, figsize=(8.4, 3.4 * len(ests)), squeeze=False, layout="constrained")
    grid = np.linspace(-4, 4, 200)
    for (axh, axq), est in zip(axes, ests):
        for method in sorted({r["method"] for r in null if r["estimate"] == est}):
            z = np.array([r["z_local"] for r in null if r["estimate"] == est and r["method"] == method])
            c = color(method, COLORS)
            axh.hist(z, bins=np.linspace(-4, 4, 33), density=True, histtype="step", color=c,
                     label=f"{method}: {z.mean():+.2f} $\\pm$ {z.std():.2f} (n = {len(z)})")
            p = np.sort(stats.norm.sf(z))
            axq.plot((np.arange(len(p)) + 0.5) / len(p), p, ".", ms=3, color=c, label=method)
        axh.plot(grid, stats.norm.pdf(grid), color="black", lw=1, label="N(0, 1)")
        axh.set(xlabel=r"local significance $Z$ ($n_{sig}$ = 0)", ylabel="density")
        axh.set_title(f"{est} background: Z of all windows and eps", fontsize=9)
        axq.plot([1e-4, 1], [1e-4, 1], color="black", lw=1)
        axq.set(xscale="log", yscale="log", xlabel="expected p (uniform quantiles)", ylabel="observed local p",
                title=f"{est} background: local p-value Q-Q")
        axq.title.set_fontsize(9)
        axh.legend(frameon=False, fontsize=6)
    save(fig, stem)
    return True


def summary(table: list[dict], stem) -> bool:
    """bumphunt_summary.csv drawn: per n_sig a panel, per method and route its best median local Z (bar)
    and the median global Z of those scans (black dot); uncalibrated and simulation-only routes faded."""
    nsigs = sorted({r["nsig"] for r in table if np.isfinite(r["z_local_median"])})
    if not nsigs:
        return False
    labels = sorted({(r["method"], r["estimate"]) for r in table})
    fig, axes = plt.subplots(1, len(nsigs), figsize=(3.6 * len(nsigs), 0.32 * len(labels) + 1.4), squeeze=False,
                             sharey=True, layout="constrained")
    for ax, n in zip(axes[0], nsigs):
        by = {(r["method"], r["estimate"]): r for r in table if r["nsig"] == n}
        for i, key in enumerate(labels):
            r = by.get(key)
            if r is None or not np.isfinite(r["z_local_median"]):
                continue
            bad = r["calibration"] in LEFT_OUT
            ax.barh(i, r["z_local_median"], color=color(key[0], COLORS), alpha=0.3 if bad else 0.9)
            ax.plot(r["z_global_median"], i, "o", color="black", ms=3)
        ax.axvline(5, color="black", ls=":", lw=1)
        ax.set(xlabel="median Z (bar: best local, dot: global)", title=rf"$n_{{sig}}$ = {n}")
        ax.title.set_fontsize(9)
    axes[0][0].set_yticks(range(len(labels)), [f"{m} ({e})" for m, e in labels], fontsize=7)
    fig.suptitle("bump hunt summary: best window and eps per method and route (faded: uncalibrated or simulation-only)", fontsize=9)
    save(fig, stem)
    return True


def no_estimate(stem, name: str, reason: str) -> None:
    """A declared figure that has nothing to show: its name and why, in words."""
    fig, ax = plt.subplots(figsize=(6.0, 2.2))
    ax.axis("off")
    ax.text(0.5, 0.75, f"{name}: no estimate", ha="center", va="center", fontsize=11)
    ax.text(0.5, 0.45, textwrap.fill(reason, 80), ha="center", va="top", fontsize=8)
    save(fig, stem)


def all_figures(rows: list[dict], fits: dict, eps_list, window: int | None, figdir, table=()) -> set[str]:
    """The figures the rows (and the summary table) can fill; -> their names."""
    figdir, written = Path(figdir), set()
    if summary(list(table), figdir / "bumphunt_summary"):
        written.add("bumphunt_summary")
    for est in sorted({r["estimate"] for r in rows}):
        scan(rows, est, figdir / f"bumphunt_scan_{est}")
        written.add(f"bumphunt_scan_{est}")
    if window is not None and any(r["window"] == window for r in rows):
        vs_nsig(rows, window, figdir / "bumphunt_vs_nsig")
        written.add("bumphunt_vs_nsig")
    if calibration(rows, figdir / "bumphunt_calibration"):
        written.add("bumphunt_calibration")
    eps_mid = sorted(eps_list)[len(eps_list) // 2]
    for w in sorted({k[0] for k in fits}):  # one method per window: the first with a fit, largest n_sig, first seed
        keys = sorted((k for k in fits if k[0] == w), key=lambda k: (k[4] != eps_mid, k[1], -k[2], k[3]))
        _, method, nsig, seed, e = keys[0]
        spectrum(fits[keys[0]], f"window {w}, {method}, $n_{{sig}}$ = {nsig}, seed {seed}, $\\epsilon_B$ = {e:g}",
                 figdir / f"bumphunt_spectrum_w{w}")
        written.add(f"bumphunt_spectrum_w{w}")
    return written
