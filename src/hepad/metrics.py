"""Figures of merit of an anomaly score: ROC, significance improvement (SIC), bands over seeds.

Convention (written into every output): SIC = tpr / sqrt(fpr), both measured on the test set.
Where few test background events pass a cut, fpr and hence SIC are dominated by fluctuations;
`max_sic` only considers cuts passed by at least `min_bkg` background events (default 25, i.e.
a 20 % relative uncertainty on fpr, the R-ANODE "Back to the roots" convention). min_bkg = 0
gives the no-floor convention (ceiling 1/sqrt(1/N_bkg)).
"""

from __future__ import annotations

import numpy as np

MIN_BKG = 25
TPR_GRID = np.linspace(0.0, 1.0, 201)[1:]  # common grid for bands over seeds


def roc(label: np.ndarray, score: np.ndarray, weight: np.ndarray | None = None):
    """fpr, tpr and background counts passing each distinct score threshold (descending cut).

    Returns arrays (fpr, tpr, n_bkg_pass) starting at the tightest cut; ties are cut together.
    """
    label = np.asarray(label).astype(bool)
    score = np.asarray(score, dtype=np.float64)
    if label.all() or not label.any():
        raise ValueError("ROC needs both signal (label 1) and background (label 0) events")
    w = np.ones_like(score) if weight is None else np.asarray(weight, dtype=np.float64)
    order = np.argsort(-score, kind="stable")
    s, lab, w = score[order], label[order], w[order]
    last = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1]  # last index of each tie group
    sig = np.cumsum(w * lab)[last]
    bkg = np.cumsum(w * ~lab)[last]
    nb_pass = np.cumsum(~lab)[last]
    return bkg / bkg[-1], sig / sig[-1], nb_pass


def auc(fpr: np.ndarray, tpr: np.ndarray) -> float:
    """Area under the ROC from `roc()` (ties grouped, so a tie counts one half as in Mann-Whitney).
    Own implementation: importing sklearn.metrics costs ~1.5 s per metrics job."""
    return float(np.trapezoid(np.r_[0.0, tpr], np.r_[0.0, fpr]))


def sic_curve(fpr: np.ndarray, tpr: np.ndarray):
    """SIC = tpr/sqrt(fpr) at each ROC point with fpr > 0."""
    ok = fpr > 0
    return tpr[ok], tpr[ok] / np.sqrt(fpr[ok])


def max_sic(label, score, min_bkg: int = MIN_BKG) -> float:
    """Largest SIC over cuts passed by at least `min_bkg` background events (min_bkg >= 1)."""
    fpr, tpr, nb = roc(label, score)
    ok = nb >= max(min_bkg, 1)
    return float(np.max(tpr[ok] / np.sqrt(fpr[ok])))


def sic_at_tpr(fpr, tpr, target: float, n_bkg: int, min_bkg: int = MIN_BKG) -> tuple[float, bool]:
    """(SIC at signal efficiency `target`, whether it is a lower bound), fpr interpolated linearly
    between ROC points. Where fewer than `min_bkg` test background events pass that cut (the rule
    of max_sic), fpr < min_bkg / n_bkg is all one knows: the value is then the lower bound
    target / sqrt(min_bkg / n_bkg) that holds (a very good method, not a missing number)."""
    f = float(np.interp(target, tpr, fpr))
    floor = max(min_bkg, 1) / n_bkg
    if f >= floor:
        return target / np.sqrt(f), False
    return target / np.sqrt(floor), True


def sic_at_fpr(fpr, tpr, target: float, n_bkg: int, min_bkg: int = MIN_BKG) -> float:
    """SIC at background efficiency `target`; NaN if fewer than `min_bkg` test background events
    pass such a cut (the number would be noise)."""
    if target * n_bkg < min_bkg:
        return float("nan")
    t = float(np.interp(target, fpr, tpr))
    return t / np.sqrt(target)


def summarize(label, score, min_bkg: int = MIN_BKG) -> dict:
    """The summary.csv metrics of one score on one test set."""
    label = np.asarray(label).astype(bool)
    fpr, tpr, _ = roc(label, score)
    n_bkg = int((~label).sum())
    (s2, b2), (s3, b3) = (sic_at_tpr(fpr, tpr, t, n_bkg, min_bkg) for t in (0.2, 0.3))
    return {
        "max_sic": max_sic(label, score, min_bkg),
        "sic_tpr_0.2": s2,
        "sic_tpr_0.3": s3,
        "sic_fpr_1e-3": sic_at_fpr(fpr, tpr, 1e-3, n_bkg, min_bkg),
        "auc": auc(fpr, tpr),
        "n_sig_test": int(label.sum()),
        "n_bkg_test": n_bkg,
        "sic_min_bkg": int(min_bkg),
        "sic_tpr_0.2_is_lower_bound": int(b2),  # 1: fewer than min_bkg background pass; SIC >= the value
        "sic_tpr_0.3_is_lower_bound": int(b3),
    }


def sic_on_grid(label, score, grid: np.ndarray = TPR_GRID, min_bkg: int = MIN_BKG) -> np.ndarray:
    """SIC on a common tpr grid; NaN where the cut is passed by fewer than `min_bkg` background."""
    fpr, tpr, nb = roc(label, score)
    f = np.interp(grid, tpr, fpr)
    n_bkg = nb[-1]
    out = np.full(len(grid), np.nan)
    ok = (f > 0) & (f * n_bkg >= max(min_bkg, 1))
    out[ok] = grid[ok] / np.sqrt(f[ok])
    return out


def bands(curves: np.ndarray, q=(16, 50, 84)) -> np.ndarray:
    """Percentiles over seeds (axis 0) of curves on a common grid, ignoring NaN: rows 16/50/84 %."""
    curves = np.atleast_2d(curves)
    out = np.full((len(q), curves.shape[1]), np.nan)
    ok = np.isfinite(curves).any(axis=0)
    out[:, ok] = np.nanpercentile(curves[:, ok], q, axis=0)
    return out
