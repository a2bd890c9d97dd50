"""hepad.resonant.plan: what the rules are given, computed from the config (no snakemake needed)."""

from pathlib import Path
from types import SimpleNamespace as W

import pytest
import yaml

from hepad.config import validate_config
from hepad.resonant.plan import ResonantPlan, method_options

ROOT = Path(__file__).resolve().parents[2]


def plan(name="ci.yaml", **resonant):
    """The plan of config/`name` with `resonant` keys replaced (n_sig: [600] unless given)."""
    cfg = yaml.safe_load((ROOT / "config" / name).read_text())
    cfg["resonant"].update({"n_sig": [600], **resonant})
    return ResonantPlan(validate_config(cfg, ROOT / "workflow" / "schemas" / "config.schema.yaml"))


def test_windows_without_extra_background_are_kfold_and_skip_iad_and_supervised():
    p = plan()  # ci: extra background in [3.25, 3.75]; windows [3.1, 3.5] and [3.3, 3.7]
    assert p.evaluation == ["kfold", "test"]
    assert p.skipped == [(0, "iad"), (0, "supervised")]
    assert p.window_pattern("kfold") == "0" and p.window_pattern("test") == "1"
    assert len(p.keys) == (5 + 7) * 1 * 2  # (methods in window 0 + in window 1) x n_sig x seeds
    assert p.skipped_lines() == [
        f"hepad: {m} skipped in window 0 [3.1, 3.5] TeV: it needs extra simulated background there, and the extra "
        "background covers only [3.25, 3.75] TeV" for m in ("iad", "supervised")]
    everywhere = plan(windows=[[3.3, 3.7]])
    assert everywhere.skipped == [] and everywhere.window_pattern("kfold") == "(?!)"


def test_supervised_is_trained_once_for_every_nsig():
    p = plan(n_sig=[300, 600])
    sup = [k for k in p.train_keys if k[1] == "supervised"]
    assert sup == [(1, "supervised", "all", 0), (1, "supervised", "all", 1)]
    assert p.model(W(window=1, method="supervised", nsig=600, seed=1), "pkl").endswith(
        "work/ci/resonant/models/w1/supervised/nall/s1.pkl")
    assert (1, "iad", 300, 0) in p.train_keys and (1, "iad", 600, 0) in p.train_keys


def test_train_inputs_follow_the_methods_needs():
    p = plan()
    wc = lambda m, nsig=600: W(window=1, method=m, nsig=nsig, seed=0)  # noqa: E731
    assert p.train_inputs(wc("cathode")) == {"data": "work/ci/resonant/data/n600/s0.h5",
                                             "bkg_flow": "work/ci/resonant/bkg_flow/w1/n600/s0.pt"}
    assert p.train_inputs(wc("sigma")) == {"data": "work/ci/resonant/data/n600/s0.h5",
                                           "sigma": "work/ci/resonant/sigma/n600/s0.pt"}
    assert p.train_inputs(wc("supervised", "all")) == {"extra_bkg": "work/ci/samples/extra_train.h5",
                                                       "signal": "work/ci/samples/signal_train.h5"}
    assert set(p.train_inputs(wc("iad"))) == {"data", "extra_bkg"}
    assert p.score_inputs(wc("ranode")) == {"bkg_flow": "work/ci/resonant/bkg_flow/w1/n600/s0.pt"}
    assert p.score_inputs(wc("cathode")) == {}


def test_shared_models_are_trained_once_per_their_wildcards():
    p = plan(stack=[])  # one job per model
    assert p.shared_keys["bkg_flow"] == [dict(window=w, nsig=600, seed=s) for w in (0, 1) for s in (0, 1)]
    assert p.shared_keys["sigma"] == [dict(nsig=600, seed=s) for s in (0, 1)]  # every window
    assert "sigma=work/ci/resonant/sigma/n600/s1.losses.csv" in p.loss_files()
    bench = p.train_benchmarks()
    assert "benchmarks/ci/train_kfold/w0/cwola/n600/s0.tsv" in bench  # k-fold window
    assert "benchmarks/ci/train/w1/supervised/nall/s1.tsv" in bench
    assert "benchmarks/ci/train_bkg_flow/w0/n600/s1.tsv" in bench and "benchmarks/ci/train_sigma/n600/s0.tsv" in bench
    assert len(bench) == len(p.train_keys) + 4 + 2
    only_iad = plan(methods=["iad"])
    assert only_iad.shared_keys == {"bkg_flow": [], "sigma": []} and only_iad.loss_files() == []
    assert only_iad.validation_keys == []


