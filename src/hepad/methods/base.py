"""The interface every resonant anomaly-detection method implements.

A method is fitted on one signal-region window of one mock data set (one n_sig, one seed) and
then scores events: larger score = more signal-like. Save/load go through pickle.
"""

from __future__ import annotations

import pickle
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hepad.classifiers import make_classifier
from hepad.errors import InputError
from hepad.io.atomic import atomic_path
from hepad.io.table import Dijets
from hepad.windows import MIN_EVENTS_SR, val_mask


@dataclass
class WindowInputs:
    """Everything a method may train on in the window [lo, hi) TeV."""

    lo: float
    hi: float
    data: Dijets | None = None  # mock data: background + injected signal, whole m_jj range (labels unused)
    extra_bkg: Dijets | None = None  # extra simulated background (IAD, supervised)
    signal: Dijets | None = None  # simulated signal not injected (supervised)
    bkg_flow: object | None = None  # the window's sideband flow p_bg(x | m) (a DensityModel; ANODE, CATHODE, R-ANODE)
    sigma: object | None = None  # SIGMA's model of all data, trained once per (n_sig, seed)

    def signal_region(self, d: Dijets, what: str) -> Dijets:
        sr = d[d.in_range(self.lo, self.hi)]
        if len(sr) < MIN_EVENTS_SR:
            raise InputError(f"{what}: {len(sr)} events in the signal region [{self.lo}, {self.hi}] TeV; "
                             f"expected at least {MIN_EVENTS_SR}")
        return sr


class Method(ABC):
    name: str = ""
    # what fit() reads: "data" (the mock data), "extra_bkg", "signal". A method that does not read
    # the data (supervised) is trained once per (window, seed) and shared by every n_sig.
    needs: frozenset[str] = frozenset({"data"})
    # trained models score() needs besides the method's own file ("bkg_flow"): they are shared
    # files, not copied into every method's pickle, and are given to score() through attach().
    score_needs: frozenset[str] = frozenset()
    trains_flow: bool = False  # fits a flow of its own (its training job asks for a GPU)

    def __init__(self, options: dict, seed: int, device: str = "auto"):
        self.options, self.seed, self.device = options, seed, device

    @abstractmethod
    def fit(self, win: WindowInputs) -> None: ...

    @abstractmethod
    def score(self, d: Dijets) -> np.ndarray: ...

    def tag(self, win: WindowInputs) -> str:
        """Names the job in logs and errors."""
        return f"{self.name} SR [{win.lo}, {win.hi}] TeV seed {self.seed}"

    def train(self, win: WindowInputs) -> dict:
        """fit() plus the bookkeeping written next to the model."""
        t0 = time.perf_counter()
        self.fit(win)
        return {"method": self.name, "seed": self.seed, "sr_lo": win.lo, "sr_hi": win.hi,
                "train_seconds": time.perf_counter() - t0}

    def attach(self, **models) -> None:
        """Give back the shared models of `score_needs` after load()."""
        for key in self.score_needs:
            if models.get(key) is None:
                raise InputError(f"{self.name}: scoring needs the {key} model; none was given")
            setattr(self, key, models[key])

    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if k not in self.score_needs}

    def save(self, path) -> None:
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            pickle.dump(self, f)

    @staticmethod
    def load(path) -> "Method":
        if not Path(path).is_file():
            raise InputError(f"{path}: model file not found; run the training step first")
        with open(path, "rb") as f:
            return pickle.load(f)


class ClassifierMethod(Method):
    """A method that is one classifier between two samples (label 1 vs 0) with event weights."""

    @abstractmethod
    def samples(self, win: WindowInputs) -> tuple[Dijets, Dijets, np.ndarray | None]:
        """(class-1 sample, class-0 sample, class-0 event weights or None)."""

    def fit(self, win: WindowInputs) -> None:
        pos, neg, w_neg = self.samples(win)
        x = np.concatenate([pos.x, neg.x])
        y = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
        w = np.r_[np.ones(len(pos)), np.ones(len(neg)) if w_neg is None else w_neg]
        val = val_mask(len(x), self.options.get("val_fraction", 0.5), np.random.default_rng(self.seed))
        self.classifier = make_classifier(self.options["classifier"], self.seed, self.device)
        self.classifier.fit(x[~val], y[~val], w[~val], x[val], y[val], w[val], name=self.tag(win))
        self.n_train = {"n_class1": len(pos), "n_class0": len(neg)}

    def score(self, d: Dijets) -> np.ndarray:
        return self.classifier.predict(d.x)
