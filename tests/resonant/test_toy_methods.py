"""The classifier methods on the toy at S/sqrt(B) ~ 2 in the standard signal region: the
orderings the literature finds (supervised > IAD >> 1; CWoLa works unless the features are
correlated with m_jj) and the background-only closure of the IAD."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from hepad import metrics
from hepad.resonant.methods import METHODS, WindowInputs
from hepad.resonant.plan import method_options
from hepad.resonant.windows import truth_counts

from toy_dijets_fixtures import RESONANT, SR


def max_sic(method: str, win, test, seed=0):
    m = METHODS[method](method_options(method, RESONANT), seed=seed, device="cpu")
    info = m.train(win)
    return metrics.max_sic(test.label, m.score(test)), info


@pytest.mark.slow
def test_supervised_beats_iad_which_is_close_and_far_above_random(natural):
    win, test = natural
    sup, _ = max_sic("supervised", win, test)
    iad, _ = max_sic("iad", win, test)
    truth = truth_counts(win.data, *SR)
    s_over_sqrt_b = truth["n_sig_sr"] / np.sqrt(truth["n_bkg_sr"])
    print(f"\nS/sqrt(B) = {s_over_sqrt_b:.2f} in the SR: max SIC supervised {sup:.1f}, IAD {iad:.1f}")
    assert 1.8 < s_over_sqrt_b < 2.2
    assert sup > iad > 5
    assert iad > 0.7 * sup


@pytest.mark.slow
def test_cwola_works_on_the_natural_toy_and_fails_on_the_correlated_one(natural, correlated):
    win, test = natural
    cwola, _ = max_sic("cwola", win, test)
    win_c, test_c = correlated
    cwola_c, _ = max_sic("cwola", win_c, test_c)
    print(f"\nCWoLa max SIC: natural toy {cwola:.1f}, strongly correlated toy {cwola_c:.1f}")
    assert cwola > 3
    assert cwola_c < 0.5 * cwola


@pytest.mark.slow
def test_iad_closure_without_signal(natural):
    """n_sig = 0: SR data and extra background are the same process, so held-out data and
    held-out background are indistinguishable to the trained IAD (AUC 0.5 +- 0.02)."""
    win, test = natural
    bkg_only = win.data[win.data.label == 0]
    rng = np.random.default_rng(0)
    held = rng.random(len(bkg_only)) < 0.3
    win0 = WindowInputs(*SR, bkg_only[~held], extra_bkg=win.extra_bkg)
    m = METHODS["iad"](method_options("iad", RESONANT), seed=0, device="cpu")
    m.train(win0)
    data_test = bkg_only[held]
    data_test = data_test[data_test.in_range(*SR)]
    bkg_test = test[test.label == 0]
    y = np.r_[np.ones(len(data_test)), np.zeros(len(bkg_test))]
    auc = roc_auc_score(y, np.r_[m.score(data_test), m.score(bkg_test)])
    print(f"\nIAD closure (n_sig = 0): AUC held-out data vs background = {auc:.4f}")
    assert abs(auc - 0.5) < 0.02
