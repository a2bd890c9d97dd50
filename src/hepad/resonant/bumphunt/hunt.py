"""Per-file background estimates and the `hepad bumphunt` aggregation.

For each data-scores file and background efficiency eps:
- template route: cut at the score above which round(eps M) of the M reference (background)
  events lie; expected SR background b = eff_ref x N_SR with eff_ref the reference fraction above the
  cut; sigma_b^2 = (rel_syst b)^2 + N_SR^2 eff_ref (1 - eff_ref) / M (the binomial uncertainty of
  eff_ref); Z from the counting formula (significance.z_counting). rel_syst: significance.relative_systematic
  on the n_sig = 0 runs of the same window, method and eps.
- fit route: cut at the score above which round(eps N_SB) of the sideband data events (fit range
  outside the SR) lie, so eps is the background efficiency measured where no signal is expected;
  binned sideband fit of the selected m_jj spectrum, SR background from it, Z from q0 (fit.bump_fit).
A case that gives no estimate (too few events, a fit that does not converge) is a row of NaN with a
`message` and a log line; the aggregation goes on.
"""

from __future__ import annotations

import logging
from collections import defaultdict

import numpy as np

from hepad.errors import InputError
from hepad.io.atomic import write_csv
from hepad.resonant.bumphunt import calibration, fit, plots
from hepad.resonant.bumphunt.scores import DataScores, read_data_scores
from hepad.resonant.bumphunt.significance import p_from_z, relative_systematic, z_counting

log = logging.getLogger(__name__)

COLUMNS = ["window", "sr_lo", "sr_hi", "method", "nsig", "seed", "eps", "estimate", "n_selected_sr", "n_expected_sr",
           "uncertainty", "z_local", "p_local", "fit_chi2_ndf", "n_sig_selected", "fit_n_params", "rel_syst",
           "z_global_scan", "p_global_scan", "message"]
NUMBERS = ["n_selected_sr", "n_expected_sr", "uncertainty", "z_local", "p_local", "fit_chi2_ndf", "n_sig_selected",
           "fit_n_params", "rel_syst", "z_global_scan", "p_global_scan"]
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


def template_finish(row: dict, rel_syst: float) -> None:
    """Uncertainty, Z and p of a template row given the relative systematic."""
    b = row["n_expected_sr"]
    row["rel_syst"] = rel_syst
    row["uncertainty"] = float(np.sqrt((rel_syst * b) ** 2 + row["var_stat"]))
    row["z_local"] = z_counting(row["n_selected_sr"], b, row["uncertainty"])
    row["p_local"] = float(p_from_z(row["z_local"]))


def fit_estimate(d: DataScores, eps: float) -> tuple[dict, fit.BumpFit]:
    _check_sr(d)
    sb = ~d.in_sr
    thr = cut(d.score[sb], eps)
    sel = d.score > thr
    edges, in_sr = fit.binning(d.sr_lo, d.sr_hi, d.fit_lo, d.fit_hi)
    try:
        r = fit.bump_fit(fit.spectrum(d.mjj[sel], edges, in_sr))
    except fit.FitFailed as e:
        raise NoEstimate(str(e)) from None
    return {"n_selected_sr": r.n_sr, "n_expected_sr": r.b_sr, "uncertainty": r.sigma_b, "z_local": r.z,
            "p_local": float(p_from_z(r.z)), "fit_chi2_ndf": r.fit.chi2_ndf(), "fit_n_params": r.fit.n_params,
            "n_sig_selected": int((sel & d.in_sr & d.is_signal).sum())}, r


def _base(d: DataScores, eps: float, estimate: str) -> dict:
    return {"window": d.window, "sr_lo": d.sr_lo, "sr_hi": d.sr_hi, "method": d.method, "nsig": d.nsig,
            "seed": d.seed, "eps": eps, "estimate": estimate, **{k: float("nan") for k in NUMBERS}, "message": ""}


def estimates(d: DataScores, eps_list) -> tuple[list[dict], dict]:
    """Rows of one file (template rows still without Z) and the fit results by eps."""
    rows, fits = [], {}
    for eps in eps_list:
        for est in d.estimates:
            row = _base(d, eps, est)
            try:
                if est == "template":
                    row.update(template_counts(d, eps))
                else:
                    values, fits[eps] = fit_estimate(d, eps)
                    row.update(values)
            except NoEstimate as e:
                row["message"] = f"no {est} estimate: {e}"
                log.warning("%s, eps %g: %s", d.tag(), eps, row["message"])
            rows.append(row)
    return rows, fits


def apply_systematics(rows: list[dict]) -> None:
    """rel_syst per (window, method, eps) from the n_sig = 0 template rows, then Z of every template row."""
    null = defaultdict(list)
    for r in rows:
        if r["estimate"] == "template" and r["nsig"] == 0 and "var_stat" in r:
            null[(r["window"], r["method"], r["eps"])].append(r)
    for r in rows:
        if r["estimate"] != "template" or "var_stat" not in r:
            continue
        runs = null.get((r["window"], r["method"], r["eps"]), [])
        rel = relative_systematic(*([x[k] for x in runs] for k in ("n_selected_sr", "n_expected_sr", "var_stat")))
        if not np.isfinite(rel):  # a template's mismodelling can be many times its statistics: no Z without it
            r["message"] = (f"no template estimate: {len(runs)} n_sig = 0 run(s) of this window, method and eps "
                            "to measure the template's systematic; expected at least 2")
            log.warning("%s %s n_sig %s seed %s eps %g: %s", r["window"], r["method"], r["nsig"], r["seed"], r["eps"],
                        r["message"])
            r.update({k: float("nan") for k in ("uncertainty", "z_local", "p_local", "rel_syst")})
            continue
        template_finish(r, rel)


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


def bumphunt(score_files: list[str], eps_list: list[float], out: str, calibration_out: str, figdir: str,
             signal_window_index: int | None = None) -> None:
    data = [read_data_scores(p) for p in score_files]
    _check_inputs(data, eps_list)
    rows, fits = [], {}
    for d in data:
        r, f = estimates(d, eps_list)
        rows += r
        fits.update({(d.window, d.method, d.nsig, d.seed, eps): v for eps, v in f.items()})
    apply_systematics(rows)
    n_eff = calibration.global_significance(rows)
    table = calibration.calibration_table(rows, n_eff)
    rows.sort(key=lambda r: (r["window"], r["method"], r["nsig"], r["seed"], r["eps"], r["estimate"]))
    w = signal_window(data) if signal_window_index is None else signal_window_index
    plots.all_figures(rows, fits, eps_list, w, figdir)
    write_csv(calibration_out, table, calibration.COLUMNS)
    write_csv(out, rows, COLUMNS)
    n_bad = sum(bool(r["message"]) and not np.isfinite(r["z_local"]) for r in rows)
    log.info("bump hunt: %d files, %d rows (%d without an estimate) -> %s", len(data), len(rows), n_bad, out)
