"""CATHODE: SR data vs a background template sampled from the sideband flow, interpolated into
the signal region (Hallin et al., arXiv:2109.00546). The classifier is the skeleton's (MLP or HGB).

Robust to features correlated with m_jj (unlike CWoLa): the flow models x | m_jj and is sampled
at the SR masses (drawn from a KDE of the SR data's m_jj).
"""

from __future__ import annotations

from hepad.resonant.background.template import make_template
from hepad.resonant.formats.table import Dijets
from hepad.resonant.methods.base import TemplateMethod, WindowInputs


class Cathode(TemplateMethod):
    name = "cathode"
    needs = frozenset({"data", "bkg_flow"})

    def template(self, win: WindowInputs, sr: Dijets) -> Dijets:
        o = self.options
        return make_template(win.model("bkg_flow"), sr, win.lo, win.hi, self.seed, self.tag(win), o.oversampling,
                             o.mass_sampling, o.kde_bandwidth)
