# Shared names, target lists and helpers. Paths: work/{run}/ intermediate, results/{run}/ results.
import hashlib
import json
import os
import sys
from pathlib import Path

from hepad.classifiers import USES_TORCH
from hepad.methods import METHODS
from hepad.windows import resolve_windows

# `hepad` lives next to the python running snakemake (works without activating the venv).
envvars:
    "PATH",


os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")

RUN = config["run"]
WORK = f"work/{RUN}"
RESULTS = f"results/{RUN}"
LOGS = f"logs/{RUN}"
BENCH = f"benchmarks/{RUN}"
R = config["resonant"]
WINDOWS = resolve_windows(R["windows"])
WINDOW_IDS = list(range(len(WINDOWS)))
ENV = "../../envs/hepad.yaml"
POOLS = ["background", "signal_inject", "signal_train", "signal_test", "extra_train", "extra_test"]

wildcard_constraints:
    window=r"\d+",
    nsig=r"\d+",
    seed=r"\d+",
    method="|".join(R["methods"]),


def code_version(*parts):
    """Hash of the package sources a rule runs, so that editing them reruns what they affect."""
    root = Path(workflow.basedir) / "src" / "hepad"
    h = hashlib.sha256()
    for part in parts:
        for f in sorted((root / part).rglob("*.py")) if (root / part).is_dir() else [root / part]:
            h.update(f.read_bytes())
    return h.hexdigest()[:12]


def window_bounds(wc):
    lo, hi = WINDOWS[int(wc.window)]
    return f"{lo} {hi}"


def method_options(method):
    """The method's options: shared classifier, splits and flow, overridden per method."""
    opts = {"classifier": R["classifier"], "val_fraction": R["val_fraction"], "sideband_width": R["cwola_sideband_width"],
            "flow": R["flow"]}
    opts.update(R["method_options"].get(method, {}))
    return opts


def sigma_options():
    """SIGMA's model: the shared flow options, overridden by resonant.sigma.flow, + its embedding."""
    sigma = R["sigma"]
    return {**R["flow"], **sigma.get("flow", {}), "embedding": sigma.get("embedding", {})}


def gpu_request(method):
    """Training asks for a GPU only when it trains a torch model: a flow of its own (ANODE,
    R-ANODE) or an MLP classifier. HGB ensembles are CPU-only; sampling a template is cheap."""
    return int(METHODS[method].trains_flow or USES_TORCH[method_options(method)["classifier"]["kind"]])


def model_path(wc, ext):
    """Trained model of (window, method, nsig, seed). Methods that do not read the mock data
    (supervised) are trained once per window and seed, under n"all", and shared by every n_sig."""
    nsig = wc.nsig if "data" in METHODS[wc.method].needs else "all"
    return f"{WORK}/resonant/models/w{wc.window}/{wc.method}/n{nsig}/s{wc.seed}.{ext}"


def mock_data(wc):
    return f"{WORK}/resonant/data/n{wc.nsig}/s{wc.seed}.h5"


def bkg_flow_path(wc):
    """The sideband flow of (window, nsig, seed), shared by ANODE, CATHODE and R-ANODE."""
    return f"{WORK}/resonant/bkg_flow/w{wc.window}/n{wc.nsig}/s{wc.seed}.pt"


def sigma_path(wc):
    """SIGMA's model of (nsig, seed), shared by every window."""
    return f"{WORK}/resonant/sigma/n{wc.nsig}/s{wc.seed}.pt"


def train_inputs(wc):
    """The inputs of the training job of this method: the samples and shared models in its `needs`."""
    needs = METHODS[wc.method].needs
    paths = {"data": mock_data(wc) if wc.nsig != "all" else None, "extra_bkg": f"{WORK}/samples/extra_train.h5",
             "signal": f"{WORK}/samples/signal_train.h5", "bkg_flow": bkg_flow_path(wc), "sigma": sigma_path(wc)}
    return {k: v for k, v in paths.items() if k in needs and v is not None}


