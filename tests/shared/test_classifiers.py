"""Both classifiers behind one interface: they learn, weights balance, same seed same result."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from hepad.classifiers import balanced_weights, make_classifier
from hepad.classifiers.hgb import binned, quantile_edges


def gaussians(n_sig, n_bkg, seed, shift=1.0):
    rng = np.random.default_rng(seed)
    x = np.r_[rng.normal(shift, 1, (n_sig, 4)), rng.normal(0, 1, (n_bkg, 4))]
    return x, np.r_[np.ones(n_sig), np.zeros(n_bkg)]


def test_balanced_weights_give_each_class_half():
    y = np.r_[np.ones(10), np.zeros(990)]
    w = balanced_weights(y, np.r_[np.ones(10), np.linspace(1, 3, 990)])
    assert w[y == 1].sum() == pytest.approx(500) and w[y == 0].sum() == pytest.approx(500)


CASES = [{"kind": "hgb", "n_models": 3, "max_iter": 50},
         {"kind": "mlp", "hidden": [16, 16], "epochs": 4, "batch_size": 128, "keep_best": 2}]


@pytest.mark.parametrize("cfg", CASES, ids=lambda c: c["kind"])
def test_classifier_learns_imbalanced_gaussians_and_is_reproducible(cfg):
    x, y = gaussians(500, 5000, seed=1)
    xv, yv = gaussians(500, 5000, seed=2)
    xt, yt = gaussians(2000, 2000, seed=3)
    preds = []
    for _ in range(2):
        clf = make_classifier(cfg, seed=5, device="cpu").fit(x, y, None, xv, yv, None)
        preds.append(clf.predict(xt))
    best = 0.5 * (1 + __import__("math").erf(1.0))  # Bayes AUC for 4 dims shifted by 1: Phi(sqrt(4)/sqrt(2))
    assert roc_auc_score(yt, preds[0]) > best - 0.03
    np.testing.assert_array_equal(preds[0], preds[1])
    # balanced class weights: the average prediction is near 0.5, not at the 1:10 class ratio
    assert 0.3 < preds[0].mean() < 0.7


def test_mlp_ensembles_the_best_epochs():
    x, y = gaussians(300, 300, seed=1)
    clf = make_classifier(CASES[1] | {"epochs": 5, "keep_best": 3}, seed=0, device="cpu")
    clf.fit(x, y, None, x, y, None)
    assert len(clf.states) == 3 and len(clf.history) == 5
    assert clf.best_losses == sorted(h["val_loss"] for h in clf.history)[:3]
    # the prediction is the mean of the members' predictions (the best epochs), not the last epoch's
    import torch

    from hepad.classifiers.mlp import _mlp

    xt = torch.as_tensor(((x - clf.mean) / clf.std).astype(np.float32))
    members = []
    for state in clf.states:
        member = _mlp(4, [16, 16])
        member.load_state_dict(state)
        members.append(torch.sigmoid(member(xt)).squeeze(-1).detach().double().numpy())
    np.testing.assert_allclose(clf.predict(x), np.mean(members, axis=0), rtol=1e-6, atol=1e-7)
    assert np.abs(members[0] - members[-1]).max() > 1e-4  # distinct members: the mean is a real test


def test_hgb_prediction_is_the_mean_of_its_members():
    x, y = gaussians(300, 300, seed=1)
    clf = make_classifier(CASES[0], seed=0).fit(x, y, None, None, None, None)
    members = [m.predict_proba(binned(x, clf.edges))[:, 1] for m in clf.models]
    assert len(members) == 3 and np.abs(members[0] - members[1]).max() > 1e-3
    np.testing.assert_allclose(clf.predict(x), np.mean(members, axis=0), rtol=1e-12)


def test_hgb_binning_keeps_order_nan_and_at_most_255_values():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5000, 2))
    x[:, 1] = np.round(x[:, 1])  # few distinct values: one bin each
    x[::100, 0] = np.nan
    edges = quantile_edges(x)
    b = binned(x, edges)
    assert np.isnan(b[::100, 0]).all() and not np.isnan(b[1::100, 0]).any()
    ok = ~np.isnan(x[:, 0])
    order = np.argsort(x[ok, 0])
    assert np.all(np.diff(b[ok, 0][order]) >= 0)  # monotone in the value
    assert len(np.unique(b[ok, 0])) == 255
    assert len(np.unique(b[:, 1])) == len(np.unique(x[:, 1]))
    # values beyond the training range fall in the first and last bins
    np.testing.assert_array_equal(binned(np.array([[-1e9, 0.0], [1e9, 0.0]]), edges)[:, 0], [0, 254])


def test_hgb_ensemble_separates_as_well_as_sklearn_binning():
    """Pre-binning at unweighted quantiles: the AUC of sklearn's own (weighted) binning."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    x, y = gaussians(4000, 4000, seed=5)
    xt, yt = gaussians(4000, 4000, seed=6)
    w = balanced_weights(y)
    ours = make_classifier({"kind": "hgb", "n_models": 1, "max_iter": 50}, seed=0).fit(x, y, None)
    theirs = HistGradientBoostingClassifier(max_iter=50, early_stopping=True, validation_fraction=0.5,
                                            random_state=0).fit(x, y, sample_weight=w)
    a, b = roc_auc_score(yt, ours.predict(xt)), roc_auc_score(yt, theirs.predict_proba(xt)[:, 1])
    assert a > 0.6 and abs(a - b) < 0.01
