"""ANODE: a second flow on the SR data; score = log p_data(x|m) - log p_bg(x|m)
(Nachman & Shih, arXiv:2001.04990). Both densities include their preprocessing's log-Jacobian,
so they are compared in the same (original) coordinates of x.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hepad.resonant.background.density import fit_density, fit_density_stack, finite_scores
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

    def _flow_options(self) -> dict:
        return {**self.options.flow, **self.options.sr_flow}

    def fit(self, win: WindowInputs) -> dict:
        sr = win.signal_region(win.data, "data")
        flow, result = fit_density(sr.x, sr.mjj, self._flow_options(), self.seed, self.device,
                                   f"{self.tag(win)} SR flow", checkpoint=self._checkpoint("sr_flow"))
        return self._adopt(win, flow, result)

    def _adopt(self, win: WindowInputs, flow, result) -> dict:
        self.sr_flow = flow.to("cpu")  # pickled with the method; scoring runs on the CPU
        self.shared = {"bkg_flow": win.model("bkg_flow")}
        self._tag = self.tag(win)
        return {"history": result.history}

    @classmethod
    def stackable(cls, options: dict) -> bool:
        return True

    @classmethod
    def fit_stack(cls, methods, wins, checkpoint):
        """The members' SR flows as one stack (hepad.flows.stacked)."""
        srs = [w.signal_region(w.data, "data") for w in wins]
        trained = fit_density_stack([sr.x for sr in srs], [sr.mjj for sr in srs], methods[0]._flow_options(),
                                    [m.seed for m in methods], methods[0].device,
                                    [f"{m.tag(w)} SR flow" for m, w in zip(methods, wins)], checkpoint)
        return [m._adopt(w, flow, result) for m, w, (flow, result) in zip(methods, wins, trained)]

    def score(self, d: Dijets) -> np.ndarray:
        with np.errstate(invalid="ignore"):  # -inf - -inf: outside both ranges, NaN ranks lowest
            s = self.sr_flow.log_prob(d.x, d.mjj) - self.shared["bkg_flow"].log_prob(d.x, d.mjj)
        return finite_scores(s, self._tag)
