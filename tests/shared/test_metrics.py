"""Metrics against cases with a known answer: perfect, random and analytic Gaussian classifiers."""

import math

import numpy as np
import pytest
from scipy.stats import norm

from hepad import metrics


def labels(n_sig, n_bkg):
    return np.r_[np.ones(n_sig), np.zeros(n_bkg)].astype(int)


def test_perfect_classifier_max_sic_is_set_by_the_background_floor():
    y = labels(1000, 10000)
    s = y.astype(float)
    # every background event ties at score 0: the floor of 25 background events leaves only the cut
    # that keeps all background, so a perfect classifier with ties cannot beat SIC 1 ...
    assert metrics.max_sic(y, s) == pytest.approx(1.0)
    # ... while a perfect, tie-free ranking reaches tpr = 1 at fpr = 25 / 10000.
    s = np.r_[np.full(1000, 2.0), np.linspace(0, 1, 10000)]
    assert metrics.max_sic(y, s, min_bkg=25) == pytest.approx(1 / math.sqrt(25 / 10000))
    assert metrics.max_sic(y, s, min_bkg=0) == pytest.approx(math.sqrt(10000))  # no-floor ceiling


def test_sic_at_tpr_of_a_perfect_classifier_is_a_lower_bound_not_missing():
    """No test background passes the cut at tpr 0.2: the best method must not read as NaN."""
    y = labels(1000, 10000)
    s = np.r_[np.linspace(2, 3, 1000), np.linspace(0, 1, 10000)]
    m = metrics.summarize(y, s, min_bkg=25)
    assert m["sic_tpr_0.2"] == pytest.approx(0.2 / math.sqrt(25 / 10000)) and m["sic_tpr_0.2_is_lower_bound"] == 1
    assert m["sic_tpr_0.3_is_lower_bound"] == 1 and np.isfinite(m["sic_tpr_0.3"])
    m = metrics.summarize(y, np.r_[np.linspace(0, 1.05, 1000), np.linspace(0, 1, 10000)], min_bkg=25)
    assert m["sic_tpr_0.2_is_lower_bound"] == 0  # 1600 background events pass: a measured value
    assert m["sic_tpr_0.2"] < 0.2 / math.sqrt(25 / 10000)


def test_random_classifier_has_auc_half_and_sic_sqrt_tpr():
    rng = np.random.default_rng(1)
    y = labels(50000, 50000)
    s = rng.random(len(y))
    m = metrics.summarize(y, s)
    assert m["auc"] == pytest.approx(0.5, abs=0.01)
    assert m["sic_tpr_0.3"] == pytest.approx(math.sqrt(0.3), rel=0.05) and m["sic_tpr_0.3_is_lower_bound"] == 0
    assert m["max_sic"] < 1.5


@pytest.mark.parametrize("d", [1.0, 2.5])
def test_gaussian_classifier_matches_analytic_roc(d):
    rng = np.random.default_rng(2)
    n = 400000
    y = labels(n, n)
    s = np.r_[rng.normal(d, 1, n), rng.normal(0, 1, n)]
    m = metrics.summarize(y, s)
    assert m["auc"] == pytest.approx(norm.cdf(d / math.sqrt(2)), abs=0.003)
    # tolerances: 3 sigma of the counting fluctuation of the cut's background (signal) count
    c = norm.ppf(1 - 1e-3)  # cut at fpr = 1e-3
    tpr = norm.sf(c - d)
    # the cut is placed with 400 background events: its fpr fluctuates by 1/sqrt(400), moving tpr
    # by the likelihood ratio at the cut
    lr = norm.pdf(c - d) / norm.pdf(c)
    rel = 3 * (lr * 1e-3 / math.sqrt(n * 1e-3) + math.sqrt(tpr / n)) / tpr
    assert m["sic_fpr_1e-3"] == pytest.approx(tpr / math.sqrt(1e-3), rel=rel)
    c = norm.ppf(1 - 0.2) + d  # cut at tpr = 0.2
    fpr = norm.sf(c)
    assert m["sic_tpr_0.2"] == pytest.approx(0.2 / math.sqrt(fpr), rel=1.5 / math.sqrt(n * fpr))


def test_auc_matches_mann_whitney_with_ties():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(4)
    y = rng.random(5000) < 0.3
    s = np.round(rng.normal(y * 0.7, 1.0), 1)  # coarse scores: many ties
    fpr, tpr, _ = metrics.roc(y, s)
    assert metrics.auc(fpr, tpr) == pytest.approx(roc_auc_score(y, s), abs=1e-12)


def test_sic_at_fpr_is_nan_when_too_few_background_events_pass():
    y = labels(100, 1000)
    s = np.r_[np.ones(100), np.zeros(1000)] + np.linspace(0, 0.5, 1100)
    assert math.isnan(metrics.summarize(y, s)["sic_fpr_1e-3"])  # 1e-3 * 1000 = 1 event < 25


def test_roc_needs_both_classes():
    with pytest.raises(ValueError, match="both"):
        metrics.roc(np.ones(5), np.arange(5.0))


def test_sic_grid_respects_floor_and_bands_ignore_nan():
    rng = np.random.default_rng(3)
    y = labels(2000, 2000)
    s = np.r_[rng.normal(2, 1, 2000), rng.normal(0, 1, 2000)]
    grid = metrics.sic_on_grid(y, s, min_bkg=25)
    assert np.isnan(grid[0])  # tpr 0.005 needs fpr far below 25/2000
    assert np.isfinite(grid[-1]) and grid[-1] == pytest.approx(1.0, abs=0.01)
    curves = np.array([[1.0, np.nan, 3.0], [2.0, np.nan, 5.0], [3.0, 4.0, 7.0]])
    lo, med, hi = metrics.bands(curves)
    assert med.tolist() == [2.0, 4.0, 5.0]
    assert lo[0] < med[0] < hi[0]
