"""The default config's CaloFlow on the default toy (the samples of the default run): the heavy chi
decaying 0.67 m upstream (two photons centimetres apart) is found, the front face stays a dead zone.
Trains the default-size flows (slow: measured time in the README, "CaloFlow study").

The target AUC >= 0.98 for the heavy chi upstream is not reached (README: the latent log-likelihood's
energy dependence, not the flow's size or training, limits it): the test fails on a regression of
what holds now and is an expected failure for the target until it is met."""

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from hepad.calo import plan, steps
from hepad.calo.caloflow import anomaly_score, load_flow, score, train_flow
from hepad.calo.preprocessing import sample_seed
from hepad.calo.showers import read_showers
from hepad.calo.studies import sic_summary
from hepad.config import validate_config

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_default_flows_see_two_photons_and_keep_the_dead_zone(tmp_path):
    torch.set_num_threads(1)
    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    validate_config(cfg, ROOT / "workflow" / "schemas" / "config.schema.yaml")  # fills the schema's defaults
    c = cfg["calo"]
    front = [f"chi_m{m:g}_z1" for m in c["masses"]]
    for name in ["photons_train", "photons_test", "chi_m5_z0.33", *front]:  # exactly the default run's samples
        a = plan.toy_args(c, name).split()
        kw = dict(zip(a[::2], a[1::2]))
        steps.generate(kw["--kind"], int(kw["--n"]), int(kw["--seed"]), tmp_path / f"{name}.h5",
                       mass=float(kw["--mass"]) if "--mass" in kw else None, z=float(kw["--z"]) if "--z" in kw else None)
    train = read_showers(tmp_path / "photons_train.h5")
    for which in (1, 2):
        f = c[f"flow{which}"]
        train_flow(which, train, f["flow"], f["train"], c["seed"], tmp_path / f"f{which}.pt",
                   val_fraction=c["val_fraction"], device="cpu")
    (f1, d1), (f2, _) = load_flow(tmp_path / "f1.pt", 1), load_flow(tmp_path / "f2.pt", 2)

    def scored(name):
        s = read_showers(tmp_path / f"{name}.h5")
        with torch.inference_mode():
            sc = score(f1, f2, d1["calibration_lambda"], s, np.random.default_rng(sample_seed(name, c["seed"])))
        return anomaly_score(sc, c["jacobian"])

    bkg = scored("photons_test")
    got = {n: sic_summary(scored(n), bkg, c["min_bkg"]) for n in ["chi_m5_z0.33", *front]}
    print({n: (round(r["auc"], 4), round(r["max_sic"], 2)) for n, r in got.items()})
    assert all(got[n]["max_sic"] < 1.5 for n in front)  # the dead zone at the front face
    heavy = got["chi_m5_z0.33"]
    assert heavy["auc"] > 0.88 and heavy["max_sic"] > max(got[n]["max_sic"] for n in front) + 0.5
    if heavy["auc"] < 0.98:
        pytest.xfail(f"heavy chi at z = 0.33 m: AUC {heavy['auc']:.3f}; target 0.98 (README, CaloFlow study)")
