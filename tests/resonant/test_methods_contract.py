"""The contract every entry of METHODS keeps, on a tiny window (fast): fit, save, load, score;
scores are finite, one per event, and the same for the same seed."""

import numpy as np
import pytest

from hepad.resonant.formats.table import Dijets
from hepad.resonant.methods import METHODS, Method, WindowInputs
from hepad.resonant.plan import method_options
from hepad.resonant.registry import SAMPLES, SHARED_MODELS

SR = (3.3, 3.7)
TINY_FLOW = {"num_blocks": 2, "hidden_features": 16, "epochs": 2, "batch_size": 512, "lr": 1e-3, "keep_best": 2}
RESONANT = {"classifier": {"kind": "hgb", "n_models": 1, "max_iter": 20}, "flow": TINY_FLOW, "sigma": {},
            "method_options": {"ranode": {"signal_flow": TINY_FLOW}}}


def events(n, seed, label, shift=0.0, lo=3.0, hi=4.0):
    """x | m ~ N(m - 3.5 + shift, 0.1^2) per feature, m uniform in [lo, hi) TeV."""
    rng = np.random.default_rng(seed)
    m = rng.uniform(lo, hi, n)
    return Dijets(m, (m - 3.5 + shift)[:, None] + 0.1 * rng.standard_normal((n, 4)), np.full(n, label, np.int8))


@pytest.fixture(scope="module")
def window():
    data = Dijets.concat([events(6000, 0, 0), events(150, 1, 1, shift=0.3, lo=3.4, hi=3.6)])
    win = WindowInputs(*SR, data, extra_bkg=events(2000, 2, 0, lo=3.3, hi=3.7),
                       signal=events(500, 3, 1, shift=0.3, lo=3.4, hi=3.6))
    for name, sm in SHARED_MODELS.items():  # trained as their rules do, through the registry
        lo, hi = SR if sm.per_window else (None, None)
        win.models[name], _ = sm.train(data, lo, hi, sm.options(RESONANT), 0, "cpu", name)
    test = Dijets.concat([events(1000, 4, 0, lo=3.3, hi=3.7), events(200, 5, 1, shift=0.3, lo=3.4, hi=3.6)])
    return win, test


def test_every_method_declares_inputs_that_exist():
    for name, cls in METHODS.items():
        assert cls.name == name
        assert cls.needs <= set(SAMPLES) | set(SHARED_MODELS), name
        assert cls.score_needs <= cls.needs & set(SHARED_MODELS), name


@pytest.mark.parametrize("name", list(METHODS))
def test_fit_save_load_score(name, window, tmp_path):
    win, test = window
    scores = []
    for run in range(2):
        m = METHODS[name](method_options(name, RESONANT), seed=7, device="cpu")
        info = m.train(win)
        assert info["method"] == name and info["train_seconds"] > 0
        m.save(tmp_path / f"{run}.pkl")
        again = Method.load(tmp_path / f"{run}.pkl")
        again.attach(win.models)
        scores.append(again.score(test))
        np.testing.assert_array_equal(scores[-1], m.score(test))  # save/load changes nothing
    s = scores[0]
    assert s.shape == (len(test),) and np.all(np.isfinite(s))
    np.testing.assert_array_equal(scores[0], scores[1])  # same seed, same scores
    assert s.std() > 0  # the score distinguishes events
