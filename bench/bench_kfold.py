"""The extra cost of fold models: k = 2 fold models against one model on all the data, per method.

    .venv/bin/python bench/bench_kfold.py --work work/default --window 3.3 3.7 --nsig 1000 \
        --methods iad cwola cathode --repeat 2

Reads the files a workflow run made (--work: its work/{run} folder): the mock data of (n_sig, seed 0),
the extra background, and for the density methods the sideband flow of the window (--window-index).
Trains each method with k = 1 (one model on all the data, as before fold models) and k = 2 (two fold
models on half the data each, plus the out-of-fold scores of the fit range and, for template
methods and the IAD, the reference scores), alternating k, --repeat times; prints seconds per
training and the ratio of the medians. Options: those of the workflow config (--config).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import torch
import yaml

from hepad.resonant.kfold import train_folds
from hepad.resonant.plan import method_options
from hepad.resonant.steps import window_inputs


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", required=True, help="work/{run} folder of a workflow run")
    ap.add_argument("--config", default="config/config.yaml")
    ap.add_argument("--window", type=float, nargs=2, required=True, metavar=("LO", "HI"))
    ap.add_argument("--window-index", type=int, default=2)
    ap.add_argument("--nsig", type=int, default=1000)
    ap.add_argument("--methods", nargs="+", default=["iad", "cwola", "cathode"])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    r = yaml.safe_load(open(args.config))["resonant"]
    fit_width = r.get("bumphunt", {}).get("fit_width", 0.4)
    w = args.work
    paths = {"data": f"{w}/resonant/data/n{args.nsig}/s0.h5", "extra_bkg": f"{w}/samples/extra_train.h5",
             "signal": f"{w}/samples/signal_train.h5",
             "bkg_flow": f"{w}/resonant/bkg_flow/w{args.window_index}/n{args.nsig}/s0.pt"}
    print(f"window {args.window} TeV, n_sig {args.nsig}, seed 0, {args.threads} threads; seconds per training")
    for method in args.methods:
        options = method_options(method, r)
        times = {1: [], 2: []}
        for _ in range(args.repeat):
            for k in (1, 2):
                cls, win = window_inputs(method, *args.window, paths, "cpu")
                with tempfile.TemporaryDirectory() as tmp:
                    t0 = time.perf_counter()
                    if k == 1:  # before fold models: one model on all the data
                        cls(options, 0, "cpu", checkpoint=f"{tmp}/ckpt").train(win)
                    else:
                        train_folds(cls, options, "cpu", [win], [0], k, fit_width, f"{tmp}/ckpt")
                    times[k].append(time.perf_counter() - t0)
        m1, m2 = statistics.median(times[1]), statistics.median(times[2])
        print(f"{method:8s} k=1 {' '.join(f'{t:6.1f}' for t in times[1])}   k=2 {' '.join(f'{t:6.1f}' for t in times[2])}"
              f"   k=2 / k=1 = {m2 / m1:.2f}")


if __name__ == "__main__":
    main()
