"""Per-file background estimates and the `hepad bumphunt` aggregation.

For each data-scores file and background efficiency eps:
- template route: cut at the score above which round(eps M) of the M reference (background)
  events lie; template estimate b = eff_ref x N_SR with eff_ref the reference fraction above the
  cut, with binomial variance var_stat = N_SR^2 eff_ref (1 - eff_ref) / M. Its non-closure on the
  n_sig = 0 runs of the same method and eps (significance.non_closure: mean c of n_sel / b - 1 in
  this window, spread s2 beyond statistics pooled over windows) corrects it: expected background
  b' = (1 + c) b, sigma_b^2 = (1 + c)^2 var_stat + b^2 (s2 + var_c); Z from the counting formula
  (significance.z_counting), widened for a spread measured on few runs (significance.student_z).
  An n_sig = 0 row is judged by the other seeds' runs only (leave one out), so its Z is a fair
  test of the calibration.
- fit route: cut at the score above which round(eps N_SB) of the sideband data events (fit range
  outside the SR, from fit_min_mjj up: fit.FIT_MIN_MJJ) lie, so eps is the background efficiency
  measured where no signal is expected;
  binned sideband fit of the selected m_jj spectrum, SR background from it, Z from q0 (fit.bump_fit).
- ratio route (R-ANODE, whose score log p_S / p_B lives in the SR): no cut (eps = 1 in the table);
  the signal fraction w fitted to the SR events' out-of-fold scores, Z its signed profile-likelihood
  significance (ratio.fit_fraction).
A case that gives no estimate (too few events, a fit that does not converge) is a row of NaN with a
`message` and a log line; the aggregation goes on.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from hepad.errors import InputError
from hepad.io.atomic import write_csv
from hepad.resonant.bumphunt import calibration, fit, plots, ratio, toys
from hepad.resonant.bumphunt.scores import DataScores, read_data_scores
from hepad.resonant.bumphunt.summary import COLUMNS as SUMMARY_COLUMNS
from hepad.resonant.bumphunt.summary import summary_rows
from hepad.resonant.bumphunt.significance import MIN_DOF, NonClosure, non_closure, p_from_z, student_z, z_counting

log = logging.getLogger(__name__)

COLUMNS = ["window", "sr_lo", "sr_hi", "method", "nsig", "seed", "eps", "estimate", "n_selected_sr", "n_expected_sr",
           "uncertainty", "z_local", "p_local", "fit_chi2_ndf", "n_sig_selected", "fit_n_params", "rel_syst",
           "non_closure", "z_global_scan", "p_global_scan", "calibration", "message"]
NUMBERS = ["n_selected_sr", "n_expected_sr", "uncertainty", "z_local", "p_local", "fit_chi2_ndf", "n_sig_selected",
           "fit_n_params", "rel_syst", "non_closure", "z_global_scan", "p_global_scan"]
MIN_EVENTS_SR = 10  # fewer SR data events: no estimate
MIN_REFERENCE_SELECTED = 10  # fewer reference events above the template cut: eff_ref unmeasured


class NoEstimate(Exception):
    """This file and eps give no background estimate; the message says why."""


def cut(values: np.ndarray, eps: float) -> float:
    """The score threshold above which round(eps n) of `values` lie (midway between neighbours)."""
    s = np.sort(values)
    k = int(round(eps * len(s)))
    if k < 1:
        raise NoEstimate(f"eps x {len(s)} events rounds to no event above the cut")
    tied = int((s == s[-k]).sum()) if k < len(s) and s[-k - 1] == s[-k] else 0
    if tied > max(1, 0.1 * k):  # e.g. a score undefined off the SR: no cut separates the events at eps
        raise NoEstimate(f"{tied} of {len(s)} events share the score {s[-k]:g} at the cut (of {k} to pass); "
                         "expected scores that a cut can separate")
    return -np.inf if k >= len(s) else 0.5 * (s[-k - 1] + s[-k])


def _check_sr(d: DataScores) -> None:
    n = int(d.in_sr.sum())
    if n < MIN_EVENTS_SR:
        raise NoEstimate(f"{n} data events in the SR; expected at least {MIN_EVENTS_SR}")


def template_counts(d: DataScores, eps: float) -> dict:
    """Selected and expected SR counts of the template route, before the systematic is known."""
    _check_sr(d)
    m = len(d.reference_score)
    thr = cut(d.reference_score, eps)
    k = int((d.reference_score > thr).sum())
    if k < MIN_REFERENCE_SELECTED:
        raise NoEstimate(f"{k} of {m} reference events above the cut; expected at least {MIN_REFERENCE_SELECTED}")
    eff, n_sr = k / m, int(d.in_sr.sum())
    sel = d.in_sr & (d.score > thr)
    return {"n_selected_sr": int(sel.sum()), "n_expected_sr": eff * n_sr, "var_stat": n_sr**2 * eff * (1 - eff) / m,
            "n_sig_selected": int((sel & d.is_signal).sum())}


def template_finish(row: dict, nc: NonClosure | None = None) -> None:
    """Expected background, uncertainty, Z and p of a template row given the non-closure `nc` of the
    n_sig = 0 runs (None: none, the template taken as exact)."""
    nc = nc or NonClosure(0.0, 0.0, 0.0, 1, 0)
    b, c = row["n_expected_sr"], nc.c
    if not 1 + c > 0:
        raise NoEstimate(f"non-closure {c:+.2f} on the n_sig = 0 runs: the template predicts no background")
    row["n_expected_sr"], row["non_closure"], row["rel_syst"] = (1 + c) * b, c, float(np.sqrt(nc.s2 + nc.var_c))
    row["uncertainty"] = float(np.sqrt((1 + c) ** 2 * row["var_stat"] + b * b * (nc.s2 + nc.var_c)))
    z = z_counting(row["n_selected_sr"], row["n_expected_sr"], row["uncertainty"])
    row["z_local"] = student_z(z, row["n_expected_sr"] + row["uncertainty"] ** 2, b * b * nc.s2 * (1 + 1 / nc.n_runs),
                               nc.dof)
    row["p_local"] = float(p_from_z(row["z_local"]))


def fit_estimate(d: DataScores, eps: float, fit_min: float = fit.FIT_MIN_MJJ) -> tuple[dict, fit.BumpFit]:
    """The fit route on [max(fit_lo, fit_min), fit_hi]: the cut at eps of that range's sideband events."""
    _check_sr(d)
    lo = max(d.fit_lo, fit_min)
    edges, in_sr = fit.binning(d.sr_lo, d.sr_hi, lo, d.fit_hi)
    if in_sr[0]:
        raise NoEstimate(f"no sideband bin between the fit's lower end {lo:g} TeV (fit_min_mjj {fit_min:g}) and the "
                         f"SR at {d.sr_lo:g} TeV; expected a sideband on each side")
    in_range = d.mjj >= lo
    thr = cut(d.score[~d.in_sr & in_range], eps)
    sel = (d.score > thr) & in_range
    try:
        r = fit.bump_fit(fit.spectrum(d.mjj[sel], edges, in_sr))
    except fit.FitFailed as e:
        raise NoEstimate(str(e)) from None
    return {"n_selected_sr": r.n_sr, "n_expected_sr": r.b_sr, "uncertainty": r.sigma_b, "z_local": r.z,
            "p_local": float(p_from_z(r.z)), "fit_chi2_ndf": r.fit.chi2_ndf(), "fit_n_params": r.fit.n_params,
            "n_sig_selected": int((sel & d.in_sr & d.is_signal).sum())}, r


