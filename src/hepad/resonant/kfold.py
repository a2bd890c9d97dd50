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


def train_kfold(make_method, win: WindowInputs, k: int, seed: int) -> tuple[np.ndarray, Dijets, dict]:
    """`make_method(fold)` -> a fresh Method for fold 0..k-1 (None: a probe that is not trained).
    Returns (out-of-fold scores, the SR data events they belong to, the training info)."""
    probe: Method = make_method(None)
    if probe.needs & {"extra_bkg", "signal"}:
        raise InputError(f"{probe.name}: needs extra simulated samples in the window; it cannot be evaluated "
                         "by k-fold on the window's own events")
    if k < 2:
        raise InputError(f"kfold = {k}; expected at least 2 folds")
    t0 = time.perf_counter()
    sr = np.flatnonzero(win.data.in_range(win.lo, win.hi))
    fold = folds(len(sr), k, seed)
    score = np.empty(len(sr))
    for i in range(k):
        held = sr[fold == i]
        keep = np.ones(len(win.data), dtype=bool)
        keep[held] = False
        m = make_method(i)
        m.train(replace(win, data=win.data[keep]))
        score[fold == i] = m.score(win.data[held])
        log.info("%s: fold %d/%d scored (%d events)", m.tag(win), i + 1, k, len(held))
    info = {"method": probe.name, "seed": seed, "sr_lo": win.lo, "sr_hi": win.hi, "evaluation": f"kfold{k}",
            "train_seconds": time.perf_counter() - t0}
    return score, win.data[sr], info
