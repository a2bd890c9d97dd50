"""The combined tagger (the paper's outlook): the unsupervised CaloFlow score and a supervised
classifier's output, each turned into a background p-value, combined by a rule chosen on held-out showers.

p-value of a shower under one score: the fraction of held-out background photons scoring at least as
signal-like, p = (k + 1) / (n + 1) (never 0). Held out = 2-fold cross-calibration on the evaluation
photons: every shower, signal or background, is given a fold by a seeded draw and calibrated on the
photons of the other fold, so no photon is scored against a distribution that contains itself.

Combined: the rule is chosen on a held-out calibration split, the other fold (its signal showers
and photons), among each input alone, Tippett's minimum p with the Sidak correction
(1 - (1 - min(p_unsup, p_sup))**2) and a class-balanced logistic regression on the inputs' z = Phi^-1(1 - p),
by its AUC there; each fold's showers are then scored -log10 of the chosen rule's p-value against the
other fold's photons. So the combination is never much worse than its better input (it can pick
that input), uses an input that scores the signal low (a negative weight), and a shower's score
never depends on its own label. Tippett alone, the earlier rule, kept 91 % of a strong input's
AUC - 0.5 next to an input at chance, but lost AUC where both inputs are weak shifts of the bulk.
"""

from __future__ import annotations

import numpy as np

N_FOLDS = 2


def pvalues(score: np.ndarray, calibration: np.ndarray) -> np.ndarray:
    """(k + 1) / (n + 1), k the calibration scores >= score (larger = more signal-like)."""
    c = np.sort(np.asarray(calibration, float))
    k = len(c) - np.searchsorted(c, np.asarray(score, float), side="left")
    return (k + 1.0) / (len(c) + 1.0)


def folds(n: int, rng: np.random.Generator) -> np.ndarray:
    """Fold of each of n showers, balanced (a seeded permutation of 0, 1, 0, 1, ...)."""
    return rng.permutation(np.arange(n) % N_FOLDS)


def cross_pvalues(score: np.ndarray, fold: np.ndarray, bkg: np.ndarray, bkg_fold: np.ndarray) -> np.ndarray:
    """p-value of each shower against the background photons of the other fold."""
    p = np.empty(len(score))
    for f in range(N_FOLDS):
        sel = fold == f
        p[sel] = pvalues(score[sel], bkg[bkg_fold != f])
    return p


def combine(*p: np.ndarray) -> np.ndarray:
    """-log10 of the Sidak-corrected minimum of the inputs' p-values, 1 - (1 - min p)**k."""
    return -np.log10(-np.expm1(len(p) * np.log1p(-np.minimum.reduce(p))))


def _z(p: np.ndarray, n: int) -> np.ndarray:
    """Phi^-1(1 - p), p kept within half a photon of 0 and 1 (n calibration photons): finite."""
    from scipy.stats import norm

    return norm.isf(np.clip(p, 0.5 / (n + 1), 1 - 0.5 / (n + 1)))


MIN_CALIBRATION_SIGNAL = 20  # fewer signal showers in a calibration fold: Tippett's rule, nothing fitted


def _auc(sig: np.ndarray, bkg: np.ndarray) -> float:
    from hepad import metrics

    fpr, tpr, _ = metrics.roc(np.r_[np.ones(len(sig)), np.zeros(len(bkg))], np.r_[sig, bkg])
    return metrics.auc(fpr, tpr)


def choose_rule(sig: np.ndarray, bkg: np.ndarray):
    """The combination of the inputs' z = Phi^-1(1 - p) (columns of sig, bkg) that separates this
    calibration split best (AUC): each input alone, Tippett's rule, or a class-balanced logistic
    regression on them (which may weigh an input down, or use one that scores the signal low with a
    negative weight: z is two-sided). -> (name, function of an (n, k) array -> combined score)."""
    from scipy.stats import norm
    from sklearn.linear_model import LogisticRegression

    k = sig.shape[1]
    rules = {f"input {i}": (lambda x, i=i: x[:, i]) for i in range(k)}
    rules["tippett"] = lambda x: combine(*norm.sf(x.T))
    if len(sig) < MIN_CALIBRATION_SIGNAL:
        return "tippett", rules["tippett"]
    labels = np.r_[np.ones(len(sig)), np.zeros(len(bkg))]
    rules["logistic"] = LogisticRegression(class_weight="balanced").fit(np.r_[sig, bkg], labels).decision_function
    best = max(rules, key=lambda n: _auc(rules[n](sig), rules[n](bkg)))
    return best, rules[best]


def kept_fraction(auc_combined: float, auc_inputs) -> float:
    """(AUC_combined - 0.5) / (AUC_best - 0.5): the share of the strongest input's separation from the
    photons that the combination keeps (NaN when no input beats chance)."""
    best = max(auc_inputs)
    return (auc_combined - 0.5) / (best - 0.5) if best > 0.5 else float("nan")


def combined_scores(sig: tuple, bkg: tuple, seed: int, cell: tuple = ()) -> tuple:
    """Combined scores (signal, background) from (unsup, sup) scores of the same showers each
    (both larger = more signal-like). `seed` fixes the photons' folds, (`seed`, `cell`) the signal's.
    Each fold's showers are combined by the rule chosen on the other fold (choose_rule) and scored
    -log10 of the combined score's p-value against that fold's photons: one scale for both folds."""
    rng_b, rng_s = np.random.default_rng([seed, 0]), np.random.default_rng([seed, 1, *cell])
    fb, fs = folds(len(bkg[0]), rng_b), folds(len(sig[0]), rng_s)
    # z of each input's p-value, every shower against the photons of the other fold
    xs, xb = (np.stack([_z(cross_pvalues(s, fold, b, fb), len(b) // N_FOLDS) for s, b in zip(scores, bkg)], 1)
              for scores, fold in ((sig, fs), (bkg, fb)))
    out_s, out_b = np.empty(len(fs)), np.empty(len(fb))
    for f in range(N_FOLDS):
        _, rule = choose_rule(xs[fs != f], xb[fb != f])
        reference = rule(xb[fb != f])
        out_s[fs == f] = -np.log10(pvalues(rule(xs[fs == f]), reference))
        out_b[fb == f] = -np.log10(pvalues(rule(xb[fb == f]), reference))
    return out_s, out_b