def ratio_estimate(d: DataScores) -> dict:
    """Every SR event, no cut (eps = 1): the fitted signal fraction w of the out-of-fold likelihood
    ratios (ratio.fit_fraction); expected background (1 - w) N_SR."""
    _check_sr(d)
    s = d.score[d.in_sr]
    if not np.isfinite(s).all():
        raise NoEstimate(f"{int((~np.isfinite(s)).sum())} SR events without a finite log density ratio")
    f, n = ratio.fit_fraction(s), int(d.in_sr.sum())
    return {"n_selected_sr": n, "n_expected_sr": (1 - f.w) * n, "uncertainty": f.sigma_w * n, "z_local": f.z,
            "p_local": float(p_from_z(f.z)), "n_sig_selected": int((d.in_sr & d.is_signal).sum())}


def _base(d: DataScores, eps: float, estimate: str) -> dict:
    return {"window": d.window, "sr_lo": d.sr_lo, "sr_hi": d.sr_hi, "method": d.method, "nsig": d.nsig,
            "seed": d.seed, "eps": eps, "estimate": estimate, **{k: float("nan") for k in NUMBERS}, "message": ""}


def estimates(d: DataScores, eps_list, fit_min: float = fit.FIT_MIN_MJJ) -> tuple[list[dict], dict]:
    """Rows of one file (template rows still without Z) and the fit results by eps."""
    rows, fits = [], {}
    for eps in [1.0] if d.estimates == ("ratio",) else eps_list:
        for est in d.estimates:
            row = _base(d, eps, est)
            try:
                if est == "template":
                    row.update(template_counts(d, eps))
                elif est == "ratio":
                    row.update(ratio_estimate(d))
                else:
                    values, fits[eps] = fit_estimate(d, eps, fit_min)
                    row.update(values)
            except NoEstimate as e:
                row["message"] = f"no {est} estimate: {e}"
                log.warning("%s, eps %g: %s", d.tag(), eps, row["message"])
            rows.append(row)
    return rows, fits