def test_method_options_take_only_their_fields():
    r = {"classifier": {"kind": "hgb"}, "val_fraction": 0.4, "cwola_sideband_width": 0.15, "flow": {"epochs": 2},
         "method_options": {"ranode": {"w": "true"}, "cathode": {"oversampling": 2}}}
    assert method_options("cwola", r) == {"classifier": {"kind": "hgb"}, "val_fraction": 0.4, "sideband_width": 0.15}
    assert method_options("anode", r) == {"flow": {"epochs": 2}}
    assert method_options("ranode", r) == {"w": "true"}
    assert method_options("cathode", r)["oversampling"] == 2 and "sideband_width" not in method_options("cathode", r)


def test_gpu_only_for_torch_training():
    p = plan()  # ci: HGB classifiers, supervised with the MLP
    assert [p.gpu(m) for m in ("iad", "cathode", "anode", "ranode", "supervised")] == [0, 0, 1, 1, 1]


@pytest.mark.parametrize("edit,match", [
    (dict(methods=["iad", "cathod"]), "resonant.methods: 'cathod' is not a method"),
    (dict(method_options={"cwola": {"sideband_widht": 0.1}}), "resonant.method_options.cwola.sideband_widht: unknown"),
])
def test_plan_errors_name_the_key(edit, match):
    with pytest.raises(Exception, match=match):
        plan(**edit)


def test_stacked_shared_models_one_job_one_file_per_model():
    p = plan(stack=["window", "seed"])
    assert p.shared_job("bkg_flow") == "wstack/n{nsig}/sstack"
    assert p.shared_outputs("bkg_flow", "pt") == [f"work/ci/resonant/bkg_flow/w{w}/n{{nsig}}/s{s}.pt"
                                                  for w in (0, 1) for s in (0, 1)]
    data, window, seeds = p.shared_job_args("bkg_flow")
    wc = W(nsig=600)
    assert data(wc) == [f"work/ci/resonant/data/n600/s{s}.h5" for _ in (0, 1) for s in (0, 1)]
    assert window(wc) == "--window 3.1 3.5 3.1 3.5 3.3 3.7 3.3 3.7" and seeds(wc) == "0 1 0 1"
    bench = p.train_benchmarks()
    assert bench.count("benchmarks/ci/train_bkg_flow/wstack/n600/sstack.tsv") == 1
    assert not any("train_bkg_flow/w0" in b for b in bench)
    # a method's jobs: test-set windows (train) and k-fold windows (train_kfold) apart
    assert p.stack_values() == ("train:window=1 train:seed=0,1 train_kfold:window=0 train_kfold:seed=0,1 "
                                "train_bkg_flow:window=0,1 train_bkg_flow:seed=0,1 train_sigma:window=0,1 "
                                "train_sigma:seed=0,1")
    # SIGMA's model has no window: stacked over the seeds only
    assert p.shared_job("sigma") == "n{nsig}/sstack" and p.shared_outputs("sigma", "pt") == [
        "work/ci/resonant/sigma/n{nsig}/s0.pt", "work/ci/resonant/sigma/n{nsig}/s1.pt"]
    assert p.shared_job_args("sigma")[1](W(nsig=600)) == ""  # no --window
    unstacked = plan(stack=[])
    assert unstacked.shared_job("bkg_flow") == "w{window}/n{nsig}/s{seed}" and unstacked.stack_values() == ""


