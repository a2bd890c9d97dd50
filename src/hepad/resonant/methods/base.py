"""The interface every resonant anomaly-detection method implements.

A method is fitted on one signal-region window of one mock data set (one n_sig, one seed) and
then scores events: larger score = more signal-like. Save/load go through pickle.

- `needs`: what fit() reads: samples and shared background models, by their names in
  hepad.resonant.registry (SAMPLES, SHARED_MODELS). They decide the training job's inputs.
- `Options`: a dataclass holding every option of the method with its default (the one place for
  them); the config's `resonant.method_options.<name>` overrides it, unknown keys are errors.
"""

from __future__ import annotations

import pickle
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import ClassVar

import numpy as np

from hepad.classifiers import USES_TORCH, make_classifier
from hepad.errors import InputError
from hepad.io.atomic import atomic_path
from hepad.resonant.formats.table import Dijets
from hepad.resonant.windows import MIN_EVENTS_SR, val_mask

@dataclass
class WindowInputs:
    """Everything a method may train on in the window [lo, hi) TeV."""

    lo: float
    hi: float
    data: Dijets | None = None  # mock data: background + injected signal, whole m_jj range (labels unused)
    extra_bkg: Dijets | None = None  # extra simulated background (IAD, supervised)
    signal: Dijets | None = None  # simulated signal not injected (supervised)
    models: dict = field(default_factory=dict)  # shared background models by name (DensityModels)
    template: Dijets | None = None  # a template method's background template, drawn beforehand (k-fold)

    def model(self, name: str):
        if self.models.get(name) is None:
            raise InputError(f"the shared model {name!r} was not given for [{self.lo}, {self.hi}] TeV")
        return self.models[name]

    def signal_region(self, d: Dijets, what: str) -> Dijets:
        sr = d[d.in_range(self.lo, self.hi)]
        if len(sr) < MIN_EVENTS_SR:
            raise InputError(f"{what}: {len(sr)} events in the signal region [{self.lo}, {self.hi}] TeV; "
                             f"expected at least {MIN_EVENTS_SR}")
        return sr


@dataclass
class Options:
    """No options. Subclasses add fields with defaults."""

    @classmethod
    def from_dict(cls, d: dict, method: str) -> "Options":
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise InputError(f"config: resonant.method_options.{method}.{unknown[0]}: unknown option of {method}; "
                             f"expected one of {', '.join(sorted(names)) or 'none'}")
        return cls(**d)


class Method(ABC):
    name: ClassVar[str] = ""
    needs: ClassVar[frozenset[str]] = frozenset({"data"})
    # shared models score() needs besides the method's own file: not copied into every method's
    # pickle, given back to score() through attach().
    score_needs: ClassVar[frozenset[str]] = frozenset()
    trains_flow: ClassVar[bool] = False  # fits a flow of its own (its training job asks for a GPU)
    # background sample it trains against, for the bump hunt's template estimate (hepad.resonant.kfold):
    # "template" (a fresh one per fold), "extra_bkg" (its held-out share per fold) or None
    reference: ClassVar[str | None] = None
    # the bump hunt's background estimates from its out-of-fold data scores (hepad.resonant.bumphunt):
    # None = the sideband fit, and the template estimate too when it has a reference; "ratio" = its
    # score is a likelihood ratio log p_S / p_B defined in the SR only (R-ANODE): the fitted signal fraction
    bumphunt_route: ClassVar[str | None] = None
    Options: ClassVar[type[Options]] = Options
    checkpoint: str | None = None

    def __init__(self, options: dict, seed: int, device: str = "auto", checkpoint: str | None = None):
        """`checkpoint`: path prefix for the checkpoints of the networks fit() trains (resume after a kill)."""
        self.options, self.seed, self.device = self.Options.from_dict(options, self.name), seed, device
        self.checkpoint = checkpoint

    def _checkpoint(self, part: str) -> str | None:
        return None if self.checkpoint is None else f"{self.checkpoint}.{part}"

    @abstractmethod
    def fit(self, win: WindowInputs) -> dict | None:
        """Train on the window; may return extra bookkeeping for the model's .json (losses, fitted values)."""

    @abstractmethod
    def score(self, d: Dijets) -> np.ndarray: ...

    # ---- several models as one stack (resonant.stack; hepad.stacking) ----
    @classmethod
    def stackable(cls, options: dict) -> bool:
        """Whether several models of this method (other windows, seeds) can train as one stack."""
        return False

    @classmethod
    def fit_stack(cls, methods: list["Method"], wins: list[WindowInputs], checkpoint: str | None) -> list[dict | None]:
        """fit() of every (method, window) pair at once, each member as if trained alone (same seed,
        same data: same model up to float rounding); returns fit()'s bookkeeping per member."""
        raise InputError(f"{cls.name}: cannot train several models as one stack")

    @classmethod
    def train_stack(cls, methods: list["Method"], wins: list[WindowInputs], checkpoint: str | None = None) -> list[dict]:
        """train() for a stack: the job's time is divided equally among its members."""
        t0 = time.perf_counter()
        extras = cls.fit_stack(methods, wins, checkpoint)
        for m, w in zip(methods, wins):
            m.shared = {k: w.model(k) for k in m.score_needs}  # score() works right after training
        seconds = (time.perf_counter() - t0) / len(methods)
        return [{"method": m.name, "seed": m.seed, "sr_lo": w.lo, "sr_hi": w.hi, "train_seconds": seconds,
                 "stack_size": len(methods), **(e or {})} for m, w, e in zip(methods, wins, extras)]

    @classmethod
    def uses_gpu(cls, options: dict) -> bool:
        """Whether its training job trains a torch model (and so asks for a GPU)."""
        return cls.trains_flow

    @classmethod
    def reads_data(cls) -> bool:
        """False (supervised): trained once per (window, seed) and shared by every n_sig."""
        return "data" in cls.needs

    def tag(self, win: WindowInputs) -> str:
        """Names the job in logs and errors."""
        return f"{self.name} SR [{win.lo}, {win.hi}] TeV seed {self.seed}"

    def train(self, win: WindowInputs) -> dict:
        """fit() plus the bookkeeping written next to the model."""
        t0 = time.perf_counter()
        extra = self.fit(win) or {}
        self.shared = {k: win.model(k) for k in self.score_needs}  # score() works right after training
        return {"method": self.name, "seed": self.seed, "sr_lo": win.lo, "sr_hi": win.hi,
                "train_seconds": time.perf_counter() - t0, **extra}

    def attach(self, models: dict) -> None:
        """Give back the shared models of `score_needs` after load()."""
        for key in self.score_needs:
            if models.get(key) is None:
                raise InputError(f"{self.name}: scoring needs the {key} model; none was given")
        self.shared = {k: models[k] for k in self.score_needs}

    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if k not in ("shared", "checkpoint")}

    def save(self, path) -> None:
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            pickle.dump(self, f)

    @staticmethod
    def load(path) -> "Method":
        if not Path(path).is_file():
            raise InputError(f"{path}: model file not found; run the training step first")
        with open(path, "rb") as f:
            return pickle.load(f)


