"""Significance of a counting experiment with an uncertain background, p <-> Z, and the non-closure
of a background estimate measured on n_sig = 0 runs."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import stats


def z_counting(n: float, b: float, sigma_b: float = 0.0) -> float:
    """Signed local significance of n observed events on an expected background b +- sigma_b.

    The profile-likelihood ratio of the on/off model n ~ Pois(s + b), m ~ Pois(tau b) with
    tau = b / sigma_b^2 and m = tau b (G. Cowan, "Discovery sensitivity for a counting experiment
    with background uncertainty", 2012; Cowan, Cranmer, Gross, Vitells, EPJC 71 (2011) 1554):
      Z^2 = 2 [ n ln( n (b + s2) / (b^2 + n s2) ) - (b^2 / s2) ln( 1 + s2 (n - b) / (b (b + s2)) ) ],  s2 = sigma_b^2,
    and Z^2 = 2 [ n ln(n / b) - (n - b) ] for sigma_b = 0. Z = sign(n - b) sqrt(Z^2): negative for a deficit.
    """
    if not (b > 0 and n >= 0 and sigma_b >= 0):
        return float("nan")
    s2 = sigma_b**2
    nlog = lambda arg: n * np.log(arg) if n > 0 else 0.0  # noqa: E731  (n ln n -> 0)
    if s2 == 0:
        z2 = 2 * (nlog(n / b) - (n - b))
    else:
        z2 = 2 * (nlog(n * (b + s2) / (b * b + n * s2)) - b * b / s2 * np.log1p(s2 * (n - b) / (b * (b + s2))))
    return float(np.sign(n - b) * np.sqrt(max(z2, 0.0)))


def student_z(z: float, var_total: float, var_estimated: float, dof: int) -> float:
    """Z of a test statistic z whose variance var_total contains a part var_estimated measured with
    `dof` degrees of freedom: z is taken as Student-t distributed with the Welch-Satterthwaite
    dof nu = var_total^2 / (var_estimated^2 / dof) (the rest of the variance is known), and its
    t tail probability turned back into a normal Z. var_estimated = 0 or dof = 0: z unchanged."""
    if not (np.isfinite(z) and var_estimated > 0 and dof > 0):
        return z
    nu = var_total**2 * dof / var_estimated**2
    return float(np.sign(z) * stats.norm.isf(stats.t.sf(abs(z), nu)))


def p_from_z(z):
    """One-sided local p-value of an excess, p = 1 - Phi(Z) (p > 0.5 for a deficit)."""
    return stats.norm.sf(z)


def z_from_p(p):
    return stats.norm.isf(p)


class NonClosure(NamedTuple):
    """The template estimate's non-closure measured on n_sig = 0 runs: n_sel / b - 1 has mean `c` in
    this window and a spread `s2` beyond each run's statistics (pooled over windows); `var_c` is
    the statistical variance of c."""

    c: float
    s2: float
    var_c: float
    n_runs: int
    dof: int


MIN_DOF = 1  # of the pooled spread (a spread from few runs widens Z: student_z)


def non_closure(runs: dict, window) -> NonClosure | None:
    """runs: {window: [(n_sel, b, var_stat), ...]} of n_sig = 0 runs (one background sample each).
    r = (n_sel - b) / b has, per run, the statistical variance v = (b + var_stat) / b^2 (Poisson of
    n_sel, reference statistics of b). c = mean r in `window`; the spread beyond statistics,
    s2 = max(0, pooled within-window variance of r - mean v) over every window with two or more
    runs; var_c = (s2 + mean v) / n in `window`. None when `window` has no run or the pooled
    variance has fewer than MIN_DOF degrees of freedom."""
    r = {w: np.array([(n - b) / b for n, b, _ in rs if b > 0]) for w, rs in runs.items()}
    v = {w: np.array([(b + vs) / b**2 for _, b, vs in rs if b > 0]) for w, rs in runs.items()}
    dof = sum(max(len(x) - 1, 0) for x in r.values())
    if len(r.get(window, ())) == 0 or dof < MIN_DOF:
        return None
    ss = sum(((x - x.mean()) ** 2).sum() for x in r.values() if len(x) > 1)
    v_all = np.concatenate([v[w] for w, x in r.items() if len(x) > 1])
    s2 = max(ss / dof - v_all.mean(), 0.0)
    rw = r[window]
    return NonClosure(float(rw.mean()), float(s2), float((s2 + v[window].mean()) / len(rw)), len(rw), dof)
