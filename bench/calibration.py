"""The bump hunt's n_sig = 0 calibration of a finished run, pooled, with its statistical reach
(issue 22, item 1): is the local Z of a route N(0, 1)?

    .venv/bin/python bench/calibration.py results/calibration     # make calibration (20 null samples)
    .venv/bin/python bench/calibration.py results/default --subsets 3

Per (method, estimate, eps), per (method, estimate) and pooled per estimate (all rows, and without
the routes the run flags uncalibrated): n, mean, std and the KS p-value of the n_sig = 0 Z over all windows, seeds and eps. The values of one seed share one
background sample (overlapping windows, one data set for every method and eps), so their number
overstates the information: the independent samples are the seeds. `--subsets k` draws random k-seed
subsets of the run's seeds and prints the spread of the pooled mean and std they give: what a run of
k seeds (the default config: 3) can tell about a std of 1.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy import stats

ROUTES_LEFT_OUT = ("uncalibrated",)


def null_rows(run: Path) -> list[dict]:
    path = run / "resonant" / "bumphunt.csv"
    if not path.is_file():
        sys.exit(f"error: {path}: no such file (a finished run's results/<run> folder expected)")
    with open(path, newline="") as f:
        out = [r for r in csv.DictReader(f) if int(r["nsig"]) == 0 and np.isfinite(float(r["z_local"]))]
    for r in out:
        r["z_local"], r["seed"] = float(r["z_local"]), int(r["seed"])
    return out


def moments(z) -> tuple[int, float, float, float]:
    z = np.asarray(z, dtype=float)
    if len(z) < 2:
        return len(z), float("nan"), float("nan"), float("nan")
    return len(z), float(z.mean()), float(z.std(ddof=1)), float(stats.kstest(z, "norm").pvalue)


def pooled(rows: list[dict]) -> list[dict]:
    return [r for r in rows if r["calibration"] not in ROUTES_LEFT_OUT]


def subset_spread(rows: list[dict], estimate: str, k: int, draws: int, seed: int = 0) -> dict:
    """Pooled mean and std of the `estimate` route's Z (all rows) in random k-seed subsets: their
    5 / 50 / 95 % quantiles."""
    seeds = sorted({r["seed"] for r in rows})
    if k >= len(seeds):
        return {}
    by_seed = defaultdict(list)
    for r in rows:
        if r["estimate"] == estimate:
            by_seed[r["seed"]].append(r["z_local"])
    rng = np.random.default_rng(seed)
    means, stds = [], []
    for _ in range(draws):
        z = np.concatenate([by_seed[s] for s in rng.choice(seeds, k, replace=False)] + [[]])
        if len(z) < 2:
            return {}
        means.append(z.mean())
        stds.append(z.std(ddof=1))
    return {"mean": np.quantile(means, [0.05, 0.5, 0.95]), "std": np.quantile(stds, [0.05, 0.5, 0.95])}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run", type=Path, help="results/<run> of a finished run")
    ap.add_argument("--subsets", type=int, default=3, help="seeds per random subset (default 3, as the default config)")
    ap.add_argument("--draws", type=int, default=2000)
    ap.add_argument("--without", nargs="*", default=[], metavar="METHOD",
                    help="methods left out of the pooled numbers (e.g. anode, whose sideband fit the README flags)")
    a = ap.parse_args(argv)
    rows = null_rows(a.run)
    if not rows:
        sys.exit(f"error: {a.run}/resonant/bumphunt.csv: no finite n_sig = 0 Z (the calibration needs n_sig 0 in resonant.n_sig)")
    seeds = sorted({r["seed"] for r in rows})
    print(f"{a.run}: n_sig = 0 local Z, {len(seeds)} independent background sample(s) (seeds {seeds[0]}-{seeds[-1]})")
    print(f"{'method':<12}{'estimate':<10}{'eps':>7}{'n':>6}{'mean':>8}{'std':>7}{'KS p':>8}  verdict")
    groups = defaultdict(list)
    for r in rows:
        groups[(r["method"], r["estimate"], r["eps"])].append(r)
    for (m, e, eps), rs in sorted(groups.items()):
        n, mean, std, ks = moments([r["z_local"] for r in rs])
        print(f"{m:<12}{e:<10}{eps:>7}{n:>6}{mean:>8.2f}{std:>7.2f}{ks:>8.3f}  {rs[0]['calibration']}")
    by_route = defaultdict(list)
    for r in rows:
        by_route[(r["method"], r["estimate"])].append(r["z_local"])
    print("\nper (method, estimate), all eps:")
    for (m, e), z in sorted(by_route.items()):
        n, mean, std, ks = moments(z)
        print(f"{m:<12}{e:<10}{'all':>7}{n:>6}{mean:>8.2f}{std:>7.2f}{ks:>8.3f}")
    if a.without:
        rows = [r for r in rows if r["method"] not in a.without]
        print(f"\nwithout {', '.join(a.without)}:")
    print("\npooled per route (all rows; then without the (method, eps) the run flags uncalibrated, a selection on "
          "the same values):")
    for estimate in sorted({r["estimate"] for r in rows}):
        for label, rs in (("all", rows), ("not flagged", pooled(rows))):
            n, mean, std, ks = moments([r["z_local"] for r in rs if r["estimate"] == estimate])
            print(f"  {estimate:<9}{label:<12} n {n:4d}, mean {mean:+.3f}, std {std:.3f}, KS p {ks:.3f}")
    for estimate in sorted({r["estimate"] for r in rows}):
        spread = subset_spread(rows, estimate, a.subsets, a.draws)
        if spread:
            print(f"{a.subsets}-seed subsets ({a.draws} draws), pooled {estimate} route: 5/50/95 % quantiles of the "
                  f"mean {np.round(spread['mean'], 3).tolist()}, of the std {np.round(spread['std'], 3).tolist()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
