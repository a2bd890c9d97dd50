"""CWoLa Hunting: SR data vs the short sidebands' data next to it.

The sidebands' background must look like the SR's: it fails when the features are correlated
with m_jj (the CATHODE paper's shifted-jet-mass test). Lower and upper sideband are weighted to
equal total weight, so neither side dominates the template; class balance is done by the classifier.
"""

from dataclasses import dataclass

import numpy as np

from hepad.errors import InputError
from hepad.resonant.methods.base import ClassifierMethod, ClassifierOptions, WindowInputs
from hepad.resonant.windows import short_sidebands


@dataclass
class CWoLaOptions(ClassifierOptions):
    sideband_width: float = 0.2  # TeV on each side (config: resonant.cwola_sideband_width)


class CWoLa(ClassifierMethod):
    name = "cwola"
    Options = CWoLaOptions

    def samples(self, win: WindowInputs):
        (a, b), (c, d) = short_sidebands(win.lo, win.hi, self.options.sideband_width)
        lower, upper = win.data[win.data.in_range(a, b)], win.data[win.data.in_range(c, d)]
        for side, sb, (lo, hi) in (("lower", lower, (a, b)), ("upper", upper, (c, d))):
            if len(sb) == 0:
                raise InputError(f"cwola: the {side} sideband [{lo:.3f}, {hi:.3f}] TeV holds no data events")
        sb = lower.concat([lower, upper])
        w = np.r_[np.full(len(lower), 0.5 / len(lower)), np.full(len(upper), 0.5 / len(upper))] * len(sb)
        return win.signal_region(win.data, "data"), sb, w
