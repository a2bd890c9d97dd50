"""The classifier methods on the toy at S/sqrt(B) ~ 2 in the standard signal region: the
orderings the literature finds (supervised > IAD >> 1; CWoLa works unless the features are
correlated with m_jj) and the background-only closure of the IAD."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from hepad import metrics
from hepad.features import lhco_to_dijets
from hepad.io.table import Dijets
from hepad.methods import METHODS, WindowInputs
from hepad.toy.dijets import STRONGLY_CORRELATED, generate_background, generate_events
from hepad.windows import inject, split_pools, truth_counts

SR = (3.3, 3.7)
OPTIONS = {"classifier": {"kind": "hgb", "n_models": 5, "max_iter": 200}, "val_fraction": 0.5, "sideband_width": 0.2}
N_BKG = 1_000_000  # the R&D size: S/sqrt(B) = 2 means ~660 signal events in the SR, as in the papers


def dijets(raw):
    return lhco_to_dijets(raw[:, :14], raw[:, 14])


def build(slope: float, significance: float = 2.0, seed: int = 11):
    """Mock data with S/sqrt(B) = `significance` in the SR, extra background, signal and test set."""
    events = dijets(generate_events(N_BKG, 20_000, seed=seed, mass_mjj_slope=slope))
    extra = dijets(generate_background(300_000, seed=seed + 1, mjj_range=SR, mass_mjj_slope=slope))
    pools = split_pools(events, extra, {"inject": 0.5, "train": 0.3, "test": 0.2}, 0.5, seed=3)
    n_bkg_sr = int(pools["background"].in_range(*SR).sum())
    frac_sr = pools["signal_inject"].in_range(*SR).mean()
    n_sig = int(round(significance * np.sqrt(n_bkg_sr) / frac_sr))
    data = inject(pools["background"], pools["signal_inject"], n_sig, seed=1)
    test = Dijets.concat([p[p.in_range(*SR)] for p in (pools["extra_test"], pools["signal_test"])])
    win = WindowInputs(*SR, data, extra_bkg=pools["extra_train"], signal=pools["signal_train"])
    return win, test


def max_sic(method: str, win, test, seed=0):
    m = METHODS[method](OPTIONS, seed=seed, device="cpu")
    info = m.train(win)
    return metrics.max_sic(test.label, m.score(test)), info


@pytest.fixture(scope="module")
def natural():
    return build(slope=0.0)


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
def test_cwola_works_on_the_natural_toy_and_fails_on_the_correlated_one(natural):
    win, test = natural
    cwola, _ = max_sic("cwola", win, test)
    win_c, test_c = build(slope=STRONGLY_CORRELATED)
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
    m = METHODS["iad"](OPTIONS, seed=0, device="cpu")
    m.train(win0)
    data_test = bkg_only[held]
    data_test = data_test[data_test.in_range(*SR)]
    bkg_test = test[test.label == 0]
    y = np.r_[np.ones(len(data_test)), np.zeros(len(bkg_test))]
    auc = roc_auc_score(y, np.r_[m.score(data_test), m.score(bkg_test)])
    print(f"\nIAD closure (n_sig = 0): AUC held-out data vs background = {auc:.4f}")
    assert abs(auc - 0.5) < 0.02
