"""The default config's CaloFlow on its own toy samples (the default run's seeds and sizes, through the
rules' commands): the heavy chi decaying 0.67 m upstream, whose two photons land centimetres apart,
is found, and the front face stays a dead zone (issue 13)."""

import json
import shlex
from pathlib import Path

import numpy as np
import pytest
import yaml

from hepad.calo import plan
from hepad.calo.caloflow import anomaly_score
from hepad.calo.studies import sic_summary
from hepad.cli import main
from hepad.config import validate_config

ROOT = Path(__file__).resolve().parents[2]


def _hepad(*argv: str) -> None:
    assert main(["--threads", "2", *argv]) == 0, argv


@pytest.mark.slow
def test_default_flows_see_two_photons_and_keep_the_dead_zone(tmp_path):
    cfg = validate_config(yaml.safe_load((ROOT / "config" / "config.yaml").read_text()),
                          ROOT / "workflow" / "schemas" / "config.schema.yaml")
    c = cfg["calo"]
    assert c["source"] == "toy" and 5.0 in c["masses"] and {0.33, 1.0} <= set(c["displacements"])
    heavy_upstream = "chi_m5_z0.33"
    front = [f"chi_m{m:g}_z1" for m in c["masses"]]
    for name in ("photons_train", "photons_test", heavy_upstream, *front):
        _hepad("calo-toy", *shlex.split(plan.toy_args(c, name)), "--out", str(tmp_path / f"{name}.h5"))
    for k in (1, 2):
        _hepad("calo-train-flow", "--flow", str(k), "--photons", str(tmp_path / "photons_train.h5"),
               "--flow-config", json.dumps(c[f"flow{k}"]["flow"]), "--train-config", json.dumps(c[f"flow{k}"]["train"]),
               "--val-fraction", str(c["val_fraction"]), "--seed", str(c["seed"]), "--device", "cpu",
               "--model", str(tmp_path / f"flow{k}.pt"), "--losses", str(tmp_path / f"flow{k}.csv"))
    score = {}
    for name in ("photons_test", heavy_upstream, *front):
        _hepad("calo-score", "--flow1", str(tmp_path / "flow1.pt"), "--flow2", str(tmp_path / "flow2.pt"),
               "--showers", str(tmp_path / f"{name}.h5"), "--name", name, "--seed", str(c["seed"]),
               "--batch-size", str(c["score_batch_size"]), "--out", str(tmp_path / f"{name}.npz"))
        with np.load(tmp_path / f"{name}.npz") as f:
            score[name] = anomaly_score(f, c["jacobian"])
    sic = {n: sic_summary(score[n], score["photons_test"], c["min_bkg"]) for n in (heavy_upstream, *front)}
    print({n: (round(s["auc"], 3), round(s["max_sic"], 2)) for n, s in sic.items()})
    assert sic[heavy_upstream]["auc"] >= 0.98  # two photons centimetres apart: anomalous
    assert all(sic[n]["max_sic"] < 1.5 for n in front)  # decays at the front face look like one photon
