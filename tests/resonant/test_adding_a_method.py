"""The README's "Adding a method", worked through: a method with a shared background model of its
own is its code plus two registry entries, and then runs through the CLI and the plan unchanged.

Here: `bkg_gauss`, a Gaussian fit of all the mock data's features (one per n_sig and seed, like
SIGMA's model), and `gauss_lr`, which scores log N_SR(x) - log N_bkg(x) with a Gaussian fitted to
the signal-region data. In the package they would live in src/hepad/resonant/background/ and
src/hepad/resonant/methods/; the registry entries are what the test adds with monkeypatch.
"""

import json
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace as W

import numpy as np
import pytest
import yaml

from hepad import metrics
from hepad.cli import main
from hepad.config import validate_config
from hepad.resonant import compute
from hepad.resonant.formats.table import Dijets, write_table
from hepad.resonant.methods import METHODS, Method, WindowInputs
from hepad.resonant.methods.base import Options
from hepad.resonant.plan import ResonantPlan
from hepad.resonant.registry import SHARED_MODELS, SharedModel
from hepad.training import FitResult, write_history

ROOT = Path(__file__).resolve().parents[2]


class Gaussian:
    """A multivariate normal of the 4 features: the shared model (has save / load)."""

    def __init__(self, x: np.ndarray, shrink: float = 0.0):
        self.mean, self.cov = x.mean(0), np.cov(x.T) + shrink * np.eye(x.shape[1])

    def log_prob(self, x: np.ndarray) -> np.ndarray:
        d = x - self.mean
        _, logdet = np.linalg.slogdet(self.cov)
        return -0.5 * (np.einsum("ij,jk,ik->i", d, np.linalg.inv(self.cov), d) + logdet + len(self.mean) * np.log(2 * np.pi))

    def save(self, path) -> None:
        with open(path, "wb") as f:
            np.savez(f, mean=self.mean, cov=self.cov)

    @classmethod
    def load(cls, path, device="cpu") -> "Gaussian":
        g = cls.__new__(cls)
        with np.load(path) as z:
            g.mean, g.cov = z["mean"], z["cov"]
        return g


def train_bkg_gauss(data: Dijets, lo, hi, options, seed, device, job, checkpoint=None, loss_file=None):
    """The shared model's trainer, called by `hepad train-bkg-gauss` (as the registry says)."""
    model = Gaussian(data.x)
    nll = float(-model.log_prob(data.x).mean())
    write_history(loss_file, [dict(epoch=0, train_loss=nll, val_loss=nll, seconds=0.0)])
    return model, FitResult([], [nll], [dict(epoch=0, train_loss=nll, val_loss=nll, seconds=0.0)])


@dataclass
class GaussLROptions(Options):
    shrink: float = 1e-6  # added to the SR covariance's diagonal


class GaussLR(Method):
    name = "gauss_lr"
    needs = frozenset({"data", "bkg_gauss"})
    score_needs = frozenset({"bkg_gauss"})
    Options = GaussLROptions

    def fit(self, win: WindowInputs) -> dict:
        self.sr = Gaussian(win.signal_region(win.data, "data").x, self.options.shrink)
        return {"sr_mean": self.sr.mean.tolist()}

    def score(self, d: Dijets) -> np.ndarray:
        return self.sr.log_prob(d.x) - self.shared["bkg_gauss"].log_prob(d.x)


@pytest.fixture
def registered(monkeypatch):
    """The two registry entries of the new method (in the package: one line each)."""
    monkeypatch.setitem(METHODS, "gauss_lr", GaussLR)
    monkeypatch.setitem(SHARED_MODELS, "bkg_gauss", SharedModel(
        "bkg_gauss", ("nsig", "seed"), f"{__name__}:train_bkg_gauss", lambda r: {}, "Gaussian background",
        "a Gaussian of all the mock data's features", loader=f"{__name__}:Gaussian.load"))


def events(n, seed, signal=False):
    rng = np.random.default_rng(seed)
    m = rng.uniform(3.4, 3.6, n) if signal else rng.uniform(3.0, 4.0, n)
    x = rng.normal(1.5 if signal else 0.0, 0.3 if signal else 1.0, (n, 4))
    return Dijets(m, x, np.full(n, int(signal), np.int8))


def test_new_method_with_its_own_shared_model_runs_through_the_cli(registered, tmp_path):
    data, test = tmp_path / "data.h5", tmp_path / "test.h5"
    write_table(data, Dijets.concat([events(20000, 0), events(300, 1, signal=True)]), attrs={"n_sig": 300, "seed": 0})
    test_set = Dijets.concat([events(20000, 2), events(500, 3, signal=True)])
    write_table(test, test_set[test_set.in_range(3.3, 3.7)])
    shared, model, info, scores = (tmp_path / n for n in ("gauss.npz", "m.pkl", "m.json", "s.npz"))
    assert main(["train-bkg-gauss", "--data", str(data), "--seed", "0", "--model", str(shared),
                 "--losses", str(tmp_path / "gauss.losses.csv"), "--checkpoint", str(tmp_path / "ckpt")]) == 0
    assert main(["train", "--method", "gauss_lr", "--window", "3.3", "3.7", "--window-index", "0", "--data", str(data),
                 "--bkg-gauss", str(shared), "--options", json.dumps({"shrink": 1e-3}), "--seed", "0", "--kfold", "2",
                 "--fit-width", "0.3", "--model", str(model), "--info", str(info), "--data-scores",
                 str(tmp_path / "d.npz"), "--checkpoint", str(tmp_path / "m.ckpt")]) == 0
    assert main(["score", "--model", str(model), "--test", str(test), "--bkg-gauss", str(shared),
                 "--out", str(scores)]) == 0
    with np.load(scores) as z:
        s, label = z["score"], z["label"]
    assert np.isfinite(s).all() and len(s) == len(test_set[test_set.in_range(3.3, 3.7)])
    assert metrics.auc(*metrics.roc(label, s)[:2]) > 0.9  # the signal is the anomaly
    assert [len(fold["sr_mean"]) for fold in json.loads(info.read_text())["folds"]] == [4, 4]


def test_new_method_in_the_plan(registered):
    cfg = yaml.safe_load((ROOT / "config" / "ci.yaml").read_text())
    cfg["resonant"].update(methods=["gauss_lr", "cathode"], method_options={"gauss_lr": {"shrink": 0.01}}, n_sig=[600])
    p = ResonantPlan(validate_config(cfg, ROOT / "workflow" / "schemas" / "config.schema.yaml"))
    wc = W(window=1, method="gauss_lr", nsig=600, seed=0)
    assert p.train_inputs(wc) == {"data": "work/ci/resonant/data/n600/s0.h5",
                                  "bkg_gauss": "work/ci/resonant/bkg_gauss/n600/s0.pt"}
    assert p.score_inputs(wc) == {"bkg_gauss": "work/ci/resonant/bkg_gauss/n600/s0.pt"}
    assert p.shared_keys["bkg_gauss"] == [dict(nsig=600, seed=0), dict(nsig=600, seed=1)]
    assert "benchmarks/ci/train_bkg_gauss/n600/s1.tsv" in p.train_benchmarks()
    assert p.options["gauss_lr"] == {"shrink": 0.01} and p.gpu("gauss_lr") == 0
    assert compute.shared_rules("gauss_lr") == ["train_bkg_gauss"]
