"""The shared training loop: resume after a kill ends where an uninterrupted run ends; NaN stops it."""

import logging

import pytest
import torch

from hepad.errors import TrainingDiverged
from hepad.training import TrainConfig, fit


def mse(model, batch):
    x, y = batch
    return ((model(x).squeeze(-1) - y) ** 2).mean()


def data(seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(512, 3, generator=g)
    return [x, x @ torch.tensor([1.0, -2.0, 0.5]) + 0.1 * torch.randn(512, generator=g)]


def model(width=8):
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, width), torch.nn.Tanh(), torch.nn.Linear(width, 1))


class Killed(Exception):
    pass


def killed_at_epoch(n_epochs_done):
    """A loss function that raises once `n_epochs_done` epochs are done (9 calls per epoch)."""
    calls = [0]

    def loss(m, batch):
        calls[0] += 1
        if calls[0] > n_epochs_done * 9:  # 8 train batches + 1 val batch per epoch
            raise Killed
        return mse(m, batch)

    return loss


def same(a, b):
    assert [h["val_loss"] for h in a.history] == [h["val_loss"] for h in b.history]
    assert a.best_losses == b.best_losses
    for x, y in zip(a.best_states, b.best_states):
        for k in x:
            torch.testing.assert_close(x[k], y[k], rtol=0, atol=0)


def test_resume_from_checkpoint_matches_uninterrupted_run(tmp_path):
    cfg = TrainConfig(epochs=6, batch_size=64, lr=1e-2, keep_best=3, seed=4, device="cpu")
    full = fit(model(), mse, data(0), data(1), cfg)

    ckpt = tmp_path / "ckpt.pt"
    with pytest.raises(Killed):
        fit(model(), killed_at_epoch(3), data(0), data(1), cfg, checkpoint=ckpt)
    resumed = fit(model(), mse, data(0), data(1), cfg, checkpoint=ckpt)
    assert [h["epoch"] for h in resumed.history] == list(range(6))
    assert resumed.best_losses == full.best_losses
    for a, b in zip(resumed.best_states, full.best_states):
        for k in a:
            torch.testing.assert_close(a[k], b[k], rtol=0, atol=0)


@pytest.mark.parametrize("change", ["epochs", "lr", "width", "data", "job"])
def test_a_checkpoint_of_other_inputs_is_discarded(tmp_path, caplog, change):
    """Killed at epoch 3 of 6, rerun with one input changed: the result is a fresh training with the
    new inputs (not a resumed one, not a size-mismatch traceback), and the log says why."""
    caplog.set_level(logging.INFO, logger="hepad.training")
    cfg = TrainConfig(epochs=6, batch_size=64, lr=1e-2, keep_best=2, seed=4, device="cpu")
    ckpt = tmp_path / "ckpt.pt"
    with pytest.raises(Killed):
        fit(model(), killed_at_epoch(3), data(0), data(1), cfg, name="job", checkpoint=ckpt)
    assert ckpt.exists()
    new_cfg = TrainConfig(**{**cfg.__dict__, **({"epochs": 4} if change == "epochs" else {}),
                             **({"lr": 5e-3} if change == "lr" else {})})
    args = dict(model=model(16 if change == "width" else 8), train=data(2 if change == "data" else 0),
                name="other job" if change == "job" else "job")
    resumed = fit(args["model"], mse, args["train"], data(1), new_cfg, name=args["name"], checkpoint=ckpt)
    fresh = fit(model(16 if change == "width" else 8), mse, args["train"], data(1), new_cfg, name=args["name"])
    same(resumed, fresh)
    want = {"epochs": "options", "lr": "options", "width": "architecture", "data": "data", "job": "job"}[change]
    assert f"was made from another {want}" in caplog.text and "discarded" in caplog.text


def test_an_early_stopped_run_stays_stopped_on_rerun(tmp_path):
    cfg = TrainConfig(epochs=30, batch_size=64, lr=5e-2, keep_best=1, patience=1, seed=4, device="cpu")
    ckpt = tmp_path / "ckpt.pt"
    first = fit(model(), mse, data(0), data(1), cfg, checkpoint=ckpt)
    assert len(first.history) < 30  # stopped early
    again = fit(model(), mse, data(0), data(1), cfg, checkpoint=ckpt)
    same(again, first)
    assert len(again.history) == len(first.history)


def test_nan_loss_stops_with_the_job_name():
    x, y = data(0)
    y[5] = float("nan")
    cfg = TrainConfig(epochs=2, batch_size=64, device="cpu")
    with pytest.raises(TrainingDiverged, match="cathode SR \\[3.3, 3.7\\] TeV seed 2: loss is not finite at epoch 0"):
        fit(model(), mse, [x, y], data(1), cfg, name="cathode SR [3.3, 3.7] TeV seed 2")
