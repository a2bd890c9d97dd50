"""Building blocks of ANODE, CATHODE, R-ANODE and SIGMA on small inputs (fast): the SR mass
sampling, score mapping, SIGMA's embedding interpolation, R-ANODE's mixture likelihood, the
compute accounting, and the flow-training steps through the CLI (resume after a kill, NaN error,
shared models not copied into method files)."""

import copy
import math
import pickle
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from hepad.cli import main
from hepad.resonant.compute import by_method, read_benchmark, unstack
from hepad.errors import InputError
from hepad.flows import DensityModel
from hepad.flows.embedding import FourierEmbedding, InterpolatedEmbedding
from hepad.flows.mixture import SignalMixture
from hepad.resonant.formats.table import Dijets, write_table
from hepad.resonant.methods import METHODS, WindowInputs
from hepad.resonant.background import sideband
from hepad.resonant.background.density import finite_scores
from hepad.resonant.background.sigma import anchors
from hepad.resonant.background.template import sample_sr_masses

TINY_FLOW = {"num_blocks": 2, "hidden_features": 16, "epochs": 2, "batch_size": 512, "lr": 1e-3, "keep_best": 2}


def toy_data(n=20_000, seed=0) -> Dijets:
    """x | m ~ N(m - 3.5, 0.1^2) in every feature, m uniform in [3, 4] TeV."""
    rng = np.random.default_rng(seed)
    m = rng.uniform(3.0, 4.0, n)
    x = (m - 3.5)[:, None] + 0.1 * rng.standard_normal((n, 4))
    return Dijets(m, x, np.zeros(n, dtype=np.int8))


@pytest.mark.parametrize("how", ["kde", "histogram"])
def test_sr_masses_follow_the_data(how):
    rng = np.random.default_rng(1)
    m_sr = 3.3 + 0.4 * rng.beta(2, 5, 50_000)  # a falling spectrum inside [3.3, 3.7)
    m = sample_sr_masses(m_sr, 3.3, 3.7, 200_000, np.random.default_rng(2), how)
    assert m.min() >= 3.3 and m.max() <= 3.7
    h_data, edges = np.histogram(m_sr, bins=20, range=(3.3, 3.7), density=True)
    h_samp, _ = np.histogram(m, bins=edges, density=True)
    np.testing.assert_allclose(h_samp, h_data, atol=0.15 * h_data.max())
    with pytest.raises(InputError, match="mass_sampling"):
        sample_sr_masses(m_sr, 3.3, 3.7, 10, rng, "spline")


def test_finite_scores_keep_the_ranking():
    s = finite_scores(np.array([0.5, np.inf, -np.inf, np.nan, -2.0]), "t")
    assert np.all(np.isfinite(s))
    assert list(np.argsort(s)) in ([2, 3, 4, 0, 1], [3, 2, 4, 0, 1])
    assert s[1] > 0.5 and s[2] < -2 and s[3] < -2


def test_sigma_embedding_is_linear_between_the_anchors():
    torch.manual_seed(0)
    emb = FourierEmbedding(2.0, 6.0)
    interp = InterpolatedEmbedding(emb, 3.2, 3.8)
    m = torch.tensor([[3.2], [3.5], [3.8], [3.35]])
    h = interp(m)
    h_lo, h_hi = emb(torch.tensor([[3.2], [3.8]]))
    torch.testing.assert_close(h[0], h_lo)
    torch.testing.assert_close(h[2], h_hi)
    torch.testing.assert_close(h[1], 0.5 * (h_lo + h_hi))
    torch.testing.assert_close(h[3], 0.75 * h_lo + 0.25 * h_hi)
    assert not torch.allclose(emb(m)[1], h[1])  # the raw embedding at 3.5 is not what the template uses
    assert anchors(3.3, 3.7, 0.1, {}) == pytest.approx((3.2, 3.8))
    assert anchors(3.3, 3.7, 0.1, {"3.3-3.7": [3.1, 3.9]}) == (3.1, 3.9)
    with pytest.raises(InputError, match="must enclose"):
        anchors(3.3, 3.7, -0.2, {})


