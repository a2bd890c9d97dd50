"""k-fold training: a method that reads the mock data is k fold models per (window, n_sig, seed)
(k = resonant.kfold), so that every data event it scores was never in its training.

The data events of the window's fit range [lo - fit_width, hi + fit_width) (its SR and the sidebands
the bump hunt fits) are split into k folds, fixed by the seed; fold model i trains on the mock data
without fold i's events and scores fold i. Out-of-fold scores of the data feed the bump hunt
(hepad.resonant.bumphunt); the labelled test set is scored by the mean of the k models' scores (the
SIC); in a window without a test set the SR part of the out-of-fold scores is the evaluation. A
method that does not read the data (supervised) is one model.

Methods with a background reference (Method.reference) get, per fold, reference events that fold
never trained on. Template methods (CATHODE, SIGMA): one template per (window, seed), `oversampling`
x the SR data, split into k folds like the data; fold model i trains on the template without its
fold i (`oversampling` x the SR data it trains on) and takes fold i as its reference. The template's
x are drawn from a background model that never saw the SR, so no fold's reference depends on what it
trained on (one draw instead of 2k: measured in README "Fold models"). IAD: the fold's share of the
extra background in the SR, held out of its training. Each fold's data and reference
scores are mapped through that fold's reference CDF (fraction of reference events scoring lower),
so one threshold means one background efficiency in every fold.
"""

from __future__ import annotations

import logging
import pickle
import time
from dataclasses import dataclass, replace

import numpy as np

from hepad.errors import InputError
from hepad.io.atomic import atomic_path
from hepad.resonant.formats.table import Dijets
from hepad.resonant.methods.base import Method, WindowInputs

log = logging.getLogger(__name__)

TEMPLATE_FOLD_SEED = 104_729  # added to the seed: the template's fold split, not the data's


def folds(n: int, k: int, seed: int) -> np.ndarray:
    """Fold index (0..k-1) of each of n events, fixed by the seed, fold sizes differing by <= 1."""
    return np.random.default_rng([seed, 11]).permutation(n) % k


class FoldModels:
    """The fold models of one (window, method, n_sig, seed); scores the test set with their mean."""

    def __init__(self, models: list[Method]):
        self.models = models
        self.name, self.needs, self.score_needs = models[0].name, models[0].needs, models[0].score_needs

    def attach(self, shared: dict) -> None:
        for m in self.models:
            m.attach(shared)

    def score(self, d: Dijets) -> np.ndarray:
        return np.mean([m.score(d) for m in self.models], axis=0)

    def save(self, path) -> None:
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            pickle.dump(self, f)


@dataclass
class Trained:
    """One member of a training job: its models, the out-of-fold data scores (bump hunt) and the info."""

    models: FoldModels
    data_scores: dict | None  # hepad.resonant.bumphunt.scores contract, without window/nsig (the job knows them)
    sr_scores: np.ndarray | None  # out-of-fold raw scores of the SR data (the evaluation without a test set)
    sr_events: Dijets | None
    info: dict


