"""K MLPClassifiers of one architecture trained at once: batched weights (hepad.flows.stacked.StackedMLP)
and the stacked training loop (fit_stack), each member exactly as MLPClassifier.fit trains it alone.

For the 3x64 MLP a training step costs per-operation overhead, not arithmetic: K members in batched
matmuls cost about the kernel launches of one. The members (method, window, seed) may differ in data,
counts and seeds but share the architecture and training options.
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import NamedTuple, Sequence

import numpy as np
import torch
from torch.nn import functional as F

from hepad.classifiers import balanced_weights
from hepad.classifiers.mlp import MLPClassifier, _mlp
from hepad.errors import InputError
from hepad.stacking import StackedMLP, fit_stack

__all__ = ["MLPMember", "StackedClassifier", "fit_mlp_stack"]


class MLPMember(NamedTuple):
    """One MLPClassifier job: MLPClassifier(seed=seed, **options).fit(x, y, w, x_val, y_val, w_val, name)."""
    x: np.ndarray
    y: np.ndarray
    w: np.ndarray | None
    x_val: np.ndarray
    y_val: np.ndarray
    w_val: np.ndarray | None
    options: dict
    seed: int
    name: str


class StackedClassifier(StackedMLP):
    """K networks _mlp(n_in, hidden), member k initialised as by MLPClassifier.fit after
    seed_everything(seeds[k]), with its loss (_weighted_bce) per member."""

    def __init__(self, n_in: int, hidden: Sequence[int], seeds: Sequence[int]):
        super().__init__([n_in, *hidden, 1], len(seeds))
        with torch.random.fork_rng(devices=[]):
            for j, s in enumerate(seeds):
                torch.manual_seed(s)
                self.load_member(j, _mlp(n_in, list(hidden)).state_dict())

    def losses(self, batch, members: torch.Tensor | None = None) -> torch.Tensor:
        """Per member, the weighted mean BCE of its batch [x, y, w] ([K', b, n_in], [K', b], [K', b])."""
        x, y, w = batch
        bce = F.binary_cross_entropy_with_logits(self(x, members).squeeze(-1), y, reduction="none")
        return (bce * w).sum(1) / w.sum(1)


def fit_mlp_stack(members: Sequence[MLPMember | tuple], checkpoint: str | os.PathLike | None = None,
                  loss_files: Sequence[str | os.PathLike] | None = None) -> list[MLPClassifier]:
    """MLPClassifier(seed=m.seed, **m.options).fit(m.x, m.y, m.w, m.x_val, m.y_val, m.w_val, m.name) for
    every member m, as one stack: the same standardisation, balanced weights, initial weights, batch
    order, Adam steps, best epochs and early stopping per member (see fit_stack). The members need one
    architecture (`hidden`, number of features) and the same options apart from the seed.
    `checkpoint`: resume after a kill (fit_stack). Returns the fitted MLPClassifiers, in order."""
    members = [MLPMember(*m) for m in members]
    clfs = [MLPClassifier(seed=m.seed, **m.options) for m in members]
    ref, n_in = clfs[0], members[0].x.shape[1]
    for m, c in zip(members, clfs):
        if (c.hidden, replace(c.cfg, seed=0), m.x.shape[1]) != (ref.hidden, replace(ref.cfg, seed=0), n_in):
            raise InputError(f"fit_mlp_stack: {m.name} has other options or features than {members[0].name}: "
                             f"{m.options}, {m.x.shape[1]} features (need one architecture and training options)")
    train, val = [], []
    for m, c in zip(members, clfs):  # as MLPClassifier.fit
        c.mean, c.std = m.x.mean(axis=0), m.x.std(axis=0) + 1e-12
        train.append(c._tensors(m.x, m.y, balanced_weights(m.y, m.w)))
        val.append(c._tensors(m.x_val, m.y_val, balanced_weights(m.y_val, m.w_val)))
    seeds = [m.seed for m in members]
    results = fit_stack(StackedClassifier(n_in, ref.hidden, seeds), train, val, ref.cfg, seeds,
                        [m.name for m in members], checkpoint, loss_files)
    for c, r in zip(clfs, results):
        c.states, c.best_losses, c.history = r.best_states, r.best_losses, r.history
    return clfs
