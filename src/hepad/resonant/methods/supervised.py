"""Fully supervised reference: simulated signal vs simulated background in the SR (the ceiling)."""

from hepad.errors import InputError
from hepad.resonant.methods.base import ClassifierMethod, WindowInputs


class Supervised(ClassifierMethod):
    name = "supervised"
    needs = frozenset({"extra_bkg", "signal"})

    def samples(self, win: WindowInputs):
        if win.extra_bkg is None or win.signal is None:
            raise InputError(f"supervised: needs simulated signal and extra background in [{win.lo}, {win.hi}] TeV")
        return win.signal_region(win.signal, "signal"), win.signal_region(win.extra_bkg, "extra background"), None