def test_ranode_mixture_likelihood():
    from hepad.flows import FlowConfig, build_flow

    torch.manual_seed(0)
    flow = build_flow(FlowConfig(kind="rqs", num_blocks=1, hidden_features=8, batch_norm=False), 2)
    z, logdet, log_pb = torch.randn(5, 2), torch.randn(5), torch.randn(5)
    for learn in (True, False):
        mix = SignalMixture(flow, 0.2, learn)
        assert mix.w == pytest.approx(0.2)
        assert ("theta" in dict(mix.named_parameters())) == learn
        log_ps = flow.log_prob(z) + logdet
        expected = -torch.log(0.2 * log_ps.exp() + 0.8 * log_pb.exp()).mean()
        torch.testing.assert_close(mix.loss([z, logdet, log_pb]), expected)
    # w_lr_scale: the same w and loss, and one Adam step moves logit(w) by ~ scale x lr (Adam's step is lr)
    steps = {}
    for scale in (1.0, 30.0):
        mix = SignalMixture(copy.deepcopy(flow), 0.2, True, scale)
        assert mix.w == pytest.approx(0.2)
        torch.testing.assert_close(mix.loss([z, logdet, log_pb]), expected)
        opt = torch.optim.Adam([mix.theta], lr=1e-3)
        mix.loss([z, logdet, log_pb]).backward()
        opt.step()
        steps[scale] = abs(math.log(mix.w / (1 - mix.w)) - math.log(0.25))
    assert steps[1.0] == pytest.approx(1e-3, rel=0.01) and steps[30.0] == pytest.approx(30e-3, rel=0.01)


def test_compute_accounting_counts_shared_flows(tmp_path):
    def bench(rel, seconds):
        p = tmp_path / "benchmarks" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(f"s\th:m:s\tmax_rss\tcpu_time\n{seconds}\t0:00:01\t100.0\t{seconds / 2}\n")
        return str(p)

    files = [bench(f"train/w{w}/{m}/n500/s0.tsv", t) for w in (0, 1) for m, t in (("cathode", 10), ("sigma", 12))]
    files += [bench(f"train_bkg_flow/w{w}/n500/s0.tsv", 100) for w in (0, 1)]
    files += [bench("train_bkg_flow/w1/n1000/s0.tsv", 100)]  # not used by the jobs above
    files += [bench("train_sigma/n500/s0.tsv", 110), bench("train/w0/supervised/nall/s0.tsv", 5)]
    rows = {r["method"]: r for r in by_method([read_benchmark(f) for f in files])}
    assert rows["cathode"]["total_seconds"] == 2 * 10 + 2 * 100 and rows["cathode"]["n_flows"] == 2
    assert rows["sigma"]["total_seconds"] == 2 * 12 + 110 and rows["sigma"]["n_flows"] == 1
    assert rows["supervised"]["total_seconds"] == 5 and rows["supervised"]["shared_flow"] == ""
    assert read_benchmark(files[0])["cpu_seconds"] == 5
    with pytest.raises(InputError, match="not a training benchmark"):
        read_benchmark(bench("score/w0/iad/n500/s0.tsv", 1))
    # a stacked job (resonant.stack: [window, seed]) is divided equally among its members
    stacked = unstack(read_benchmark(bench("train_bkg_flow/wstack/n500/sstack.tsv", 120)),
                      {"window": ["0", "1"], "seed": ["0", "1", "2"]})
    assert len(stacked) == 6 and {(r["window"], r["seed"]) for r in stacked} == {(w, s) for w in "01" for s in "012"}
    assert all(r["seconds"] == 20 and r["cpu_seconds"] == 10 and r["stack_size"] == 6 for r in stacked)
    rows = {r["method"]: r for r in by_method([read_benchmark(f) for f in files[:4]] + stacked)}
    assert rows["cathode"]["flow_seconds"] == 2 * 20 and rows["cathode"]["n_flows"] == 2  # w0, w1 at seed 0
    with pytest.raises(InputError, match="no --stack values"):
        unstack(read_benchmark(bench("train_bkg_flow/wstack/n500/sstack.tsv", 120)), {"window": ["0"]})


