"""The numbers a speed-up must not spoil, of one or two finished runs side by side (issue 21, item 2).

    .venv/bin/python bench/quality.py results/default                       # one run
    .venv/bin/python bench/quality.py BEFORE/results/x AFTER/results/y      # before | after
    .venv/bin/python bench/quality.py ... --window 3.3 3.7 --calo-mass 5.0

Per method, in the signal window (--window, default the SR that holds the toy's 3.5 TeV resonance):
the median over seeds of max SIC at each n_sig > 0; the bump hunt's median local Z per (method,
estimate) and eps at each n_sig > 0; the n_sig = 0 calibration per (method, estimate): mean and std
of every n_sig = 0 Z of the run (all windows, seeds, eps) and their count. CaloFlow: max SIC of the
heatmap cells at --calo-mass GeV per displacement and method. A column is a run; a ratio column
after/before is printed for the max SICs.
"""

from __future__ import annotations

import argparse
import csv
import math
from collections import defaultdict
from pathlib import Path

import numpy as np


def rows(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def in_window(r: dict, window) -> bool:
    return math.isclose(float(r["sr_lo"]), window[0]) and math.isclose(float(r["sr_hi"]), window[1])


def median(v) -> float:
    v = [x for x in v if math.isfinite(x)]
    return float(np.median(v)) if v else math.nan


def max_sic(run: Path, window) -> dict:
    out = defaultdict(list)
    for r in rows(run / "resonant" / "summary.csv"):
        if in_window(r, window) and int(r["nsig"]) > 0:
            out[(r["method"], int(r["nsig"]))].append(float(r["max_sic"]))
    return {k: (median(v), len(v)) for k, v in out.items()}


def bump_z(run: Path, window) -> dict:
    out = defaultdict(list)
    for r in rows(run / "resonant" / "bumphunt.csv"):
        if in_window(r, window) and int(r["nsig"]) > 0:
            out[(r["method"], r["estimate"], float(r["eps"]), int(r["nsig"]))].append(float(r["z_local"]))
    return {k: (median(v), len(v)) for k, v in out.items()}


def calibration(run: Path) -> dict:
    out = defaultdict(list)
    for r in rows(run / "resonant" / "bumphunt.csv"):
        z = float(r["z_local"])
        if int(r["nsig"]) == 0 and math.isfinite(z):
            out[(r["method"], r["estimate"])].append(z)
    return {k: (float(np.mean(v)), float(np.std(v, ddof=1)) if len(v) > 1 else math.nan, len(v))
            for k, v in out.items()}


def calo_cells(run: Path, mass: float) -> dict:
    out = {}
    for r in rows(run / "calo" / "heatmap.csv"):
        if math.isclose(float(r["mass_gev"]), mass):
            out[(r["method"], float(r["z_m"]))] = (float(r["max_sic"]), 1)
    return out


def table(title: str, names: list[str], tables: list[dict], ratio: bool, fmt=lambda v: f"{v[0]:.2f}") -> None:
    keys = sorted(set().union(*tables), key=lambda k: tuple(str(x) for x in k))
    if not keys:
        return
    print(f"\n{title}")
    print(" | ".join(["key"] + names + (["after/before"] if ratio and len(tables) == 2 else [])))
    for k in keys:
        cells = [fmt(t[k]) if k in t else "-" for t in tables]
        if ratio and len(tables) == 2 and k in tables[0] and k in tables[1] and tables[0][k][0]:
            cells.append(f"{tables[1][k][0] / tables[0][k][0]:.2f}")
        print(" | ".join([" ".join(str(x) for x in k)] + cells))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", type=Path, help="results/<run> folders (one or two)")
    p.add_argument("--window", nargs=2, type=float, default=[3.3, 3.7])
    p.add_argument("--calo-mass", type=float, default=5.0)
    a = p.parse_args(argv)
    names = [str(r) for r in a.runs]
    table("median max SIC (n seeds)", names, [max_sic(r, a.window) for r in a.runs], True,
          lambda v: f"{v[0]:.2f} ({v[1]})")
    table("bump hunt: median local Z in the window (n seeds)", names, [bump_z(r, a.window) for r in a.runs], False,
          lambda v: f"{v[0]:.2f} ({v[1]})")
    table("n_sig = 0 calibration: mean, std of Z (n values: windows x seeds x eps)", names,
          [calibration(r) for r in a.runs], False, lambda v: f"{v[0]:+.2f} {v[1]:.2f} ({v[2]})")
    table(f"CaloFlow max SIC at m = {a.calo_mass} GeV (method, displacement)", names,
          [calo_cells(r, a.calo_mass) for r in a.runs], True)


if __name__ == "__main__":
    main()
