"""Significance of a counting experiment with an uncertain background, p <-> Z, and the relative
systematic of a background estimate measured on n_sig = 0 runs."""

from __future__ import annotations

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


def p_from_z(z):
    """One-sided local p-value of an excess, p = 1 - Phi(Z) (p > 0.5 for a deficit)."""
    return stats.norm.sf(z)


def z_from_p(p):
    return stats.norm.isf(p)


def relative_systematic(n_sel, b, var_stat) -> float:
    """Relative systematic of a background estimate from n_sig = 0 runs (NaN if fewer than two runs):
    sqrt(max(0, mean(r^2) - mean((b + var_stat) / b^2))), r = (n_sel - b) / b, i.e. the spread (bias
    included: the mean square about 0) of the relative residuals beyond the Poisson fluctuation of n_sel
    and the statistical variance var_stat of b that each run already accounts for."""
    n_sel, b, var_stat = (np.asarray(v, dtype=float) for v in (n_sel, b, var_stat))
    ok = np.isfinite(n_sel) & np.isfinite(b) & (b > 0) & np.isfinite(var_stat)
    if ok.sum() < 2:
        return float("nan")
    n_sel, b, var_stat = n_sel[ok], b[ok], var_stat[ok]
    excess = np.mean(((n_sel - b) / b) ** 2) - np.mean((b + var_stat) / b**2)
    return float(np.sqrt(max(excess, 0.0)))