def test_set(wc):
    """The window's test set, or nothing in a k-fold window (the model holds out-of-fold scores)."""
    return f"{WORK}/resonant/test/w{wc.window}.h5" if EVALUATION[int(wc.window)] == "test" else []


def flag(option, inputs, key):
    return f"{option} {inputs[key]}" if key in inputs.keys() else ""


def train_benchmarks(wc):
    """Benchmark files of every training job: methods, sideband flows, SIGMA models."""
    return ([f"{BENCH}/train/w{w}/{m}/n{n}/s{s}.tsv" for w, m, n, s in TRAIN_KEYS]
            + [f"{BENCH}/train_bkg_flow/w{w}/n{n}/s{s}.tsv" for w, n, s in FLOW_KEYS]
            + [f"{BENCH}/train_sigma/n{n}/s{s}.tsv" for n, s in SIGMA_KEYS])


DATA_DIR = config.get("data_dir", "data")


def dataset_path(name):
    """Local path of the public file `name` of resources/datasets.yaml: under `data_dir`, where the
    download rule puts it (or where the user already has it)."""
    return os.path.join(DATA_DIR, name)


def dataset_input(name):
    """dataset_path(name) for an input function; with `download: false` and the file absent it
    stops the DAG with the URL to fetch and the config key to set (hepad.io.download.locate)."""
    path = dataset_path(name)
    if not config["download"] and not os.path.exists(path):
        from hepad.io.download import locate

        locate(name, DATA_DIR, os.path.join(workflow.basedir, config["manifest"]))  # raises: URL, data_dir
    return path


# m_jj range [lo, hi] (TeV) of the extra background, and per window index whether it covers the
# window (IAD training, supervised background, test sets). Real LHCO: only 3.3-3.7 TeV.
_D = config["data"]
EXTRA_RANGE = tuple(_D["toy"]["extra_mjj_range"] if _D["source"] == "toy" else _D["extra_mjj_range"])
HAS_EXTRA = [EXTRA_RANGE[0] - 1e-9 <= lo and hi <= EXTRA_RANGE[1] + 1e-9 for lo, hi in WINDOWS]


# Windows without extra background (real LHCO: all but 3.3-3.7 TeV): methods that need it (IAD,
# supervised) are skipped there; the others are evaluated by k-fold on the window's own events.
EVALUATION = ["test" if has else "kfold" for has in HAS_EXTRA]
SKIPPED = [(w, m) for w in WINDOW_IDS for m in R["methods"]
           if EVALUATION[w] == "kfold" and METHODS[m].needs & {"extra_bkg", "signal"}]
for _w, _m in SKIPPED:
    print(f"hepad: {_m} skipped in window {_w} {list(WINDOWS[_w])} TeV: it needs extra simulated background there, "
          f"and the extra background covers only {list(EXTRA_RANGE)} TeV", file=sys.stderr)
RESONANT_KEYS = [dict(window=w, method=m, nsig=n, seed=s)
                 for w in WINDOW_IDS for m in R["methods"] for n in R["n_sig"] for s in R["seeds"] if (w, m) not in SKIPPED]
# the training jobs behind them (methods that do not read the data are shared by every n_sig)
TRAIN_KEYS = sorted({(k["window"], k["method"], k["nsig"] if "data" in METHODS[k["method"]].needs else "all", k["seed"])
                     for k in RESONANT_KEYS}, key=str)
FLOW_KEYS = sorted({(k["window"], k["nsig"], k["seed"]) for k in RESONANT_KEYS
                    if "bkg_flow" in METHODS[k["method"]].needs})
SIGMA_KEYS = sorted({(k["nsig"], k["seed"]) for k in RESONANT_KEYS if "sigma" in METHODS[k["method"]].needs})
# template validation: every window and template method, at the first n_sig and seed of the scan
VALIDATION_KEYS = [dict(window=w, method=m, nsig=R["n_sig"][0], seed=R["seeds"][0])
                   for w in WINDOW_IDS for m in R["methods"] if hasattr(METHODS[m], "template")]
