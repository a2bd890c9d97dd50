"""k-fold evaluation in a window without extra background (on the real LHCO data only 3.3-3.7 TeV
has it): there is no independent test set, so the window's own SR data are scored out of fold.

The SR data events are split into k folds (fixed by the seed); for each fold the method is trained
on the mock data without that fold's SR events (sidebands untouched) and scores the fold. The
training job writes these out-of-fold scores itself, in the format of `score`'s output. The shared
models (sideband flow, SIGMA) are trained once, as in every other window.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace

import numpy as np

from hepad.errors import InputError
from hepad.resonant.formats.table import Dijets
from hepad.resonant.methods.base import Method, WindowInputs

log = logging.getLogger(__name__)


def folds(n: int, k: int, seed: int) -> np.ndarray:
    """Fold index (0..k-1) of each of n events, fixed by the seed, fold sizes differing by <= 1."""
    return np.random.default_rng([seed, 11]).permutation(n) % k


def train_kfold(cls: type[Method], options: dict, device: str, wins: list[WindowInputs], seeds: list[int], k: int,
                checkpoint: str) -> list[tuple[np.ndarray, Dijets, dict]]:
    """Method `cls` trained on k folds of each member's window (wins[j], seeds[j]); the k x members
    models are one stack when the method has torch models (Method.stackable), else trained one by
    one (checkpoints `{checkpoint}.{j}.fold{i}`). Per member: (out-of-fold scores, the SR data events
    they belong to, the training info)."""
    if cls.needs & {"extra_bkg", "signal"}:
        raise InputError(f"{cls.name}: needs extra simulated samples in the window; it cannot be evaluated "
                         "by k-fold on the window's own events")
    if k < 2:
        raise InputError(f"kfold = {k}; expected at least 2 folds")
    t0 = time.perf_counter()
    methods, fold_wins, plans = [], [], []
    for j, (win, seed) in enumerate(zip(wins, seeds)):
        sr = np.flatnonzero(win.data.in_range(win.lo, win.hi))
        fold = folds(len(sr), k, seed)
        plans.append((sr, fold))
        for i in range(k):
            keep = np.ones(len(win.data), dtype=bool)
            keep[sr[fold == i]] = False
            methods.append(cls(options, seed, device, checkpoint=f"{checkpoint}.{j}.fold{i}"))
            fold_wins.append(replace(win, data=win.data[keep]))
    if cls.stackable(options):
        cls.train_stack(methods, fold_wins, checkpoint)
    else:
        for m, fw in zip(methods, fold_wins):
            m.train(fw)
    seconds = (time.perf_counter() - t0) / len(wins)
    out = []
    for j, (win, seed, (sr, fold)) in enumerate(zip(wins, seeds, plans)):
        score = np.empty(len(sr))
        for i in range(k):
            m = methods[j * k + i]
            score[fold == i] = m.score(win.data[sr[fold == i]])
        log.info("%s: %d folds scored (%d SR events)", methods[j * k].tag(win), k, len(sr))
        info = {"method": cls.name, "seed": seed, "sr_lo": win.lo, "sr_hi": win.hi, "evaluation": f"kfold{k}",
                "train_seconds": seconds, "stack_size": len(wins) * (k if cls.stackable(options) else 1)}
        out.append((score, win.data[sr], info))
    return out
