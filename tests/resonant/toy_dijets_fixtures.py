"""Toy windows for the method tests: the 1M-event toy at S/sqrt(B) ~ 2 in the standard signal region
(slow tests) and a tiny window with every shared model trained (fast tests)."""

import numpy as np

from hepad.resonant.formats.features import lhco_to_dijets
from hepad.resonant.formats.table import Dijets
from hepad.resonant.methods import WindowInputs
from hepad.resonant.registry import SHARED_MODELS
from hepad.resonant.toy import generate_background, generate_events
from hepad.resonant.windows import inject, split_pools

SR = (3.3, 3.7)
# the config's `resonant` section keys the methods read (hepad.resonant.plan.method_options)
RESONANT = {"classifier": {"kind": "hgb", "n_models": 5, "max_iter": 200}, "val_fraction": 0.5,
            "cwola_sideband_width": 0.2}
N_BKG = 1_000_000  # the R&D size: S/sqrt(B) = 2 means ~660 signal events in the SR, as in the papers


def dijets(raw):
    return lhco_to_dijets(raw[:, :14], raw[:, 14])


def build(slope: float, significance: float = 2.0, seed: int = 11):
    """Mock data with S/sqrt(B) = `significance` in the SR, extra background, signal and test set."""
    events = dijets(generate_events(N_BKG, 20_000, seed=seed, mass_mjj_slope=slope))
    extra = dijets(generate_background(300_000, seed=seed + 1, mjj_range=SR, mass_mjj_slope=slope))
    pools = split_pools(events, extra, {"inject": 0.5, "train": 0.3, "test": 0.2}, 0.5, seed=3)
    n_bkg_sr = int(pools["background"].in_range(*SR).sum())
    frac_sr = pools["signal_inject"].in_range(*SR).mean()
    n_sig = int(round(significance * np.sqrt(n_bkg_sr) / frac_sr))
    data = inject(pools["background"], pools["signal_inject"], n_sig, seed=1)
    test = Dijets.concat([p[p.in_range(*SR)] for p in (pools["extra_test"], pools["signal_test"])])
    win = WindowInputs(*SR, data, extra_bkg=pools["extra_train"], signal=pools["signal_train"])
    return win, test


TINY_FLOW = {"num_blocks": 2, "hidden_features": 16, "epochs": 2, "batch_size": 512, "lr": 1e-3, "keep_best": 2}
TINY_RESONANT = {"classifier": {"kind": "hgb", "n_models": 1, "max_iter": 20}, "flow": TINY_FLOW, "sigma": {},
                 "method_options": {"ranode": {"signal_flow": TINY_FLOW}}}


def events(n, seed, label, shift=0.0, lo=3.0, hi=4.0):
    """x | m ~ N(m - 3.5 + shift, 0.1^2) per feature, m uniform in [lo, hi) TeV."""
    rng = np.random.default_rng(seed)
    m = rng.uniform(lo, hi, n)
    return Dijets(m, (m - 3.5 + shift)[:, None] + 0.1 * rng.standard_normal((n, 4)), np.full(n, label, np.int8))


def build_tiny():
    """(WindowInputs with every shared model trained, test set) of a small window (fast)."""
    data = Dijets.concat([events(6000, 0, 0), events(150, 1, 1, shift=0.3, lo=3.4, hi=3.6)])
    win = WindowInputs(*SR, data, extra_bkg=events(2000, 2, 0, lo=3.3, hi=3.7),
                       signal=events(500, 3, 1, shift=0.3, lo=3.4, hi=3.6))
    for name, sm in SHARED_MODELS.items():  # trained as their rules do, through the registry
        lo, hi = SR if sm.per_window else (None, None)
        win.models[name], _ = sm.train(data, lo, hi, sm.options(TINY_RESONANT), 0, "cpu", name)
    test = Dijets.concat([events(1000, 4, 0, lo=3.3, hi=3.7), events(200, 5, 1, shift=0.3, lo=3.4, hi=3.6)])
    return win, test
