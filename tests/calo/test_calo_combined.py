"""The combined tagger: background p-values by 2-fold cross-calibration, Tippett's minimum p."""

import numpy as np
import pytest

from hepad import metrics
from hepad.calo import steps
from hepad.calo.combined import MIN_CALIBRATION_SIGNAL, choose_rule, combined_scores, kept_fraction, pvalues


def _auc(sig, bkg):
    fpr, tpr, _ = metrics.roc(np.r_[np.ones(len(sig)), np.zeros(len(bkg))], np.r_[sig, bkg])
    return metrics.auc(fpr, tpr)


def test_pvalues_by_hand():
    np.testing.assert_allclose(pvalues([0.5, 2.5, 9.0, -1.0], [1.0, 2.0, 3.0]), [4 / 4, 2 / 4, 1 / 4, 4 / 4])


def _auc_error(auc: float, n_sig: int, n_bkg: int) -> float:
    """Hanley-McNeil standard error of an AUC."""
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    return float(np.sqrt((auc * (1 - auc) + (n_sig - 1) * (q1 - auc**2) + (n_bkg - 1) * (q2 - auc**2)) / (n_sig * n_bkg)))


@pytest.mark.parametrize("strong_first", [True, False])
@pytest.mark.parametrize("other", ["chance", "reversed", "weak"])
def test_combination_is_as_good_as_its_better_input(strong_first, other):
    rng = np.random.default_rng(1)
    n = 4000
    strong = rng.normal(1.5, 1.0, n), rng.normal(0.0, 1.0, n)  # (signal, background): AUC 0.86
    shift = {"chance": 0.0, "reversed": -2.0, "weak": 0.3}[other]  # reversed: AUC 0.08, as the 5e-3 GeV MLP on the heavy chi
    second = rng.normal(shift, 1.0, n), rng.normal(0.0, 1.0, n)
    a, b = (strong, second) if strong_first else (second, strong)
    auc = _auc(*combined_scores((a[0], b[0]), (a[1], b[1]), seed=0))
    best = max(_auc(*strong), _auc(*second))
    # within 2 standard errors of the better input, or better (a reversed input carries information)
    assert auc > best - 2 * _auc_error(best, n, n), (other, auc, best)


def test_two_strong_inputs_beat_either():
    rng = np.random.default_rng(2)
    n = 4000
    a, b = (rng.normal(1.5, 1.0, n), rng.normal(0.0, 1.0, n)), (rng.normal(1.5, 1.0, n), rng.normal(0.0, 1.0, n))
    auc = _auc(*combined_scores((a[0], b[0]), (a[1], b[1]), seed=0))
    assert auc > max(_auc(*a), _auc(*b)) + 2 * _auc_error(auc, n, n)


def test_tippett_rule_without_enough_signal_to_choose():
    rng = np.random.default_rng(3)
    bkg = rng.normal(size=(2000, 2))
    sig = np.c_[rng.normal(3.0, 1.0, 100), rng.normal(size=100)]
    assert choose_rule(sig[: MIN_CALIBRATION_SIGNAL - 1], bkg)[0] == "tippett"
    assert choose_rule(sig, bkg)[0] in ("input 0", "logistic")  # enough signal: a choice, fitted or not
    s, t = combined_scores((sig[:30, 0], sig[:30, 1]), (bkg[:, 0], bkg[:, 1]), seed=0)  # 15 a fold: Tippett
    assert np.all(np.isfinite(s)) and np.all(np.isfinite(t))


def test_kept_fraction_by_hand():
    assert kept_fraction(0.9, (0.95, 0.5)) == pytest.approx(0.4 / 0.45)
    assert kept_fraction(0.8, (0.5, 0.7)) == pytest.approx(1.5)  # better than either input
    assert np.isnan(kept_fraction(0.6, (0.5, 0.4)))  # no input beats chance: nothing to keep


def test_background_is_calibrated_and_seeded():
    rng = np.random.default_rng(2)
    bkg = rng.normal(size=20_000), rng.exponential(size=20_000)
    _, t = combined_scores((bkg[0][:10], bkg[1][:10]), bkg, seed=3)
    for alpha in (0.3, 0.1, 0.01):  # held-out calibration: the combined p-value is uniform on the photons
        assert abs(np.mean(t >= -np.log10(alpha)) - alpha) < 4 * np.sqrt(alpha / 20_000) + 1e-4
    again = combined_scores((bkg[0][:10], bkg[1][:10]), bkg, seed=3)[1]
    np.testing.assert_array_equal(t, again)


def test_lifetimes_use_a_given_sample_and_say_so(tmp_path, caplog):
    rng = np.random.default_rng(0)

    def scores(name, shift, n=300):
        z = np.zeros(n)
        np.savez(tmp_path / name, log_p1=rng.normal(-shift, 1.0, n), log_p2=z, jac1=z, jac2=z)
        return tmp_path / name

    sig = {(5.0, z): scores(f"s{z}.npz", 0.0) for z in (0.33, 1.44)}
    life = {(5.0, 0.01): scores("life.npz", 10.0)}  # far more anomalous than any mix of the fixed samples
    caplog.set_level("INFO")
    steps.lifetimes(scores("b.npz", 0.0, 2000), None, sig, dict(sig), {}, [0.01, 1.0], 200, 0, 25, False,
                    tmp_path / "l.csv", tmp_path, lifetime_scores=life, lifetime_showers={(5.0, 0.01): "life.h5"})
    rows = {float(r["tau_ns"]): r for r in _read(tmp_path / "l.csv")}
    assert rows[0.01]["lifetime_source"] == "sample life.h5" and float(rows[0.01]["auc"]) > 0.99
    assert rows[1.0]["lifetime_source"] == "reweighted fixed-displacement samples" and float(rows[1.0]["auc"]) < 0.6
    assert "m=5 tau=0.01 ns: showers from sample life.h5" in caplog.text


def _read(path):
    import csv

    with open(path) as f:
        return list(csv.DictReader(f))
