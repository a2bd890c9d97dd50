"""The combined tagger: background p-values by 2-fold cross-calibration, Tippett's minimum p."""

import numpy as np
import pytest

from hepad import metrics
from hepad.calo import steps
from hepad.calo.combined import combined_scores, kept_fraction, pvalues


def _auc(sig, bkg):
    fpr, tpr, _ = metrics.roc(np.r_[np.ones(len(sig)), np.zeros(len(bkg))], np.r_[sig, bkg])
    return metrics.auc(fpr, tpr)


def test_pvalues_by_hand():
    np.testing.assert_allclose(pvalues([0.5, 2.5, 9.0, -1.0], [1.0, 2.0, 3.0]), [4 / 4, 2 / 4, 1 / 4, 4 / 4])


@pytest.mark.parametrize("strong_first", [True, False])
def test_strong_input_survives_a_chance_one(strong_first):
    rng = np.random.default_rng(1)
    n = 20_000
    strong = rng.normal(3.0, 1.0, n), rng.normal(0.0, 1.0, n)  # (signal, background): AUC 0.98
    chance = rng.normal(0.0, 1.0, n), rng.normal(0.0, 1.0, n)
    a, b = (strong, chance) if strong_first else (chance, strong)
    sig, bkg = combined_scores((a[0], b[0]), (a[1], b[1]), seed=0)
    auc_strong, auc = _auc(*strong), _auc(sig, bkg)
    assert auc_strong > 0.97 and abs(_auc(*chance) - 0.5) < 0.02
    assert kept_fraction(auc, (_auc(*a), _auc(*b))) >= 0.9, (auc, auc_strong)
    # both inputs strong (independent): the combination beats either
    s2, b2 = combined_scores((strong[0], rng.normal(3.0, 1.0, n)), (strong[1], rng.normal(0.0, 1.0, n)), seed=0)
    assert _auc(s2, b2) > auc_strong + 0.005


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
