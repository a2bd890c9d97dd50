"""The density-based methods on the 1M-event toy at S/sqrt(B) ~ 2 in 3.3-3.7 TeV: the orderings
of the literature (CATHODE close to IAD, ANODE weaker but above random, R-ANODE at least ANODE),
CATHODE's robustness to jet masses correlated with m_jj, and the closure of the CATHODE and SIGMA
templates on a background-only toy. Small flows (laptop scale), the same code as the workflow."""

import numpy as np
import pytest
from toy_dijets_fixtures import RESONANT, SR

from hepad import metrics
from hepad.resonant.formats.table import Dijets
from hepad.resonant.plan import method_options
from hepad.resonant.methods import METHODS, WindowInputs
from hepad.resonant.background import sideband, sigma
from hepad.resonant.validation import closure_auc

FLOW = {"num_blocks": 4, "hidden_features": 64, "epochs": 8, "batch_size": 1024, "lr": 1e-3, "lr_schedule": "cosine",
        "keep_best": 3}
DENSITY = {**RESONANT, "flow": FLOW, "method_options": {"ranode": {"signal_flow": {
    "epochs": 10, "batch_size": 512, "lr": 1e-3, "lr_schedule": "cosine", "keep_best": 3}}}}
RESULTS = {}


def run(method, win, test):
    m = METHODS[method](method_options(method, DENSITY), seed=0, device="cpu")
    m.train(win)
    return metrics.max_sic(test.label, m.score(test))


def with_bkg_flow(win):
    flow, _ = sideband.train(win.data, *SR, FLOW, 0, "cpu", "bkg_flow")
    return WindowInputs(*SR, win.data, win.extra_bkg, win.signal, models={"bkg_flow": flow})


@pytest.fixture(scope="module")
def natural_flow(natural):
    win, test = natural
    return with_bkg_flow(win), test


@pytest.mark.slow
def test_cathode_close_to_iad_anode_above_random_ranode_at_least_anode(natural_flow):
    win, test = natural_flow
    for method in ("iad", "cathode", "anode", "ranode"):
        RESULTS[method] = run(method, win, test)
    print("\nmax SIC: " + ", ".join(f"{k} {v:.1f}" for k, v in RESULTS.items()))
    # one seed: CATHODE / IAD is 0.69-0.77 depending on float rounding alone (the flows' thread count)
    assert RESULTS["cathode"] >= 0.65 * RESULTS["iad"]
    assert 1 < RESULTS["anode"] < RESULTS["cathode"]
    assert RESULTS["ranode"] >= RESULTS["anode"]


@pytest.mark.slow
def test_cathode_survives_jet_masses_correlated_with_mjj(natural_flow, correlated):
    """The CATHODE paper's shifted-jet-mass test: CWoLa collapses there (test_toy_methods), the
    flow interpolates x | m_jj into the SR and keeps the sensitivity."""
    cathode = RESULTS.get("cathode") or run("cathode", *natural_flow)
    win_c, test_c = correlated
    cathode_c = run("cathode", with_bkg_flow(win_c), test_c)
    print(f"\nCATHODE max SIC: natural toy {cathode:.1f}, strongly correlated toy {cathode_c:.1f}")
    assert cathode_c >= 0.7 * cathode


@pytest.mark.slow
def test_templates_close_on_background_only_toy(natural):
    """No signal: the CATHODE and SIGMA templates must be indistinguishable from the true SR
    background (classifier AUC within 0.05 of 0.5). 300k of the toy's background events: ~33k in
    the SR, so the AUC is known to +-0.004."""
    win, _ = natural
    bkg = win.data[win.data.label == 0][:300_000]
    bwin = WindowInputs(*SR, bkg)
    bwin.models["bkg_flow"], _ = sideband.train(bkg, *SR, FLOW, 0, "cpu", "bkg_flow")
    bwin.models["sigma"], _ = sigma.train(bkg, None, None, FLOW, 0, "cpu", "sigma")
    sr = bkg[bkg.in_range(*SR)]
    aucs = {}
    for method in ("cathode", "sigma"):
        template: Dijets = METHODS[method](method_options(method, DENSITY), seed=0).template(bwin, sr)
        assert len(template) == 4 * len(sr) and np.all((template.mjj >= SR[0]) & (template.mjj <= SR[1]))
        aucs[method] = closure_auc(template, sr, seed=0)
    print(f"\ntemplate closure AUC (background only): {aucs}")
    assert all(abs(a - 0.5) <= 0.05 for a in aucs.values())
