"""R-ANODE: the background flow frozen, a signal flow p_S(m, x) fitted on the SR data through
the mixture likelihood (Das, Kasieczka, Shih, arXiv:2312.11629)

    p(x, m) = w p_S(x, m) + (1 - w) p_B(x | m) p_B(m),   p_B(m): histogram of the SR data's m_jj,

with w fixed (`w`: a number, or "true" = the mock data's true S/(S+B) in the SR, an oracle that
reads the simulation labels) or learned as sigmoid(theta) (`w: learned`, the default).
Score = log p_S(x, m) - log [p_B(x | m) p_B(m)], the likelihood ratio.
The signal flow is an unconditional RQS-MAF over (m_jj - SR centre, x) with its own preprocessing,
whose log-Jacobian makes p_S a density in the same coordinates as p_B.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np

from hepad.errors import InputError
from hepad.resonant.formats.table import Dijets
from hepad.resonant.background.density import TRAIN_KEYS, finite_scores
from hepad.resonant.methods.base import Method, Options, WindowInputs

log = logging.getLogger(__name__)

SIGNAL_FLOW = {"kind": "rqs", "num_blocks": 6, "hidden_features": 64, "made_layers": 2, "num_bins": 8,
               "batch_norm": False, "epochs": 100, "batch_size": 256, "lr": 3e-4, "weight_decay": 0.0,
               "optimizer": "adamw", "keep_best": 10, "val_fraction": 0.2, "margin": 0.01}


@dataclass
class RANODEOptions(Options):
    signal_flow: dict = field(default_factory=dict)  # overrides of SIGNAL_FLOW
    w: float | str = "learned"  # learned (sigmoid(theta)) | "true" (oracle S/(S+B) from the labels) | a number
    w_init: float = 0.01  # start of the learned w
    w_lr_scale: float = 1.0  # w = sigmoid(w_lr_scale theta): logit(w) moves w_lr_scale x the flow's learning rate
    mass_bins: int = 20  # histogram of p_B(m_jj) in the SR

    def __post_init__(self):
        if self.w not in ("learned", "true") and not (isinstance(self.w, (int, float)) and 0 < self.w < 1):
            raise InputError(f"config: resonant.method_options.ranode.w = {self.w!r}: expected learned, true or "
                             "a number in (0, 1)")


class RANODE(Method):
    name = "ranode"
    needs = frozenset({"data", "bkg_flow"})
    score_needs = frozenset({"bkg_flow"})
    trains_flow = True
    Options = RANODEOptions
    # p_S(m, x) and p_B(m) live in the SR (sideband events all get the lowest score: no sideband fit);
    # the bump hunt fits the signal fraction of the out-of-fold SR scores instead (README "Bump hunt")
    bumphunt_route = "ratio"

    def _log_pb(self, d: Dijets) -> np.ndarray:
        """log p_B(x | m) + log p_B(m), m from the SR histogram (density per TeV)."""
        b = np.clip(np.searchsorted(self.m_edges, d.mjj, side="right") - 1, 0, len(self.m_density) - 1)
        with np.errstate(divide="ignore"):
            return self.shared["bkg_flow"].log_prob(d.x, d.mjj) + np.log(self.m_density[b])

    def _y(self, d: Dijets) -> np.ndarray:
        return np.column_stack([d.mjj - self.centre, d.x])

    def _prepare(self, win: WindowInputs):
        """(untrained SignalMixture, training tensors, validation tensors, TrainConfig) of the window."""
        import torch

        from hepad.flows import FlowConfig, Preprocessor, build_flow
        from hepad.flows.mixture import SignalMixture
        from hepad.training import TrainConfig, seed_everything

        name = self._tag = self.tag(win)
        sr = win.signal_region(win.data, "data")
        self.shared, self.centre = {"bkg_flow": win.model("bkg_flow")}, 0.5 * (win.lo + win.hi)
        density, self.m_edges = np.histogram(sr.mjj, bins=self.options.mass_bins, range=(win.lo, win.hi), density=True)
        self.m_density = np.maximum(density, 1e-12)
        log_pb = self._log_pb(sr)
        ok = np.isfinite(log_pb)
        if (~ok).any():
            log.info("%s: %d SR events outside the background flow's range left out", name, int((~ok).sum()))
        sr, log_pb = sr[ok], log_pb[ok]
        self._true_w = float((sr.label == 1).mean())  # simulation truth: the oracle w and the log line only

        o = {**SIGNAL_FLOW, **self.options.signal_flow}
        w_opt = self.options.w
        if w_opt == "true":
            w0 = max(self._true_w, 1e-6)
        else:
            w0 = self.options.w_init if w_opt == "learned" else float(w_opt)

        self.prep = Preprocessor(margin=o.pop("margin")).fit(self._y(sr))
        z, logdet = self.prep.transform(self._y(sr))
        data = [z.float(), logdet.float(), torch.as_tensor(log_pb, dtype=torch.float32)]
        val = torch.as_tensor(np.random.default_rng(self.seed).random(len(sr)) < o.pop("val_fraction"))
        cfg = TrainConfig(seed=self.seed, device=self.device, **{k: o.pop(k) for k in TRAIN_KEYS if k in o})
        seed_everything(self.seed)
        model = SignalMixture(build_flow(FlowConfig(**o), z.shape[1]), w0, w_opt == "learned", self.options.w_lr_scale)
        return model, [t[~val] for t in data], [t[val] for t in data], cfg

    def _adopt(self, model, result) -> dict:
        from hepad.training import ensemble

        self.members = [m.to("cpu") for m in ensemble(model, result.best_states)]
        self.w = [m.w for m in self.members]
        log.info("%s: w = %s (%s); true S/(S+B) in the SR %.5f", self._tag, np.round(self.w, 5), self.options.w,
                 self._true_w)
        return {"history": result.history, "w": self.w}

    def fit(self, win: WindowInputs) -> dict:
        from hepad.training import fit

        model, train, val, cfg = self._prepare(win)
        result = fit(model, lambda mod, batch: mod.loss(batch), train, val, cfg, self._tag,
                     checkpoint=self._checkpoint("signal_flow"))
        return self._adopt(model, result)

    @classmethod
    def stackable(cls, options: dict) -> bool:
        return True

    @classmethod
    def fit_stack(cls, methods, wins, checkpoint):
        """The members' signal flows (and w) as one stack (hepad.flows.mixture.StackedSignalMixture)."""
        from hepad.flows.mixture import StackedSignalMixture
        from hepad.stacking import fit_stack

        prepared = [m._prepare(w) for m, w in zip(methods, wins)]
        stack = StackedSignalMixture([model for model, *_ in prepared])
        results = fit_stack(stack, [p[1] for p in prepared], [p[2] for p in prepared], prepared[0][3],
                            [m.seed for m in methods], [m._tag for m in methods], checkpoint)
        return [m._adopt(p[0], r) for m, p, r in zip(methods, prepared, results)]

    def score(self, d: Dijets) -> np.ndarray:
        import torch

        from hepad.flows import maf

        y = torch.as_tensor(self._y(d))
        inside = self.prep.inside(y)
        z, logdet = self.prep.transform(y[inside])
        lps = np.stack([maf.log_prob(m.flow, z.float()) for m in self.members])
        log_ps = np.full(len(d), -np.inf)
        log_ps[inside.numpy()] = np.logaddexp.reduce(lps, axis=0) - math.log(len(self.members)) + logdet.numpy()
        with np.errstate(invalid="ignore"):  # -inf - -inf: outside both ranges, NaN ranks lowest
            return finite_scores(log_ps - self._log_pb(d), self._tag)
