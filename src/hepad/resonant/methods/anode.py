"""ANODE: a second flow on the SR data; score = log p_data(x|m) - log p_bg(x|m)
(Nachman & Shih, arXiv:2001.04990). Both densities include their preprocessing's log-Jacobian,
so they are compared in the same (original) coordinates of x.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hepad.resonant.background.density import fit_density, finite_scores
from hepad.resonant.formats.table import Dijets
from hepad.resonant.methods.base import Method, Options, WindowInputs


@dataclass
class ANODEOptions(Options):
    flow: dict = field(default_factory=dict)  # the config passes resonant.flow (the sideband flow's options)
    sr_flow: dict = field(default_factory=dict)  # overrides of `flow` for the SR flow


class ANODE(Method):
    name = "anode"
    needs = frozenset({"data", "bkg_flow"})
    score_needs = frozenset({"bkg_flow"})
    trains_flow = True
    Options = ANODEOptions

    def fit(self, win: WindowInputs) -> dict:
        sr = win.signal_region(win.data, "data")
        opts = {**self.options.flow, **self.options.sr_flow}
        self.sr_flow, result = fit_density(sr.x, sr.mjj, opts, self.seed, self.device, f"{self.tag(win)} SR flow",
                                           checkpoint=self._checkpoint("sr_flow"))
        self.sr_flow.to("cpu")  # pickled with the method; scoring runs on the CPU
        self.shared = {"bkg_flow": win.model("bkg_flow")}
        self._tag = self.tag(win)
        return {"history": result.history}

    def score(self, d: Dijets) -> np.ndarray:
        with np.errstate(invalid="ignore"):  # -inf - -inf: outside both ranges, NaN ranks lowest
            s = self.sr_flow.log_prob(d.x, d.mjj) - self.shared["bkg_flow"].log_prob(d.x, d.mjj)
        return finite_scores(s, self._tag)
