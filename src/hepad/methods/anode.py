"""ANODE: a second flow on the SR data; score = log p_data(x|m) - log p_bg(x|m)
(Nachman & Shih, arXiv:2001.04990). Both densities include their preprocessing's log-Jacobian,
so they are compared in the same (original) coordinates of x.
"""

from __future__ import annotations

import numpy as np

from hepad.io.table import Dijets
from hepad.methods.background import fit_density, finite_scores
from hepad.methods.base import Method, WindowInputs


class ANODE(Method):
    name = "anode"
    needs = frozenset({"data", "bkg_flow"})
    score_needs = frozenset({"bkg_flow"})
    trains_flow = True

    def fit(self, win: WindowInputs) -> None:
        sr = win.signal_region(win.data, "data")
        opts = {**self.options.get("flow", {}), **self.options.get("sr_flow", {})}
        self.sr_flow, result = fit_density(sr.x, sr.mjj, opts, self.seed, self.device, f"{self.tag(win)} SR flow")
        self.sr_flow.to("cpu")  # pickled with the method; scoring runs on the CPU
        self.history = result.history
        self.bkg_flow = win.bkg_flow
        self._tag = self.tag(win)

    def score(self, d: Dijets) -> np.ndarray:
        with np.errstate(invalid="ignore"):  # -inf - -inf: outside both ranges, NaN ranks lowest
            s = self.sr_flow.log_prob(d.x, d.mjj) - self.bkg_flow.log_prob(d.x, d.mjj)
        return finite_scores(s, self._tag)
