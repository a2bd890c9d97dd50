"""SIGMA: the CATHODE classifier on a template drawn from SIGMA's one model of all data (trained
once per (n_sig, seed), hepad.resonant.background.sigma), whose m_jj embedding is interpolated
between two sideband anchor masses across the signal region (arXiv:2410.20537).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hepad.resonant.background import sigma as sigma_model
from hepad.resonant.background.template import make_template
from hepad.resonant.formats.table import Dijets
from hepad.resonant.methods.base import TemplateMethod, TemplateOptions, WindowInputs


@dataclass
class SigmaOptions(TemplateOptions):
    mass_sampling: str = "histogram"
    anchor_offset: float = 0.1  # TeV outside the SR: the paper's 3.2 and 3.8 TeV for 3.3-3.7
    anchors: dict = field(default_factory=dict)  # per window, {"3.3-3.7": [3.2, 3.8]}


class Sigma(TemplateMethod):
    name = "sigma"
    needs = frozenset({"data", "sigma"})
    Options = SigmaOptions

    def template(self, win: WindowInputs, sr: Dijets) -> Dijets:
        o = self.options
        m_lo, m_hi = sigma_model.anchors(win.lo, win.hi, o.anchor_offset, o.anchors)
        with sigma_model.interpolated(win.model("sigma"), m_lo, m_hi) as model:
            return make_template(model, sr, win.lo, win.hi, self.seed, self.tag(win), o.oversampling,
                                 o.mass_sampling, o.kde_bandwidth)
