"""On toy showers, CaloFlow trained on photons only reproduces the paper's heatmap trends."""

import numpy as np
import pytest

from hepad.calo import toy
from hepad.calo.caloflow import anomaly_score, load_flow, score, train_flow
from hepad.calo.studies import sic_summary

MASSES, ZS = (0.005, 5.0), (0.33, 1.00, 1.44)


@pytest.mark.slow
def test_heatmap_trends(tmp_path):
    rng = np.random.default_rng(0)
    train, test = toy.simulate_background(3000, rng), toy.simulate_background(3000, rng)
    train_flow(1, train, dict(kind="rqs", num_blocks=3, hidden_features=32, made_layers=2, tail_bound=14.0),
               dict(epochs=6, lr=3e-3), seed=0, out=tmp_path / "f1.pt", device="cpu")
    train_flow(2, train, dict(kind="rqs", num_blocks=2, hidden_features=32, made_layers=1, tail_bound=14.0),
               dict(epochs=3, lr=3e-3, batch_size=64), seed=0, out=tmp_path / "f2.pt", device="cpu")
    (f1, d1), (f2, _) = load_flow(tmp_path / "f1.pt", 1), load_flow(tmp_path / "f2.pt", 2)
    lam = d1["calibration_lambda"]
    bkg = anomaly_score(score(f1, f2, lam, test, np.random.default_rng(1)))
    sic = {}
    for m in MASSES:
        for z in ZS:
            sig = anomaly_score(score(f1, f2, lam, toy.simulate_chi(600, m, z, rng), np.random.default_rng(2)))
            sic[(m, z)] = sic_summary(sig, bkg, min_bkg=25)["max_sic"]  # ceiling sqrt(3000/25) = 11
    print({k: round(v, 2) for k, v in sic.items()})
    deep = min(sic[(m, 1.44)] for m in MASSES)
    assert deep > 6  # decays deep inside the calorimeter: the most anomalous
    assert deep >= max(sic.values()) - 0.5
    assert sic[(5.0, 0.33)] > 3  # heavy chi decaying upstream: two blobs
    assert sic[(0.005, 0.33)] < 1.8  # light chi decaying upstream: looks like a photon
    assert sic[(0.005, 1.00)] < 1.8 and sic[(5.0, 1.00)] < 1.8  # decays at the front face: dead zone
