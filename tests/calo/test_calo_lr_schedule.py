"""The paper's learning-rate halving at milestones, as the optimizer sees it during training."""

import pytest
import torch

from hepad import training
from hepad.errors import InputError
from hepad.training import TrainConfig, fit


def _lrs_seen(monkeypatch, cfg: TrainConfig, n_batches: int = 2) -> list[float]:
    """The optimizer's lr at the first batch of every epoch of `fit`."""
    made, seen = [], []
    real = training.make_optimizer
    monkeypatch.setattr(training, "make_optimizer", lambda p, c: made.append(real(p, c)) or made[-1])
    model = torch.nn.Linear(1, 1)
    calls = {"n": 0}

    def loss(m, batch):
        if m.training:
            if calls["n"] % n_batches == 0:
                seen.append(made[0].param_groups[0]["lr"])
            calls["n"] += 1
        return (m(batch[0]) ** 2).mean()

    x = torch.linspace(-1, 1, 8).reshape(-1, 1)
    fit(model, loss, [x], [x], cfg)
    return seen


def test_lr_halves_at_milestones(monkeypatch):
    cfg = TrainConfig(epochs=7, batch_size=4, lr=1e-3, keep_best=1, device="cpu", lr_schedule="halving",
                      milestones=[2, 5])
    assert _lrs_seen(monkeypatch, cfg) == pytest.approx([1e-3, 1e-3, 5e-4, 5e-4, 5e-4, 2.5e-4, 2.5e-4], rel=1e-12)


def test_constant_stays_and_bad_milestones_are_refused(monkeypatch):
    cfg = TrainConfig(epochs=3, batch_size=4, lr=1e-3, keep_best=1, device="cpu")
    assert _lrs_seen(monkeypatch, cfg) == pytest.approx([1e-3] * 3)
    for bad in (dict(lr_schedule="halving"), dict(lr_schedule="halving", milestones=[5, 2]),
                dict(milestones=[3]), dict(lr_schedule="step")):
        with pytest.raises(InputError, match="lr_schedule"):
            TrainConfig(**bad)


def test_milestones_change_the_checkpoint_fingerprint():
    x = [torch.zeros(4, 1)]
    fp = lambda **kw: training.fingerprint(torch.nn.Linear(1, 1), None, x, x, TrainConfig(**kw), "job")
    assert fp(lr_schedule="halving", milestones=[2]) != fp(lr_schedule="halving", milestones=[3]) != fp()