def _no_template(r: dict, message: str) -> None:
    r["message"] = f"no template estimate: {message}"
    log.warning("%s %s n_sig %s seed %s eps %g: %s", r["window"], r["method"], r["nsig"], r["seed"], r["eps"],
                r["message"])
    r.update({k: float("nan") for k in ("n_expected_sr", "uncertainty", "z_local", "p_local", "rel_syst",
                                        "non_closure")})


def apply_systematics(rows: list[dict]) -> None:
    """Non-closure per (method, eps) from the n_sig = 0 template rows, then Z of every template row; an
    n_sig = 0 row uses the runs of the other seeds only."""
    null = defaultdict(list)  # the template estimates before correction (template_finish overwrites them)
    for r in rows:
        if r["estimate"] == "template" and r["nsig"] == 0 and "var_stat" in r:
            null[(r["method"], r["eps"])].append((r["window"], r["seed"], r["n_selected_sr"], r["n_expected_sr"],
                                                  r["var_stat"]))
    for r in rows:
        if r["estimate"] != "template" or "var_stat" not in r:
            continue
        runs = defaultdict(list)
        for window, seed, n, b, var_stat in null.get((r["method"], r["eps"]), []):
            if not (r["nsig"] == 0 and seed == r["seed"]):
                runs[window].append((n, b, var_stat))
        nc = non_closure(runs, r["window"])
        if nc is None:  # a template's mismodelling can be many times its statistics: no Z without it
            other = " of the other seeds" if r["nsig"] == 0 else ""
            _no_template(r, f"{len(runs.get(r['window'], []))} n_sig = 0 run(s){other} in this window and "
                            f"{sum(max(len(v) - 1, 0) for v in runs.values())} degree(s) of freedom over the windows "
                            f"to measure the template's non-closure; expected at least 1 run and {MIN_DOF} degree(s)")
            continue
        try:
            template_finish(r, nc)
        except NoEstimate as e:
            _no_template(r, str(e))


def _check_inputs(data: list[DataScores], eps_list) -> None:
    for eps in eps_list:
        if not 0 < eps < 1:
            raise InputError(f"--eps {eps}: expected a background efficiency in (0, 1)")
    seen = {}
    for d in data:
        key = (d.window, d.method, d.nsig, d.seed)
        if key in seen:
            raise InputError(f"{d.source}: window {d.window}, method {d.method}, n_sig {d.nsig}, seed {d.seed} "
                             f"also in {seen[key]}; expected one file per window x method x n_sig x seed")
        seen[key] = d.source


