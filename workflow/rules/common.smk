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
    """The method's options: shared classifier and splits, overridden per method."""
    opts = {"classifier": R["classifier"], "val_fraction": R["val_fraction"], "sideband_width": R["cwola_sideband_width"]}
    opts.update(R["method_options"].get(method, {}))
    return opts


def gpu_request(method):
    """Training asks for a GPU only when it trains a torch model (HGB ensembles are CPU-only)."""
    return int(USES_TORCH[method_options(method)["classifier"]["kind"]])


def model_path(wc, ext):
    """Trained model of (window, method, nsig, seed). Methods that do not read the mock data
    (supervised) are trained once per window and seed, under n"all", and shared by every n_sig."""
    nsig = wc.nsig if "data" in METHODS[wc.method].needs else "all"
    return f"{WORK}/resonant/models/w{wc.window}/{wc.method}/n{nsig}/s{wc.seed}.{ext}"


def mock_data(wc):
    return f"{WORK}/resonant/data/n{wc.nsig}/s{wc.seed}.h5"


RESONANT_KEYS = [dict(window=w, method=m, nsig=n, seed=s)
                 for w in WINDOW_IDS for m in R["methods"] for n in R["n_sig"] for s in R["seeds"]]


DATA_DIR = config.get("data_dir", "data")


def dataset_path(name):
    """Local path of the public file `name` of resources/datasets.yaml: under `data_dir`, where the
    download rule puts it (or where the user already has it)."""
    return os.path.join(DATA_DIR, name)