def test_method_jobs_group_the_stacked_windows_and_seeds():
    """resonant.stack [window, seed]: one training job per (method, n_sig) and evaluation (test-set
    windows, k-fold windows); one scoring job per (method, n_sig)."""
    mlp = {"kind": "mlp", "hidden": [8], "epochs": 2}
    p = plan(stack=["window", "seed"], windows=[[3.1, 3.5], [3.3, 3.7], [3.35, 3.65]], classifier=mlp)
    assert p.evaluation == ["kfold", "test", "test"]
    assert p.method_job() == "wstack/{method}/n{nsig}/sstack"
    job = W(method="ranode", nsig=600)
    assert [(m.window, m.seed) for m in p.method_members(job)] == [(1, 0), (1, 1), (2, 0), (2, 1)]
    assert [(m.window, m.seed) for m in p.method_members(job, "kfold")] == [(0, 0), (0, 1)]
    assert p.method_outputs("m/w{window}/{method}/n{nsig}/s{seed}.pkl", "kfold") == [
        "m/w0/{method}/n{nsig}/s0.pkl", "m/w0/{method}/n{nsig}/s1.pkl"]
    args = p.train_job_args("test")
    assert args["inputs"](job)["bkg_flow"] == [f"work/ci/resonant/bkg_flow/w{w}/n600/s{s}.pt"
                                               for w in (1, 2) for s in (0, 1)]
    assert args["window"](job) == "3.3 3.7 3.3 3.7 3.35 3.65 3.35 3.65" and args["seeds"](job) == "0 1 0 1"
    assert args["index"](job) == "1 1 2 2" and (args["k"], args["fit_width"]) == (2, 0.4)
    one = p.train_job_args(None)  # supervised: one model per job
    assert "inputs" not in one and one["window"](W(window=1, method="supervised", seed=1)) == "3.3 3.7"
    score = p.stack_score_inputs(W(method="supervised", nsig=600))
    assert score["model"][0] == "work/ci/resonant/models/w1/supervised/nall/s0.pkl" and len(score["test"]) == 4
    bench = p.train_benchmarks()
    assert "benchmarks/ci/train/wstack/anode/n600/sstack.tsv" in bench
    assert "benchmarks/ci/train_kfold/wstack/cwola/n600/sstack.tsv" in bench
    assert len([b for b in bench if "/anode/" in b]) == 2  # test-set windows and k-fold windows
    assert "benchmarks/ci/train/wstack/iad/n600/sstack.tsv" in bench  # HGB methods: one job too
    assert "benchmarks/ci/train/w2/supervised/nall/s1.tsv" in bench
    only_seed = plan(stack=["seed"])
    assert only_seed.method_job() == "w{window}/{method}/n{nsig}/sstack"
    assert [(m.window, m.seed) for m in only_seed.method_members(W(window=1, method="anode", nsig=600))] == [
        (1, 0), (1, 1)]


def test_what_the_config_alone_decides_is_refused_before_any_job():
    """Issue 23: every (window, method) skipped, and n_sig beyond the toy's injectable signal, are
    one-line config errors at start-up, not a run that trains nothing or fails after the toy."""
    from hepad.errors import InputError

    with pytest.raises(InputError, match=r"^config: resonant: nothing to train: every method of resonant.methods "
                       r"\(iad, supervised\) needs extra simulated background in its window, and it covers only "
                       r"\[3.25, 3.75\] TeV; expected a window inside that range, or a method that needs none "
                       r"\(cwola, anode, cathode, ranode, sigma\)$"):
        plan(windows=[[6.0, 6.4]], methods=["iad", "supervised"])
    assert plan(windows=[[6.0, 6.4]], methods=["iad", "cwola"]).skipped == [(0, "iad")]  # cwola is left: a run
    # ci.yaml: toy n_signal 20000, inject fraction 0.5 of 0.5 + 0.3 + 0.2
    with pytest.raises(InputError, match=r"^config: resonant.n_sig: 50000 exceeds the 10000 signal events the toy "
                       r"can inject \(data.toy.n_signal 20000 x samples.signal_fractions.inject 0.5\); expected at most "
                       r"10000$"):
        plan(n_sig=[0, 50000])
    assert plan(n_sig=[0, 10000]).r["n_sig"] == [0, 10000]


def test_the_template_route_without_enough_seeds_is_said_at_start_up():
    line, = plan(n_sig=[0, 600]).calibration_lines()  # ci.yaml: 2 seeds
    assert line.startswith("hepad: bump hunt: the template route cannot be calibrated with 2 seed(s)")
    assert plan(n_sig=[0, 600], seeds=[0, 1, 2]).calibration_lines() == []
    assert plan(n_sig=[600]).calibration_lines() == []  # no n_sig = 0 runs: no calibration planned
