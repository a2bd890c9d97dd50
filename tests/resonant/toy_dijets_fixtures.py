"""The 1M-event toy at S/sqrt(B) ~ 2 in the standard signal region, shared by the slow method tests."""

import numpy as np

from hepad.resonant.formats.features import lhco_to_dijets
from hepad.resonant.formats.table import Dijets
from hepad.resonant.methods import WindowInputs
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
