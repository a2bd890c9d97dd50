"""R-ANODE's signal fraction w (issue 22, item 4): the training job of a finished default run, rerun
for variants of w, side by side. Per variant and seed: max SIC on the window's test set, the w of
each fold's kept epochs, the best validation loss per fold (what a scan of w would choose by).

    .venv/bin/python bench/ranode_w.py work/default                       # window 2 (3.3-3.7), n_sig 1000
    .venv/bin/python bench/ranode_w.py work/default --variants '{"w": 0.003}' '{"w_lr_scale": 30}'
    .venv/bin/python bench/ranode_w.py work/default --data-seed 0 --variants '{}'   # one data set, 3 training seeds

Inputs: WORK/resonant/data/n{nsig}/s{seed}.h5, bkg_flow/w{window}/n{nsig}/s{seed}.pt, test/w{window}.h5
(the run's own files, read only); the signal flow's options are config/config.yaml's.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("work", type=Path, help="a finished run's work folder (work/default)")
    p.add_argument("--window", type=int, default=2)
    p.add_argument("--nsig", type=int, default=1000)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--data-seed", type=int, default=None,
                   help="train every seed on this seed's mock data and sideband flow: the training's own randomness "
                        "(initial weights, validation split, batch order) alone, without the data's")
    p.add_argument("--variants", nargs="+", default=["{}", '{"w_lr_scale": 30}', '{"w": 0.003}', '{"w": 0.03}'],
                   help="JSON overrides of the R-ANODE options, one per variant ({} = the config's)")
    a = p.parse_args()
    import torch

    from hepad.metrics import max_sic
    from hepad.resonant import steps

    torch.set_num_threads(1)
    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    lo, hi = cfg["resonant"]["windows"][a.window]
    base = cfg["resonant"]["method_options"]["ranode"]
    r = a.work / "resonant"
    data = a.seeds if a.data_seed is None else [a.data_seed] * len(a.seeds)
    paths = [{"data": str(r / f"data/n{a.nsig}/s{s}.h5"), "bkg_flow": str(r / f"bkg_flow/w{a.window}/n{a.nsig}/s{s}.pt")}
             for s in data]
    n = len(a.seeds)
    print(f"R-ANODE, window {a.window} [{lo}, {hi}] TeV, n_sig {a.nsig}, seeds {a.seeds}, data of seeds {data}")
    for variant in a.variants:
        options = {**base, **json.loads(variant)}
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp)
            t0 = time.perf_counter()
            steps.train("ranode", [(lo, hi)] * n, paths, options, a.seeds, "cpu", cfg["resonant"]["kfold"],
                        cfg["resonant"].get("bumphunt", {}).get("fit_width", 0.4), [a.window] * n,
                        {"info": [str(out / f"s{s}.json") for s in a.seeds],
                         "model": [str(out / f"s{s}.pkl") for s in a.seeds]}, str(out / "ckpt"))
            seconds = time.perf_counter() - t0
            steps.score([str(out / f"s{s}.pkl") for s in a.seeds], [str(r / f"test/w{a.window}.h5")] * n,
                        [str(out / f"sc{s}.npz") for s in a.seeds], [{"bkg_flow": q["bkg_flow"]} for q in paths])
            print(f"{variant}: {seconds:.0f} s training")
            for s in a.seeds:
                d, info = np.load(out / f"sc{s}.npz"), json.loads((out / f"s{s}.json").read_text())
                ws = [np.round(f["w"], 4).tolist() for f in info["folds"]]
                val = [round(min(h["val_loss"] for h in f["history"]), 5) for f in info["folds"]]
                print(f"  seed {s}: max SIC {max_sic(d['label'], d['score'], cfg['resonant']['min_bkg']):6.2f}  "
                      f"w {ws}  best val loss {val}", flush=True)


if __name__ == "__main__":
    main()
