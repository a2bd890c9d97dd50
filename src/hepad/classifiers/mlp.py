"""The 3x64 ReLU MLP of the CATHODE paper: BCE, Adam, balanced weights, and a prediction
averaged over the epochs with the lowest validation loss."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from hepad.training import TrainConfig, ensemble, fit, resolve_device, seed_everything


def _mlp(n_in: int, hidden: list[int]) -> nn.Sequential:
    layers, width = [], n_in
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        width = h
    return nn.Sequential(*layers, nn.Linear(width, 1))  # logits; sigmoid in the loss/prediction


def _weighted_bce(model, batch):
    x, y, w = batch
    loss = nn.functional.binary_cross_entropy_with_logits(model(x).squeeze(-1), y, reduction="none")
    return (loss * w).sum() / w.sum()


class MLPClassifier:
    def __init__(self, seed: int = 0, hidden: list[int] = (64, 64, 64), epochs: int = 100, batch_size: int = 128,
                 lr: float = 1e-3, keep_best: int = 10, patience: int | None = None, device: str = "auto"):
        self.seed, self.hidden = seed, list(hidden)
        self.cfg = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, keep_best=keep_best,
                               patience=patience, seed=seed, device=device)
        self.states: list[dict] = []
        self.history: list[dict] = []

    def fit(self, x, y, w, x_val, y_val, w_val, name: str = "mlp", loss_file=None, checkpoint=None):
        """`checkpoint`: resume after a kill (hepad.training.fit)."""
        from hepad.classifiers import balanced_weights

        self.mean, self.std = x.mean(axis=0), x.std(axis=0) + 1e-12
        seed_everything(self.seed)
        model = _mlp(x.shape[1], self.hidden)
        res = fit(model, _weighted_bce, self._tensors(x, y, balanced_weights(y, w)),
                  self._tensors(x_val, y_val, balanced_weights(y_val, w_val)), self.cfg, name=name, checkpoint=checkpoint,
                  loss_file=loss_file)
        self.states, self.best_losses, self.history = res.best_states, res.best_losses, res.history
        return self

    def _tensors(self, x, y, w):
        f = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float32))  # noqa: E731
        return [f((x - self.mean) / self.std), f(y), f(w)]

    @torch.no_grad()
    def predict(self, x) -> np.ndarray:
        device = resolve_device(self.cfg.device)
        xt = torch.as_tensor(((x - self.mean) / self.std).astype(np.float32), device=device)
        members = ensemble(_mlp(x.shape[1], self.hidden), self.states)
        probs = [torch.cat([torch.sigmoid(m.to(device)(xt[i:i + 65536])).squeeze(-1)
                            for i in range(0, len(xt), 65536)]) for m in members]
        return torch.stack(probs).mean(0).double().cpu().numpy()
