"""k-fold evaluation in a window without extra background (on the real LHCO data only 3.3-3.7 TeV
has it): there is no independent test set, so the window's own SR data are scored out of fold.

The SR data events are split into k folds (fixed by the seed); for each fold the method is trained
on the mock data without that fold's SR events (sidebands untouched) and scores the fold. The
out-of-fold scores, with the simulation labels, are what `score` writes for the window. The shared
flows (sideband flow, SIGMA) are trained once, as in every other window.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace

import numpy as np

from hepad.errors import InputError
from hepad.methods.base import Method, WindowInputs

log = logging.getLogger(__name__)


@dataclass
class KFoldScores:
    """What a k-fold training job leaves: out-of-fold scores of the SR data (stands in for a model)."""

    score: np.ndarray
    label: np.ndarray
    mjj: np.ndarray


def train_kfold(make_method, win: WindowInputs, k: int, seed: int) -> tuple[KFoldScores, dict]:
    """`make_method()` -> a fresh Method. Returns the out-of-fold scores and the training info."""
    probe: Method = make_method()
    if probe.needs & {"extra_bkg", "signal"}:
        raise InputError(f"{probe.name}: needs extra simulated samples in the window; it cannot be evaluated "
                         "by k-fold on the window's own events")
    if k < 2:
        raise InputError(f"kfold = {k}; expected at least 2 folds")
    t0 = time.perf_counter()
    sr = np.flatnonzero(win.data.in_range(win.lo, win.hi))
    fold = np.random.default_rng([seed, 11]).permutation(len(sr)) % k
    score = np.empty(len(sr))
    for i in range(k):
        held = sr[fold == i]
        keep = np.ones(len(win.data), dtype=bool)
        keep[held] = False
        m = make_method()
        m.train(replace(win, data=win.data[keep]))
        score[fold == i] = m.score(win.data[held])
        log.info("%s: fold %d/%d scored (%d events)", m.tag(win), i + 1, k, len(held))
    info = {"method": probe.name, "seed": seed, "sr_lo": win.lo, "sr_hi": win.hi, "evaluation": f"kfold{k}",
            "train_seconds": time.perf_counter() - t0}
    d = win.data[sr]
    return KFoldScores(score, d.label.astype(np.int8), d.mjj), info
