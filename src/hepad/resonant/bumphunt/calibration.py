"""Calibration of the local significance on n_sig = 0 runs and the global significance of a scan.

Calibration: with no injected signal, Z_local over seeds and windows should follow N(0, 1); per
method, estimate and eps: n, mean, standard deviation, and the KS p-value against N(0, 1).

Global significance (look-elsewhere effect of the sliding windows): p_global = 1 - (1 - p_min)^N_eff
(Sidak), p_min the smallest local p-value of the scan over windows. Overlapping windows are
correlated, so N_eff <= the number of windows; N_eff is the maximum-likelihood fit of this law to
the null scans (n_sig = 0, one per seed): P(p_min <= u) = 1 - (1 - u)^N has density N (1 - u)^(N - 1),
so N_eff = n / sum_s -ln(1 - p_min,s), clipped to [1, n_windows]. With fewer than MIN_NULL_SCANS
null scans N_eff = n_windows (windows taken as independent: conservative).

Verdict per (method, estimate, eps) on its n_sig = 0 Z values (`verdict`, the stated test):
"calibrated" when there are at least MIN_CALIBRATION_Z of them, |mean| <= MAX_ABS_MEAN, the standard
deviation within STD_RANGE and the KS p-value against N(0, 1) >= MIN_KS_P; "uncalibrated" when one
fails (such a route's Z is not a significance: it is flagged in every row, drawn faded in the scans
and left out of the global significance); "untested" with fewer values (kept, and said so).
With one shared background sample (real data; `null_shared`) the n_sig = 0 runs are no
pseudo-experiments (bumphunt.toys): the fit route is judged on fitted-background toys instead, the
template route is "simulation-only" (left out like an uncalibrated one), N_eff = number of windows,
and column `pseudo_experiments` says which values each row used.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from scipy import stats

from hepad.resonant.bumphunt.significance import z_from_p

COLUMNS = ["method", "estimate", "eps", "n", "mean_z", "std_z", "ks_p", "verdict", "pseudo_experiments", "n_windows",
           "n_null_scans", "n_windows_eff", "message"]
MIN_NULL_SCANS = 5
MIN_CALIBRATION_Z, MAX_ABS_MEAN, STD_RANGE, MIN_KS_P = 10, 0.5, (0.7, 1.4), 0.01
LEFT_OUT = ("uncalibrated", "simulation-only")  # verdicts whose Z is no significance: out of the global Z
INDEPENDENT, SHARED_RUNS, TOYS = ("n_sig = 0 runs (independent samples)", "n_sig = 0 runs (one shared sample)",
                                  "fitted-background toys of the n_sig = 0 selections")
SIMULATION_ONLY = ("simulation-only: the template's non-closure comes from signal-free n_sig = 0 runs of the same "
                   "events, which only simulation (the truth labels) provides")


def null_z(rows: list[dict]) -> dict:
    """{(method, estimate, eps): array of the finite n_sig = 0 local Z}"""
    z = defaultdict(list)
    for r in rows:
        if r["nsig"] == 0 and np.isfinite(r["z_local"]):
            z[(r["method"], r["estimate"], r["eps"])].append(r["z_local"])
    return {k: np.array(v) for k, v in z.items()}


def verdict(z: np.ndarray) -> str:
    """The stated test (module docstring) on a route's n_sig = 0 Z values."""
    n = len(z)
    if n < MIN_CALIBRATION_Z:
        return f"untested: {n} n_sig = 0 Z value(s), expected at least {MIN_CALIBRATION_Z}"
    mean, std, ks = z.mean(), z.std(ddof=1), stats.kstest(z, "norm").pvalue
    failed = []
    if abs(mean) > MAX_ABS_MEAN:
        failed.append(f"|mean| {abs(mean):.2f} > {MAX_ABS_MEAN}")
    if not STD_RANGE[0] <= std <= STD_RANGE[1]:
        failed.append(f"std {std:.2f} outside {STD_RANGE[0]}-{STD_RANGE[1]}")
    if ks < MIN_KS_P:
        failed.append(f"KS p {ks:.2g} < {MIN_KS_P}")
    return f"uncalibrated: {', '.join(failed)} (n = {n})" if failed else "calibrated"


def pseudo_experiments(key, null_shared: bool, toys: dict | None) -> str:
    """Which values judge the route `key` (module docstring)."""
    if not null_shared:
        return INDEPENDENT
    if key in (toys or {}):
        return TOYS
    return "none" if key[1] == "template" else SHARED_RUNS