@pytest.fixture(scope="module")
def mock_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "n600_s0.h5"
    write_table(path, toy_data(), attrs={"n_sig": 600, "seed": 0})
    return path


def _train_flow_cli(mock, out, options, extra=()):
    import json

    return ["train-bkg-flow", "--data", str(mock), "--window", "3.3", "3.7", "--options", json.dumps(options),
            "--seed", "3", "--device", "cpu", "--model", str(out), "--losses", str(out) + ".csv",
            "--checkpoint", str(out) + ".ckpt", *extra]


def test_bkg_flow_resumes_after_a_kill_with_the_same_result(mock_file, tmp_path):
    opts = dict(TINY_FLOW, epochs=6, batch_size=256)
    assert main(["--threads", "1", *_train_flow_cli(mock_file, tmp_path / "full.pt", opts)]) == 0
    # the same job, killed after its second checkpoint, then run again
    killed = tmp_path / "killed.pt"
    cmd = [sys.executable, "-m", "hepad", "--threads", "1", *_train_flow_cli(mock_file, killed, opts)]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    for line in proc.stderr:
        if "epoch 2/6" in line:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait()
    assert proc.returncode == -signal.SIGKILL and not killed.exists()
    assert (tmp_path / "killed.pt.ckpt").exists()
    time.sleep(0.1)
    assert main(["--threads", "1", *_train_flow_cli(mock_file, killed, opts)]) == 0
    assert not (tmp_path / "killed.pt.ckpt").exists()  # removed once the model is written
    a, b = DensityModel.load(tmp_path / "full.pt"), DensityModel.load(killed)
    x = toy_data(500, seed=9)
    np.testing.assert_array_equal(a.log_prob(x.x, x.mjj), b.log_prob(x.x, x.mjj))
    assert (tmp_path / "full.pt.csv").read_text().splitlines()[1:] != []
    for f in ("full.pt.csv", "killed.pt.csv"):  # same losses; the time column differs
        assert [ln.split(",")[:3] for ln in (tmp_path / f).read_text().splitlines()] == \
               [ln.split(",")[:3] for ln in (tmp_path / "full.pt.csv").read_text().splitlines()]


def test_diverging_flow_names_window_nsig_and_seed(mock_file, tmp_path, capsys):
    out = tmp_path / "bad.pt"
    rc = main(_train_flow_cli(mock_file, out, dict(TINY_FLOW, lr=1e12, epochs=3)))
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert rc == 2 and not out.exists()
    assert err.startswith("error: bkg_flow SR [3.3, 3.7] TeV n_sig 600 seed 3: loss is not finite"), err


def test_shared_flow_is_not_copied_into_the_method_file(mock_file, tmp_path):
    data = toy_data()
    flow, _ = sideband.train(data, 3.3, 3.7, TINY_FLOW, 0, "cpu", "bkg")
    win = WindowInputs(3.3, 3.7, data, models={"bkg_flow": flow})
    m = METHODS["anode"]({"flow": TINY_FLOW}, seed=0, device="cpu")
    m.train(win)
    blob = pickle.dumps(m)
    again = pickle.loads(blob)
    assert not hasattr(again, "shared") and b"DensityModel" in pickle.dumps(m.sr_flow)
    assert len(blob) < 0.7 * len(pickle.dumps(m.sr_flow)) + len(pickle.dumps(flow))  # the flow is not in it
    with pytest.raises(InputError, match="anode: scoring needs the bkg_flow model"):
        again.attach({})
    again.attach({"bkg_flow": flow})
    sr = data[data.in_range(3.3, 3.7)]
    np.testing.assert_array_equal(again.score(sr), m.score(sr))