def _cdf(reference: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Fraction of `reference` scoring lower than or equal to each of `s`."""
    return np.searchsorted(np.sort(reference), s, side="right") / len(reference)


def train_folds(cls: type[Method], options: dict, device: str, wins: list[WindowInputs], seeds: list[int], k: int,
                fit_width: float, checkpoint: str) -> list[Trained]:
    """Method `cls` for each member (wins[j], seeds[j]): k fold models (one if it does not read the
    data), all members' models as one stack when the method has torch models (Method.stackable),
    else one by one (checkpoints `{checkpoint}.{j}.{i}`)."""
    if k < 2:
        raise InputError(f"kfold = {k}; expected at least 2 folds")
    k = k if cls.reads_data() else 1
    t0 = time.perf_counter()
    methods, fold_wins, plans = [], [], []
    for j, (win, seed) in enumerate(zip(wins, seeds)):
        fit_lo, fit_hi = win.lo - fit_width, win.hi + fit_width
        fit = np.flatnonzero(win.data.in_range(fit_lo, fit_hi)) if k > 1 else np.zeros(0, int)
        fold = folds(len(fit), k, seed)
        extra = np.flatnonzero(win.extra_bkg.in_range(win.lo, win.hi)) if cls.reference == "extra_bkg" else None
        extra_fold = None if extra is None else folds(len(extra), k, seed + 1)
        template = template_fold = None
        if cls.reference == "template" and k > 1:
            template = cls(options, seed, device).template(win, win.signal_region(win.data, "data"))
            template_fold = folds(len(template), k, seed + TEMPLATE_FOLD_SEED)
        plans.append((fit_lo, fit_hi, fit, fold, extra, extra_fold, template, template_fold))
        for i in range(k):
            fw = win
            if k > 1:
                fw = replace(win, data=_without(win.data, fit[fold == i]))
            if extra is not None:
                fw = replace(fw, extra_bkg=_without(win.extra_bkg, extra[extra_fold == i]))
            if template is not None:
                fw = replace(fw, template=template[template_fold != i])
            methods.append(cls(options, seed, device, checkpoint=f"{checkpoint}.{j}.{i}"))
            fold_wins.append(fw)
    if cls.stackable(options) and len(methods) > 1:
        infos = cls.train_stack(methods, fold_wins, checkpoint)
    else:
        infos = [m.train(fw) for m, fw in zip(methods, fold_wins)]
    seconds = (time.perf_counter() - t0) / len(wins)
    out = []
    for j, (win, seed, plan) in enumerate(zip(wins, seeds, plans)):
        mine = slice(j * k, (j + 1) * k)
        info = {"method": cls.name, "seed": seed, "sr_lo": win.lo, "sr_hi": win.hi, "kfold": k, "train_seconds": seconds,
                "stack_size": len(methods) if cls.stackable(options) and len(methods) > 1 else 1,
                "folds": [{key: v for key, v in fi.items() if key not in ("method", "seed", "sr_lo", "sr_hi")}
                          for fi in infos[mine]]}
        models = FoldModels(methods[mine])
        if k == 1:
            out.append(Trained(models, None, None, None, info))
            continue
        data, sr_scores, sr_events = _out_of_fold(cls, options, device, win, seed, plan, methods[mine], fold_wins[mine])
        out.append(Trained(models, data, sr_scores, sr_events, info))
    return out


def _without(d: Dijets, drop: np.ndarray) -> Dijets:
    keep = np.ones(len(d), dtype=bool)
    keep[drop] = False
    return d[keep]


def _out_of_fold(cls, options, device, win, seed, plan, models, fold_wins):
    """Each fit-range data event scored by the fold model that never saw it; with a reference, per
    fold through its reference CDF. Returns (data-scores dict, raw SR scores, SR events)."""
    fit_lo, fit_hi, fit, fold, extra, extra_fold, template, template_fold = plan
    events = win.data[fit]
    raw = np.empty(len(fit))
    score = np.empty(len(fit))
    reference = []
    for i, (m, fw) in enumerate(zip(models, fold_wins)):
        mine = fold == i
        raw[mine] = m.score(events[mine])
        if cls.reference is None:
            score[mine] = raw[mine]
            continue
        if cls.reference == "template":  # the template's fold this fold did not train on
            ref_events = template[template_fold == i]
        else:  # the extra background in the SR this fold did not train on
            ref_events = win.extra_bkg[extra[extra_fold == i]]
        ref = m.score(ref_events)
        score[mine] = _cdf(ref, raw[mine])
        reference.append(_cdf(ref, ref))
    sr = events.in_range(win.lo, win.hi)
    log.info("%s: %d fit-range data events scored out of fold (%d folds)", models[0].tag(win), len(fit), len(models))
    data = {"score": score, "mjj": events.mjj, "is_signal": events.label == 1,
            "reference_score": np.concatenate(reference) if reference else np.zeros(0),
            "sr_lo": win.lo, "sr_hi": win.hi, "fit_lo": fit_lo, "fit_hi": fit_hi, "method": cls.name, "seed": seed,
            "route": cls.bumphunt_route or ("fit" if cls.reference is None else "both")}
    return data, raw[sr], events[sr]
