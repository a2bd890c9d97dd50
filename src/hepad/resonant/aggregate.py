"""Aggregation of the resonant study: summary.csv and the SIC figures."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from hepad.resonant import plots
from hepad.io.atomic import write_csv

SUMMARY_COLUMNS = ["window", "sr_lo", "sr_hi", "method", "nsig", "seed", "n_sig_sr", "n_bkg_sr", "max_sic",
                   "sic_tpr_0.2", "sic_tpr_0.3", "sic_fpr_1e-3", "auc", "train_seconds",
                   "n_sig_test", "n_bkg_test", "sic_min_bkg", "evaluation", "sic_tpr_0.2_is_lower_bound",
                   "sic_tpr_0.3_is_lower_bound"]


def read_rows(paths: list[str]) -> list[dict]:
    return [json.loads(Path(p).read_text()) for p in paths]


def write_summary(rows: list[dict], out: str) -> None:
    rows = sorted(rows, key=lambda r: (r["window"], r["method"], r["nsig"], r["seed"]))
    write_csv(out, rows, SUMMARY_COLUMNS)


def signal_window(rows: list[dict]) -> int:
    """The window where the injected signal is most significant (median S/sqrt(B) in the SR)."""
    by_w = defaultdict(list)
    for r in rows:
        by_w[r["window"]].append(r["n_sig_sr"] / max(r["n_bkg_sr"], 1) ** 0.5)
    return max(by_w, key=lambda w: np.median(by_w[w]))


def figures(rows: list[dict], figdir: str, min_bkg: int) -> None:
    figdir = Path(figdir)
    for w in sorted({r["window"] for r in rows}):
        sel = [r for r in rows if r["window"] == w]
        curves = defaultdict(list)
        for r in sel:
            curves[(r["nsig"], r["method"])].append([np.nan if v is None else v for v in r["sic_grid"]])
        title = f"SR [{sel[0]['sr_lo']:.2f}, {sel[0]['sr_hi']:.2f}] TeV"
        plots.sic_curves(curves, title, figdir / f"sic_w{w}", min_bkg)
    for r in rows:
        r["sr_center"] = round(0.5 * (r["sr_lo"] + r["sr_hi"]), 3)
    plots.max_sic_vs(rows, "sr_center", "signal-region centre [TeV]", "nsig", figdir / "max_sic_vs_window", min_bkg,
                     panel_title=lambda n: f"$n_{{sig}}$ = {n}")
    w = signal_window(rows)
    sel = [r for r in rows if r["window"] == w]
    plots.max_sic_vs(sel, "nsig", "injected signal events $n_{sig}$", "window", figdir / "max_sic_vs_nsig", min_bkg,
                     panel_title=lambda _: f"SR [{sel[0]['sr_lo']:.2f}, {sel[0]['sr_hi']:.2f}] TeV")


def flow_losses(tagged: list[str], figure: str) -> None:
    """Per-epoch losses of the shared models, one panel each: tagged = ["bkg_flow=.../w0/n500/s0.losses.csv", ...]."""
    from hepad.errors import InputError
    from hepad.resonant.registry import SHARED_MODELS

    histories = defaultdict(dict)
    for item in tagged:
        name, _, p = item.partition("=")
        if name not in SHARED_MODELS or not p:
            raise InputError(f"flow-losses: {item!r}; expected MODEL=FILE with MODEL one of {', '.join(SHARED_MODELS)}")
        depth = len(SHARED_MODELS[name].wildcards)  # label: the wildcard parts of the path, e.g. "w0 n500 s0"
        label = " ".join(Path(p).parts[-depth:-1] + (Path(p).name.split(".")[0],))
        with open(p) as f:
            histories[SHARED_MODELS[name].label][label] = [{k: float(v) for k, v in r.items()} for r in csv.DictReader(f)]
    plots.flow_losses(histories, figure)


CLOSURE_COLUMNS = ["window", "method", "nsig", "seed", "sr_lo", "sr_hi", "closure_auc", "n_template", "n_true_bkg"]


def closure_table(files: list[str], out: str) -> None:
    """template_closure.csv from the validation jobs' .../w{window}/{method}/n{nsig}/s{seed}.json."""
    rows = []
    for p in files:
        w, method, n, s = Path(p).parts[-4:]
        rows.append({"window": int(w[1:]), "method": method, "nsig": int(n[1:]), "seed": int(s[1:].split(".")[0]),
                     **json.loads(Path(p).read_text())})
    rows.sort(key=lambda r: (r["window"], r["method"], r["nsig"], r["seed"]))
    write_csv(out, rows, CLOSURE_COLUMNS)


def aggregate(metric_files: list[str], out_csv: str, figdir: str, min_bkg: int) -> None:
    rows = read_rows(metric_files)
    figures(rows, figdir, min_bkg)
    write_summary(rows, out_csv)