def signal_window(data: list[DataScores]) -> int | None:
    """The window with the largest median S/sqrt(N) in the SR over files with injected signal (truth)."""
    by_w = defaultdict(list)
    for d in data:
        if d.nsig > 0:
            by_w[d.window].append((d.is_signal & d.in_sr).sum() / max(d.in_sr.sum(), 1) ** 0.5)
    return max(by_w, key=lambda w: np.median(by_w[w])) if by_w else None


def _why_not(name: str, rows: list[dict]) -> str:
    """Why the declared figure `name` has no estimate: what the rows it would show say."""
    if name.startswith("bumphunt_scan_"):
        est = name.removeprefix("bumphunt_scan_")
        shown, what = [r for r in rows if r["estimate"] == est], f"no {est} background estimate in any row"
    elif name.startswith("bumphunt_spectrum_w"):
        w = int(name.removeprefix("bumphunt_spectrum_w"))
        shown, what = [r for r in rows if r["window"] == w and r["estimate"] == "fit"], f"no sideband fit in window {w}"
    elif name == "bumphunt_calibration":
        shown, what = [r for r in rows if r["nsig"] == 0], "no finite n_sig = 0 significance to calibrate with"
    elif name == "bumphunt_summary":
        shown, what = rows, "no local significance in any row"
    else:  # bumphunt_vs_nsig
        shown, what = [], "no window with injected signal in its signal region (truth) to show against n_sig"
    messages = Counter(r["message"] for r in shown if r["message"])
    return f"{what}: {messages.most_common(1)[0][0]}" if messages else what


def bumphunt(score_files: list[str], eps_list: list[float], out: str, calibration_out: str, summary_out: str,
             figdir: str, signal_window_index: int | None = None, null_shared: bool = False,
             figures: list[str] = (), fit_min: float = fit.FIT_MIN_MJJ) -> None:
    """The scan of the data-scores files -> bumphunt.csv (`out`), the calibration table, the summary
    table (bumphunt.summary) and the figures in `figdir`; each name in `figures` (the rule's declared
    figures) is written, as a "no estimate" figure with the reason where the rows cannot fill it."""
    data = [read_data_scores(p) for p in score_files]
    _check_inputs(data, eps_list)
    rows, fits = [], {}
    for d in data:
        r, f = estimates(d, eps_list, fit_min)
        rows += r
        fits.update({(d.window, d.method, d.nsig, d.seed, eps): v for eps, v in f.items()})
    apply_systematics(rows)
    route_toys = toys.route_toys(fits) if null_shared else None  # no independent n_sig = 0 samples
    verdicts = calibration.verdicts(rows, null_shared, route_toys)  # each route's test: flag, keep out of the global Z
    n_eff = calibration.global_significance(rows, verdicts, null_shared)
    table = calibration.calibration_table(rows, n_eff, null_shared, verdicts, route_toys)
    rows.sort(key=lambda r: (r["window"], r["method"], r["nsig"], r["seed"], r["eps"], r["estimate"]))
    w = signal_window(data) if signal_window_index is None else signal_window_index
    best = summary_rows(rows, verdicts)
    written = plots.all_figures(rows, fits, eps_list, w, figdir, best)
    for name in figures:
        if name not in written:
            reason = _why_not(name, rows)
            log.warning("bump hunt: %s: %s", name, reason)
            plots.no_estimate(Path(figdir) / name, name, reason)
    write_csv(calibration_out, table, calibration.COLUMNS)
    write_csv(summary_out, best, SUMMARY_COLUMNS)
    write_csv(out, rows, COLUMNS)
    n_bad = sum(bool(r["message"]) and not np.isfinite(r["z_local"]) for r in rows)
    log.info("bump hunt: %d files, %d rows (%d without an estimate) -> %s", len(data), len(rows), n_bad, out)
