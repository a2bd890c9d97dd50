"""Idealized anomaly detector: SR data vs simulated SR background (perfect background template)."""

from hepad.errors import InputError
from hepad.resonant.methods.base import ClassifierMethod, WindowInputs


class IAD(ClassifierMethod):
    name = "iad"
    needs = frozenset({"data", "extra_bkg"})
    reference = "extra_bkg"

    def samples(self, win: WindowInputs):
        if win.extra_bkg is None:
            raise InputError(f"iad: needs an extra-background sample in [{win.lo}, {win.hi}] TeV; none was given")
        return win.signal_region(win.data, "data"), win.signal_region(win.extra_bkg, "extra background"), None
