"""Every long training of the resonant study resumes after a kill: with the same options it ends
where an uninterrupted run ends; with changed options the checkpoint is discarded and the result
is a fresh training with the new options (ANODE's SR flow, R-ANODE's signal flow, the MLP
classifier; the shared flows: test_density_methods.py kills a real process)."""

import numpy as np
import pytest
from toy_dijets_fixtures import TINY_FLOW, TINY_RESONANT

from hepad import training
from hepad.resonant.methods import METHODS
from hepad.resonant.plan import method_options

FLOW4 = dict(TINY_FLOW, epochs=4, keep_best=2)
MLP = {"kind": "mlp", "hidden": [16, 16], "epochs": 4, "batch_size": 256, "keep_best": 2}
CASES = {  # method: (options, the same with one training option changed)
    "anode": ({"sr_flow": FLOW4}, {"sr_flow": dict(FLOW4, lr=3e-3)}),
    "ranode": ({"signal_flow": FLOW4}, {"signal_flow": dict(FLOW4, epochs=3)}),
    "iad": ({"classifier": MLP}, {"classifier": dict(MLP, hidden=[8, 8])}),
}


class Killed(Exception):
    pass


def options(method, overrides):
    return method_options(method, {**TINY_RESONANT, "method_options": {method: overrides}})


def scores(method, opts, win, test, checkpoint=None):
    m = METHODS[method](options(method, opts), seed=3, device="cpu", checkpoint=checkpoint)
    m.train(win)
    m.shared = win.models
    return m.score(test)


@pytest.mark.parametrize("method", list(CASES))
@pytest.mark.parametrize("rerun", ["same", "changed"])
def test_killed_training_resumes_or_restarts(method, rerun, tiny_window, tmp_path, monkeypatch):
    win, test = tiny_window
    opts, changed = CASES[method]
    calls = [0]
    real = training._patience_exhausted

    def dies_in_epoch_2(history, patience):  # after epoch 1's checkpoint, before epoch 2's
        calls[0] += 1
        if calls[0] == 2:
            raise Killed
        return real(history, patience)

    prefix = str(tmp_path / "model.pkl.ckpt")
    monkeypatch.setattr(training, "_patience_exhausted", dies_in_epoch_2)
    with pytest.raises(Killed):
        scores(method, opts, win, test, checkpoint=prefix)
    monkeypatch.undo()
    assert len(list(tmp_path.glob("model.pkl.ckpt.*"))) == 1  # one network per method here
    final = opts if rerun == "same" else changed
    resumed = scores(method, final, win, test, checkpoint=prefix)
    uninterrupted = scores(method, final, win, test)
    np.testing.assert_array_equal(resumed, uninterrupted)
    if rerun == "changed":  # and it is not what the old options give
        assert not np.array_equal(resumed, scores(method, opts, win, test))
