"""The background template in a signal region: SR masses drawn like the SR data's m_jj (a Gaussian
KDE with bandwidth 0.01 in the logit of the mass scaled to the SR, as in CATHODE, or a histogram),
`oversampling` x the SR count, then one x ~ p_bg(x | m) per mass from a background model.
"""

from __future__ import annotations

import logging

import numpy as np

from hepad.errors import InputError, TrainingDiverged
from hepad.resonant.formats.table import Dijets

log = logging.getLogger(__name__)


def sample_sr_masses(m_sr: np.ndarray, lo: float, hi: float, n: int, rng: np.random.Generator,
                     how: str = "kde", bandwidth: float = 0.01, bins: int = 40) -> np.ndarray:
    """n masses in [lo, hi) distributed as the SR data's m_jj: a Gaussian KDE in
    logit((m - lo) / (hi - lo)) (CATHODE) or a histogram with uniform filling of its bins (SIGMA)."""
    if how == "kde":
        u = np.clip((m_sr - lo) / (hi - lo), 1e-6, 1 - 1e-6)
        t = np.log(u / (1 - u))[rng.integers(len(u), size=n)] + bandwidth * rng.standard_normal(n)
        return lo + (hi - lo) / (1 + np.exp(-t))
    if how == "histogram":
        counts, edges = np.histogram(m_sr, bins=bins, range=(lo, hi))
        b = rng.choice(bins, size=n, p=counts / counts.sum())
        return edges[b] + (edges[b + 1] - edges[b]) * rng.random(n)
    raise InputError(f"mass_sampling = {how!r}; expected kde or histogram")


def make_template(model, sr: Dijets, lo: float, hi: float, seed: int, name: str, oversampling: float = 4.0,
                  mass_sampling: str = "kde", kde_bandwidth: float = 0.01) -> Dijets:
    """The background template in the SR: `oversampling` x len(sr) events sampled from `model`
    (p_bg(x | m)) at SR masses drawn like the data's. Deterministic in `seed`."""
    rng = np.random.default_rng([seed, 7])
    n = int(round(oversampling * len(sr)))
    m = sample_sr_masses(sr.mjj, lo, hi, n, rng, mass_sampling, kde_bandwidth)
    x = model.sample(m, seed=seed)
    bad = ~np.isfinite(x).all(1)
    if bad.any():
        raise TrainingDiverged(f"{name}: {int(bad.sum())} of {n} template events are NaN/inf; the flow diverged")
    log.info("%s: template of %d events (%.1f x %d SR data events)", name, n, n / len(sr), len(sr))
    return Dijets(m, x, np.full(n, -1, dtype=np.int8))
