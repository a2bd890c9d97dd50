"""Supervised and IAD on real LHC Olympics R&D events of the signal region (../shared/data/lhco-sr,
the 6-column preprocessed layout). Skipped when the folder is absent (set HEPAD_LHCO_SR to point
at it elsewhere)."""

import os
from pathlib import Path

import numpy as np
import pytest

from hepad import metrics
from hepad.resonant.formats.lhco import read_lhco_arrays
from hepad.resonant.formats.table import Dijets
from hepad.resonant.methods import METHODS, WindowInputs
from hepad.resonant.windows import truth_counts

FOLDER = Path(os.environ.get("HEPAD_LHCO_SR", Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "lhco-sr"))
OPTIONS = {"classifier": {"kind": "hgb", "n_models": 5, "max_iter": 200}, "val_fraction": 0.5}

pytestmark = pytest.mark.skipif(not (FOLDER / "innerdata_train.npy").exists(), reason=f"no LHCO SR arrays in {FOLDER}")


@pytest.fixture(scope="module")
def real():
    """Mock data = innerdata_train (60k events, 395 signal: S/B 0.66 %); innerdata_val's background
    is split into the IAD's reference background and the test background; extrasig_train is the
    supervised signal, extrasig_val the test signal."""
    data = read_lhco_arrays(FOLDER / "innerdata_train.npy")
    val = read_lhco_arrays(FOLDER / "innerdata_val.npy")
    bkg = val[val.label == 0]
    half = np.random.default_rng(0).random(len(bkg)) < 0.5
    test = Dijets.concat([bkg[~half], read_lhco_arrays(FOLDER / "innerdata_extrasig_val.npy")])
    win = WindowInputs(3.3, 3.7, data, extra_bkg=bkg[half], signal=read_lhco_arrays(FOLDER / "innerdata_extrasig_train.npy"))
    return win, test


@pytest.mark.slow
@pytest.mark.parametrize("method,min_sic", [("supervised", 8.0), ("iad", 4.0)])
def test_methods_beat_random_on_real_events(real, method, min_sic):
    win, test = real
    m = METHODS[method](OPTIONS, seed=0, device="cpu")
    m.train(win)
    s = m.score(test)
    truth = truth_counts(win.data, 3.3, 3.7)
    summary = metrics.summarize(test.label, s)
    print(f"\nreal LHCO SR, {method}: max SIC {summary['max_sic']:.1f}, AUC {summary['auc']:.3f} "
          f"({truth['n_sig_sr']} signal in {len(win.data)} data events; "
          f"test {summary['n_sig_test']} signal, {summary['n_bkg_test']} background)")
    assert summary["max_sic"] > min_sic
    assert summary["auc"] > 0.75
