"""The contract every entry of METHODS keeps, on a tiny window (fast): fit, save, load, score;
scores are finite, one per event, and the same for the same seed."""

import numpy as np
import pytest
from toy_dijets_fixtures import TINY_RESONANT as RESONANT

from hepad.resonant.methods import METHODS, Method
from hepad.resonant.plan import method_options
from hepad.resonant.registry import SAMPLES, SHARED_MODELS

def test_every_method_declares_inputs_that_exist():
    for name, cls in METHODS.items():
        assert cls.name == name
        assert cls.needs <= set(SAMPLES) | set(SHARED_MODELS), name
        assert cls.score_needs <= cls.needs & set(SHARED_MODELS), name


@pytest.mark.parametrize("name", list(METHODS))
def test_fit_save_load_score(name, tiny_window, tmp_path):
    win, test = tiny_window
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