def verdicts(rows: list[dict], null_shared: bool = False, toys: dict | None = None) -> dict:
    """{(method, estimate, eps): verdict} of every route in the rows; each row gets its route's word
    (calibrated / uncalibrated / untested / simulation-only) in `calibration`. `toys`: the Z of the
    fit route's toys per route (bumphunt.toys), used where null_shared."""
    z = null_z(rows)
    out = {}
    for r in rows:
        key = (r["method"], r["estimate"], r["eps"])
        if key not in out:
            source = pseudo_experiments(key, null_shared, toys)
            out[key] = (SIMULATION_ONLY if source == "none" else
                        verdict(toys[key] if source == TOYS else z.get(key, np.array([]))))
        r["calibration"] = out[key].split(":")[0]
    return out


def _scans(rows: list[dict]) -> dict:
    """{(method, estimate, eps): {(nsig, seed): [rows over windows]}}"""
    out = defaultdict(lambda: defaultdict(list))
    for r in rows:
        out[(r["method"], r["estimate"], r["eps"])][(r["nsig"], r["seed"])].append(r)
    return out


def effective_windows(p_min: np.ndarray, n_windows: int) -> tuple[float, str]:
    p_min = np.asarray(p_min, dtype=float)
    if len(p_min) < MIN_NULL_SCANS:
        return float(n_windows), (f"{len(p_min)} n_sig = 0 scan(s); expected at least {MIN_NULL_SCANS} to fit N_eff: "
                                  "N_eff = number of windows (conservative)")
    s = -np.log1p(-np.clip(p_min, 0, 1 - 1e-16)).sum()
    return float(np.clip(len(p_min) / s if s > 0 else n_windows, 1, n_windows)), ""


def global_significance(rows: list[dict], verdict_of: dict | None = None, null_shared: bool = False) -> dict:
    """Fill z_global_scan, p_global_scan of every row (the scan's largest local excess, corrected for the
    windows; NaN for an uncalibrated or simulation-only route, whose rows say so); returns {(method,
    estimate, eps): (n_windows, n_null_scans, N_eff, message)}. With one shared background sample the
    null scans are not independent: N_eff = number of windows."""
    info = {}
    for key, scans in _scans(rows).items():
        v = (verdict_of or {}).get(key, "")
        if v.startswith(LEFT_OUT):
            info[key] = (len({r["window"] for rs in scans.values() for r in rs}), 0, np.nan, "")
            for rs in scans.values():
                for r in rs:
                    r["p_global_scan"] = r["z_global_scan"] = np.nan
                    r["message"] = "; ".join(filter(None, [r["message"], f"left out of the global significance: {v}"]))
            continue
        p_min = {s: min((r["p_local"] for r in rs if np.isfinite(r["p_local"])), default=np.nan)
                 for s, rs in scans.items()}
        n_windows = len({r["window"] for rs in scans.values() for r in rs})
        null = [p for (nsig, _), p in p_min.items() if nsig == 0 and np.isfinite(p)]
        n_eff, msg = effective_windows(np.array(null), n_windows)
        if null_shared:
            n_eff, msg = float(n_windows), "one shared background sample: N_eff = number of windows (conservative)"
        info[key] = (n_windows, len(null), n_eff, msg)
        for s, rs in scans.items():
            p = -np.expm1(n_eff * np.log1p(-p_min[s])) if np.isfinite(p_min[s]) else np.nan
            for r in rs:
                r["p_global_scan"], r["z_global_scan"] = float(p), float(z_from_p(p))
    return info


SHARED = ("the n_sig = 0 runs share one background sample with each other and the signal runs (seeds vary the "
          "training only): not independent pseudo-experiments")


def calibration_table(rows: list[dict], info: dict, null_shared: bool = False,
                      verdict_of: dict | None = None, toys: dict | None = None) -> list[dict]:
    z = null_z(rows)
    table = []
    for key in sorted(info):
        source = pseudo_experiments(key, null_shared, toys)
        v = toys[key] if source == TOYS else np.array([]) if source == "none" else z.get(key, np.array([]))
        n_windows, n_null, n_eff, msg = info[key]
        word = (verdict_of or {}).get(key, "")
        row = dict(zip(("method", "estimate", "eps"), key), n=len(v), n_windows=n_windows, n_null_scans=n_null,
                   n_windows_eff=n_eff, mean_z=np.nan, std_z=np.nan, ks_p=np.nan, verdict=word.split(":")[0],
                   pseudo_experiments=source, message="; ".join(filter(None, [msg, word.partition(": ")[2]])))
        if len(v) >= 2:
            row.update(mean_z=float(v.mean()), std_z=float(v.std(ddof=1)), ks_p=float(stats.kstest(v, "norm").pvalue))
        elif source != "none":
            row["message"] = row["message"] or f"{len(v)} n_sig = 0 Z value(s): no calibration"
        if source == SHARED_RUNS:
            row["message"] = "; ".join(filter(None, [row["message"], SHARED]))
        table.append(row)
    return table