class Memorizer(METHODS["cwola"]):
    """Scores 1 for an event it was trained on, 0 otherwise: out-of-fold scores must all be 0."""

    def fit(self, win):
        self.seen = set(win.data.mjj.tolist())  # every event it was given

    def score(self, d):
        return np.array([float(m in self.seen) for m in d.mjj])


def test_kfold_scores_every_fit_range_event_out_of_fold():
    """Every data event of the fit range is scored by a fold model that never saw it (a memoriser
    scores 0 there), the SR part is the window's evaluation; two members in one job."""
    from hepad.resonant.kfold import train_folds

    data = toy_data(5_000)
    data.label[::50] = 1
    win, narrow = WindowInputs(3.3, 3.7, data), WindowInputs(3.4, 3.6, data)
    out = train_folds(Memorizer, {}, "cpu", [win, narrow], [1, 2], 5, 0.2, "unused.ckpt")
    for t, w in zip(out, (win, narrow)):
        fit = data.in_range(w.lo - 0.2, w.hi + 0.2)
        sr = data.in_range(w.lo, w.hi)
        assert len(t.data_scores["score"]) == fit.sum() and np.all(t.data_scores["score"] == 0)
        assert len(t.sr_scores) == sr.sum() and np.all(t.sr_scores == 0)
        np.testing.assert_array_equal(np.sort(t.sr_events.mjj), np.sort(data.mjj[sr]))
        assert t.sr_events.label.sum() == data.label[sr].sum() and t.info["kfold"] == 5
        assert t.data_scores["route"] == "fit" and len(t.models.models) == 5
        # the test set is scored by the mean of the folds: each fold saw 4/5 of the SR events
        np.testing.assert_allclose(t.models.score(data[sr]), 0.8)

class TemplateMemorizer(METHODS["cathode"]):
    """A template method with a counted template draw (x ~ N(0, 1)) that scores 1 for a template event
    it trained on: each fold's reference must be events it never trained on (all 0)."""

    draws = 0

    def template(self, win, sr):
        TemplateMemorizer.draws += 1
        rng = np.random.default_rng(self.seed)
        n = 4 * len(sr)
        return Dijets(rng.uniform(win.lo, win.hi, n), rng.standard_normal((n, 4)), np.full(n, -1, dtype=np.int8))

    def fit(self, win):
        pos, neg, _ = self.samples(win)
        self.n_template = len(neg)
        self.seen = set(neg.x[:, 0].tolist())

    def score(self, d):
        return np.array([float(v in self.seen) for v in d.x[:, 0]])


def test_kfold_template_is_drawn_once_and_each_reference_is_held_out():
    """Template methods: one template per (window, seed), split into folds like the data; fold i trains
    on oversampling x its SR data and its reference is the template events it never trained on."""
    from hepad.resonant.kfold import train_folds

    data = toy_data(5_000)
    win = WindowInputs(3.3, 3.7, data)
    TemplateMemorizer.draws = 0
    (t,) = train_folds(TemplateMemorizer, {}, "cpu", [win], [3], 2, 0.2, "unused.ckpt")
    assert TemplateMemorizer.draws == 1
    n_sr = int(data.in_range(3.3, 3.7).sum())
    ref = t.data_scores["reference_score"]
    assert len(ref) == 4 * n_sr  # the two references: the whole template, once
    for m in t.models.models:  # each fold trained on about half of the template: 4 x its half of the SR
        assert abs(m.n_template - 2 * n_sr) < 0.1 * n_sr
    # data scores are CDFs of the fold's reference: 1 everywhere only if no reference event scored 1,
    # i.e. none of them was in that fold's training
    np.testing.assert_array_equal(t.data_scores["score"], 1.0)
