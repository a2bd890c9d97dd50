"""CaloFlow's trainings (Flow-I, Flow-II, the supervised MLP) resume after a kill to the model an
uninterrupted run gives, and restart when an option changed (tiny models, fast)."""

import numpy as np
import pytest
import torch

from hepad import training
from hepad.calo import steps, toy
from hepad.calo.caloflow import train_flow
from hepad.calo.showers import write_showers

TRAIN = {"epochs": 4, "batch_size": 100, "lr": 2e-3, "keep_best": 1}
FLOWS = {1: {"num_blocks": 2, "hidden_features": 16, "made_layers": 1},
         2: {"num_blocks": 1, "hidden_features": 16, "made_layers": 1}}


class Killed(Exception):
    pass


@pytest.fixture(scope="module")
def photons():
    return toy.simulate_background(400, np.random.default_rng(5))


def kill_in_epoch_2(monkeypatch):
    calls, real = [0], training._patience_exhausted

    def dies(history, patience):
        calls[0] += 1
        if calls[0] == 2:
            raise Killed
        return real(history, patience)

    monkeypatch.setattr(training, "_patience_exhausted", dies)


def state(path):
    return torch.load(path, weights_only=False)["state"]


def assert_same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0)


@pytest.mark.parametrize("which", [1, 2])
@pytest.mark.parametrize("rerun", ["same", "changed"])
def test_flow_resumes_or_restarts(photons, tmp_path, monkeypatch, which, rerun):
    out, ckpt = tmp_path / "flow.pt", tmp_path / "flow.pt.ckpt"
    kill_in_epoch_2(monkeypatch)
    with pytest.raises(Killed):
        train_flow(which, photons, FLOWS[which], TRAIN, 0, out, checkpoint=ckpt, device="cpu")
    monkeypatch.undo()
    assert ckpt.exists() and not out.exists()
    final = TRAIN if rerun == "same" else dict(TRAIN, lr=1e-3)
    train_flow(which, photons, FLOWS[which], final, 0, out, checkpoint=ckpt, device="cpu")
    train_flow(which, photons, FLOWS[which], final, 0, tmp_path / "fresh.pt", device="cpu")
    assert_same(state(out), state(tmp_path / "fresh.pt"))


@pytest.mark.parametrize("rerun", ["same", "changed"])
def test_supervised_mlp_resumes_or_restarts(photons, tmp_path, monkeypatch, rerun):
    sig = tmp_path / "sig.h5"
    write_showers(sig, toy.simulate_chi(300, 5.0, 0.33, np.random.default_rng(1)))
    bkg = tmp_path / "photons.h5"
    write_showers(bkg, photons)
    flow1 = tmp_path / "flow1.pt"
    train_flow(1, photons, FLOWS[1], dict(TRAIN, epochs=1), 0, flow1, device="cpu")
    opts = {"hidden": [16], "epochs": 4, "batch_size": 128, "keep_best": 1}
    model = tmp_path / "sup.pt"
    kill_in_epoch_2(monkeypatch)
    with pytest.raises(Killed):
        steps.train_supervised(sig, bkg, flow1, opts, 0, "cpu", model)
    monkeypatch.undo()
    assert (tmp_path / "sup.pt.ckpt").exists()
    final = opts if rerun == "same" else dict(opts, lr=3e-3)
    steps.train_supervised(sig, bkg, flow1, final, 0, "cpu", model)
    steps.train_supervised(sig, bkg, flow1, final, 0, "cpu", tmp_path / "fresh.pt")
    assert not (tmp_path / "sup.pt.ckpt").exists()  # removed once the model is written
    a, b = (torch.load(p, weights_only=False)["clf"] for p in (model, tmp_path / "fresh.pt"))
    assert len(a.states) == 1
    assert_same(a.states[0], b.states[0])
