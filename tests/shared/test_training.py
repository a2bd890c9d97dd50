"""The shared training loop: resume after a kill ends where an uninterrupted run ends; NaN stops it."""

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


def model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))


def test_resume_from_checkpoint_matches_uninterrupted_run(tmp_path):
    cfg = TrainConfig(epochs=6, batch_size=64, lr=1e-2, keep_best=3, seed=4, device="cpu")
    full = fit(model(), mse, data(0), data(1), cfg)

    class Killed(Exception):
        pass

    def dies_in_epoch_4(m, batch, calls=[0]):  # noqa: B006 - counts calls across epochs
        calls[0] += 1
        if calls[0] > 3 * 9:  # 8 train batches + 1 val batch per epoch
            raise Killed
        return mse(m, batch)

    ckpt = tmp_path / "ckpt.pt"
    with pytest.raises(Killed):
        fit(model(), dies_in_epoch_4, data(0), data(1), cfg, checkpoint=ckpt)
    resumed = fit(model(), mse, data(0), data(1), cfg, checkpoint=ckpt)
    assert [h["epoch"] for h in resumed.history] == list(range(6))
    assert resumed.best_losses == full.best_losses
    for a, b in zip(resumed.best_states, full.best_states):
        for k in a:
            torch.testing.assert_close(a[k], b[k], rtol=0, atol=0)


def test_nan_loss_stops_with_the_job_name():
    x, y = data(0)
    y[5] = float("nan")
    cfg = TrainConfig(epochs=2, batch_size=64, device="cpu")
    with pytest.raises(TrainingDiverged, match="cathode SR \\[3.3, 3.7\\] TeV seed 2: loss is not finite at epoch 0"):
        fit(model(), mse, [x, y], data(1), cfg, name="cathode SR [3.3, 3.7] TeV seed 2")
