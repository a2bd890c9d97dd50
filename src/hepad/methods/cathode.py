"""CATHODE: SR data vs a background template sampled from the sideband flow, interpolated into
the signal region (Hallin et al., arXiv:2109.00546). The classifier is the skeleton's (MLP or HGB).

Robust to features correlated with m_jj (unlike CWoLa): the flow models x | m_jj and is sampled
at the SR masses.
"""

from __future__ import annotations

from abc import abstractmethod

from hepad.io.table import Dijets
from hepad.methods.background import make_template
from hepad.methods.base import ClassifierMethod, WindowInputs


class TemplateMethod(ClassifierMethod):
    """A classifier of SR data (class 1) vs a sampled background template (class 0)."""

    @abstractmethod
    def template(self, win: WindowInputs, sr: Dijets) -> Dijets: ...

    def samples(self, win: WindowInputs):
        sr = win.signal_region(win.data, "data")
        return sr, self.template(win, sr), None


class Cathode(TemplateMethod):
    name = "cathode"
    needs = frozenset({"data", "bkg_flow"})

    def template(self, win: WindowInputs, sr: Dijets) -> Dijets:
        return make_template(win.bkg_flow, sr, win.lo, win.hi, self.options, self.seed, self.tag(win))
