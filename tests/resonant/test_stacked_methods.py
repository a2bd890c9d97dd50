"""Methods whose own networks train as one stack (ANODE's SR flows, R-ANODE's signal flows, the MLP
classifiers of IAD/CWoLa/CATHODE/SIGMA/supervised) equal the same methods trained one by one."""

import dataclasses

import numpy as np
import pytest
from toy_dijets_fixtures import TINY_FLOW, TINY_RESONANT, build_tiny, events

from hepad.resonant.methods import METHODS
from hepad.resonant.plan import method_options

MLP = {"kind": "mlp", "hidden": [16, 16], "epochs": 3, "batch_size": 256, "keep_best": 2}
FLOW = dict(TINY_FLOW, epochs=3, batch_size=256, lr_schedule="cosine")
CONFIG = {**TINY_RESONANT, "flow": FLOW, "classifier": MLP,
          "method_options": {"ranode": {"signal_flow": FLOW}}}


@pytest.fixture(scope="module")
def tiny():
    return build_tiny()


def members(tiny):
    """Three members: (window inputs, seed); two windows, different SR event counts."""
    win, _ = tiny
    narrow = dataclasses.replace(win, lo=3.35, hi=3.65)
    return [(win, 0), (narrow, 1), (win, 2)]


@pytest.mark.parametrize("method", ["anode", "ranode", "iad", "cathode", "cwola"])
def test_stack_members_equal_separate_trainings(tiny, method):
    cls = METHODS[method]
    opts = method_options(method, CONFIG)
    assert cls.stackable(opts)
    mem = members(tiny)
    stacked = [cls(opts, seed, "cpu") for _, seed in mem]
    infos = cls.train_stack(stacked, [w for w, _ in mem])
    probe = events(800, 77, 0, lo=3.3, hi=3.7)
    for (win, seed), m, info in zip(mem, stacked, infos):
        alone = cls(opts, seed, "cpu")
        alone_info = alone.train(win)
        assert info["stack_size"] == 3 and (info["sr_lo"], info["seed"]) == (win.lo, seed)
        if "history" in info:  # flows: the same loss history (float32: batched matmuls round differently)
            np.testing.assert_allclose([h["val_loss"] for h in info["history"]],
                                       [h["val_loss"] for h in alone_info["history"]], rtol=1e-5)
        else:
            np.testing.assert_allclose([h["val_loss"] for h in m.classifier.history],
                                       [h["val_loss"] for h in alone.classifier.history], rtol=1e-5)
        np.testing.assert_allclose(m.score(probe), alone.score(probe), rtol=1e-4, atol=1e-4)
    # the members are different models (own data, own seeds), not copies of one
    assert not np.allclose(stacked[0].score(probe), stacked[2].score(probe))


def test_hgb_methods_do_not_stack():
    """HGB ensembles are trained one by one; asking for a stack is an error, not a silent loop."""
    from hepad.errors import InputError
    from hepad.resonant.methods.base import ClassifierMethod

    opts = method_options("iad", TINY_RESONANT)
    assert not METHODS["iad"].stackable(opts)
    with pytest.raises(InputError, match="cannot train several models as one stack"):
        super(ClassifierMethod, METHODS["iad"]).fit_stack([], [], None)


class Killed(Exception):
    pass


def test_killed_stack_resumes_to_the_uninterrupted_models(tiny, tmp_path, monkeypatch, caplog):
    """R-ANODE's stack (signal flows and learned w) killed after epoch 1's checkpoint ends, when
    rerun, with exactly the models of an uninterrupted stack."""
    from hepad import stacking

    opts, mem = method_options("ranode", CONFIG), members(tiny)
    cls, ckpt = METHODS["ranode"], str(tmp_path / "stack.ckpt")
    real, calls = stacking._patience_exhausted, [0]

    def dies_in_epoch_2(history, patience):  # called per member: member 0 of epoch 2 raises
        calls[0] += 1
        if calls[0] == len(mem) + 1:
            raise Killed
        return real(history, patience)

    monkeypatch.setattr(stacking, "_patience_exhausted", dies_in_epoch_2)
    with pytest.raises(Killed):
        cls.train_stack([cls(opts, s, "cpu") for _, s in mem], [w for w, _ in mem], ckpt)
    monkeypatch.undo()
    resumed = [cls(opts, s, "cpu") for _, s in mem]
    with caplog.at_level("INFO", logger="hepad.stacking"):
        cls.train_stack(resumed, [w for w, _ in mem], ckpt)
    assert f"stack of 3: resumed from {ckpt} after epoch 0" in caplog.text
    fresh = [cls(opts, s, "cpu") for _, s in mem]
    cls.train_stack(fresh, [w for w, _ in mem])
    probe = events(500, 78, 0, lo=3.3, hi=3.7)
    for a, b in zip(resumed, fresh):
        np.testing.assert_array_equal(a.score(probe), b.score(probe))
        assert a.w == b.w
