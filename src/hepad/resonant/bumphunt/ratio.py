"""The likelihood-ratio route (R-ANODE): the signal fraction of the SR fitted to out-of-fold scores.

A score s = log p_S(x, m) - log p_B(x, m) with both densities normalised in the SR makes the SR
data likelihood of a signal fraction w, relative to w = 0,

    l(w) = sum_i ln(1 + w (e^{s_i} - 1)),

concave in w. Its maximum w_hat (allowed negative, so that a background fluctuation gives a
negative Z), the profile-likelihood ratio q0 = 2 l(w_hat) and Z = sign(w_hat) sqrt(q0) (Wilks: N(0, 1)
under w = 0 when p_B is the true background density and p_S was fitted on other events). The
uncertainty of w_hat is 1 / sqrt(-l''(w_hat)).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.optimize import minimize_scalar

MAX_SCORE = 50.0  # e^50: beyond any finite density ratio worth keeping in float64


class FractionFit(NamedTuple):
    w: float
    sigma_w: float
    z: float


def _terms(u: np.ndarray, w: float) -> np.ndarray:
    return np.log1p(w * u)


def fit_fraction(scores: np.ndarray) -> FractionFit:
    """Maximum-likelihood signal fraction of SR events with log density ratios `scores`."""
    u = np.expm1(np.minimum(np.asarray(scores, dtype=float), MAX_SCORE))  # p_S / p_B - 1 >= -1
    # 1 + w u > 0 for every event: w < 1 (u >= -1) and w > -1 / max(u) when some u > 0
    lo = max(-1.0 / u.max(), -1.0) if u.max() > 0 else -1.0
    span = 1.0 - lo
    res = minimize_scalar(lambda w: -_terms(u, w).sum(), bounds=(lo + 1e-9 * span, 1.0 - 1e-9 * span),
                          method="bounded", options={"xatol": 1e-10})
    w = float(res.x)
    q0 = 2.0 * max(_terms(u, w).sum(), 0.0)
    curvature = float(((u / (1.0 + w * u)) ** 2).sum())
    return FractionFit(w, 1.0 / np.sqrt(curvature) if curvature > 0 else float("inf"), float(np.sign(w) * np.sqrt(q0)))
