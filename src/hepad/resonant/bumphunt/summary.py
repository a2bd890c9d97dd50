"""The bump hunt's answer in one table (bumphunt_summary.csv): per method, background estimate (route)
and n_sig, the (window, eps) with the largest median local Z over seeds, that median, the median
global significance of those scans and the route's calibration verdict at that eps.

The best (window, eps) is picked after looking: the global Z corrects for the windows
(calibration.global_significance), not for the choice of eps; an uncalibrated route's global Z is NaN.
"""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np

COLUMNS = ["method", "estimate", "nsig", "best_window", "sr_lo", "sr_hi", "best_eps", "z_local_median", "n_seeds",
           "z_global_median", "calibration", "message"]


def summary_rows(rows: list[dict], verdicts: dict) -> list[dict]:
    groups = defaultdict(list)
    for r in rows:
        groups[(r["method"], r["estimate"], r["nsig"])].append(r)
    out = []
    for (method, est, nsig), rs in sorted(groups.items()):
        cells = defaultdict(list)
        for r in rs:
            if np.isfinite(r["z_local"]):
                cells[(r["window"], r["eps"])].append(r)
        row = dict(method=method, estimate=est, nsig=nsig, best_window="", sr_lo=np.nan, sr_hi=np.nan, best_eps=np.nan,
                   z_local_median=np.nan, n_seeds=0, z_global_median=np.nan, calibration="", message="")
        if not cells:
            why = Counter(r["message"] for r in rs if r["message"]).most_common(1)
            row["message"] = f"no estimate in any window{': ' + why[0][0] if why else ''}"
            out.append(row)
            continue
        (w, eps), best = max(cells.items(), key=lambda kv: (np.median([r["z_local"] for r in kv[1]]), -kv[0][0]))
        zg = [r["z_global_scan"] for r in best if np.isfinite(r["z_global_scan"])]
        word = verdicts.get((method, est, eps), "")
        row.update(best_window=w, sr_lo=best[0]["sr_lo"], sr_hi=best[0]["sr_hi"], best_eps=eps,
                   z_local_median=float(np.median([r["z_local"] for r in best])), n_seeds=len(best),
                   z_global_median=float(np.median(zg)) if zg else np.nan, calibration=word.split(":")[0],
                   message=word.partition(": ")[2])
        out.append(row)
    return out