@dataclass
class ClassifierOptions(Options):
    classifier: dict = field(default_factory=lambda: {"kind": "hgb"})  # the config passes resonant.classifier
    val_fraction: float = 0.5  # of the two samples, for the classifier's epoch selection / early stopping


class ClassifierMethod(Method):
    """A method that is one classifier between two samples (label 1 vs 0) with event weights."""

    Options = ClassifierOptions

    @abstractmethod
    def samples(self, win: WindowInputs) -> tuple[Dijets, Dijets, np.ndarray | None]:
        """(class-1 sample, class-0 sample, class-0 event weights or None)."""

    @classmethod
    def uses_gpu(cls, options: dict) -> bool:
        return cls.trains_flow or USES_TORCH[cls.Options.from_dict(options, cls.name).classifier["kind"]]

    def fit(self, win: WindowInputs) -> None:
        arrays = self._split(win)
        self.classifier = make_classifier(self.options.classifier, self.seed, self.device)
        self.classifier.fit(*arrays, name=self.tag(win), checkpoint=self._checkpoint("classifier"))

    def score(self, d: Dijets) -> np.ndarray:
        return self.classifier.predict(d.x)

    @classmethod
    def stackable(cls, options: dict) -> bool:
        return cls.Options.from_dict(options, cls.name).classifier["kind"] == "mlp"

    def _split(self, win: WindowInputs):
        """The classifier's training and validation arrays: (x, y, w, x_val, y_val, w_val)."""
        pos, neg, w_neg = self.samples(win)
        x = np.concatenate([pos.x, neg.x])
        y = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
        w = np.r_[np.ones(len(pos)), np.ones(len(neg)) if w_neg is None else w_neg]
        val = val_mask(len(x), self.options.val_fraction, np.random.default_rng(self.seed))
        self.n_train = {"n_class1": len(pos), "n_class0": len(neg)}
        return x[~val], y[~val], w[~val], x[val], y[val], w[val]

    @classmethod
    def fit_stack(cls, methods, wins, checkpoint):
        """The members' MLP classifiers as one stack (hepad.classifiers.stacked)."""
        from hepad.classifiers.stacked import fit_mlp_stack

        members = []
        for m, win in zip(methods, wins):
            options = {k: v for k, v in m.options.classifier.items() if k != "kind"}
            members.append((*m._split(win), {**options, "device": m.device}, m.seed, m.tag(win)))
        for m, clf in zip(methods, fit_mlp_stack(members, checkpoint)):
            m.classifier = clf
        return [None] * len(methods)


@dataclass
class TemplateOptions(ClassifierOptions):
    oversampling: float = 4.0  # template size / SR data size
    mass_sampling: str = "kde"  # SR masses of the template: kde (CATHODE) | histogram (SIGMA)
    kde_bandwidth: float = 0.01  # in the logit of the mass scaled to the SR (CATHODE)


class TemplateMethod(ClassifierMethod):
    """A classifier of SR data (class 1) vs a background template sampled in the SR (class 0)."""

    Options = TemplateOptions
    reference = "template"

    @abstractmethod
    def template(self, win: WindowInputs, sr: Dijets) -> Dijets: ...

    def samples(self, win: WindowInputs):
        sr = win.signal_region(win.data, "data")
        return sr, self.template(win, sr) if win.template is None else win.template, None
