"""Toys of the bump-hunt tests: a smooth falling m_jj spectrum, a Gaussian bump, data-scores files."""

from functools import lru_cache

import numpy as np

from hepad.resonant.bumphunt.scores import DataScores, write_data_scores

SIGNAL_MASS, SIGNAL_WIDTH = 3.5, 0.05  # TeV


@lru_cache
def _cdf(lo: float, hi: float):
    g = np.linspace(lo, hi, 4001)
    c = np.cumsum(np.exp(-g / 0.35) / g**2)
    return (c - c[0]) / (c[-1] - c[0]), g


def background_mjj(n: int, rng, lo: float, hi: float) -> np.ndarray:
    """Smooth falling spectrum, not of the fit's dijet form: exp(-m / 0.35 TeV) / m^2 on [lo, hi]."""
    return np.interp(rng.random(n), *_cdf(lo, hi))


def background_in(lo: float, hi: float) -> float:
    """Fraction of the toy spectrum on [2.0, 5.0] TeV lying in [lo, hi)."""
    g = np.linspace(2.0, 5.0, 30001)
    f = np.exp(-g / 0.35) / g**2
    return float(f[(g >= lo) & (g < hi)].sum() / f.sum())


def events(rng, n_bkg_mean: float, n_sig: int, lo: float, hi: float, noise: float = 1.0):
    """Data in [lo, hi]: Poisson(n_bkg_mean) background with score U(0, 1) independent of m_jj, and
    n_sig signal events N(3.5, 0.05) TeV scored by a perfect classifier (score 1 + U(0, noise))."""
    nb = rng.poisson(n_bkg_mean)
    ms = rng.normal(SIGNAL_MASS, SIGNAL_WIDTH, n_sig)
    ms = ms[(ms >= lo) & (ms <= hi)]
    mjj = np.r_[background_mjj(nb, rng, lo, hi), ms]
    score = np.r_[rng.random(nb), 1 + noise * rng.random(len(ms))]
    return mjj, score, np.r_[np.zeros(nb, bool), np.ones(len(ms), bool)]


def data_scores(rng, sr=(3.3, 3.7), margin=0.6, n_bkg_mean=20000, n_sig=0, n_ref=20000, route="both", window=1,
                method="perfect", seed=0) -> dict:
    fit_lo, fit_hi = sr[0] - margin, sr[1] + margin
    mjj, score, is_signal = events(rng, n_bkg_mean, n_sig, fit_lo, fit_hi)
    return dict(score=score, mjj=mjj, is_signal=is_signal, reference_score=rng.random(n_ref if route != "fit" else 0),
                window=np.array(window), sr_lo=np.array(sr[0]), sr_hi=np.array(sr[1]), fit_lo=np.array(fit_lo),
                fit_hi=np.array(fit_hi), method=np.array(method), nsig=np.array(n_sig), seed=np.array(seed),
                route=np.array(route))


def as_data(arrays: dict) -> DataScores:
    a = {k: np.asarray(v) for k, v in arrays.items()}
    scalars = {k: a[k].item() for k in ("window", "sr_lo", "sr_hi", "fit_lo", "fit_hi", "method", "nsig", "seed",
                                        "route")}
    return DataScores(a["score"], a["mjj"], a["is_signal"], a["reference_score"], **scalars)


def write(path, arrays) -> str:
    write_data_scores(path, **arrays)
    return str(path)
