"""SIGMA vs CATHODE: total training time for a 9-window scan at equal architecture and epochs.

    .venv/bin/python bench/bench_sigma.py --events 200000 --epochs 1 --threads 2

CATHODE trains one sideband flow per window (9) and then, per window, samples its template and
fits the classifier; SIGMA trains one model of all events and then does the same per window
(template from the interpolated embedding, same classifier). Toy events from hepad.resonant.toy
(1M background in the R&D file; --events sets how many are used). Prints seconds per step,
the totals and SIGMA / CATHODE (goal: <= 1/5), for the flows alone and with the classifiers.
"""

from __future__ import annotations

import argparse
import time

import torch

from hepad.resonant.formats.features import lhco_to_dijets
from hepad.resonant.methods import METHODS, WindowInputs
from hepad.resonant.background import sideband, sigma as sigma_model
from hepad.resonant.plan import method_options
from hepad.resonant.toy import generate_events
from hepad.resonant.windows import PRESETS, resolve_windows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=200_000, help="toy events (background + 0.1 %% signal)")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--blocks", type=int, default=15, help="MADE blocks (paper: 15)")
    ap.add_argument("--hidden", type=int, default=128, help="MADE width (paper: 128)")
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--hgb-models", type=int, default=1, help="classifier ensemble size (papers: 50)")
    ap.add_argument("--windows", default="lhco9", choices=list(PRESETS))
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    raw = generate_events(args.events, max(args.events // 1000, 1), seed=5)
    data = lhco_to_dijets(raw[:, :14], raw[:, 14])
    flow = {"num_blocks": args.blocks, "hidden_features": args.hidden, "epochs": args.epochs,
            "batch_size": args.batch_size, "lr": 1e-4, "weight_decay": 1e-6, "keep_best": 1}
    resonant = {"classifier": {"kind": "hgb", "n_models": args.hgb_models, "max_iter": 200}, "val_fraction": 0.5}
    windows = resolve_windows(args.windows)
    print(f"{len(data):,} events, {len(windows)} windows, flow {args.blocks} x {args.hidden}, {args.epochs} epoch(s), "
          f"batch {args.batch_size}, {torch.get_num_threads()} threads, device {args.device}")

    t = time.perf_counter()
    sigma, _ = sigma_model.train(data, None, None, flow, 0, args.device, "sigma")
    sigma_flow = time.perf_counter() - t
    print(f"SIGMA model (all {len(data):,} events): {sigma_flow:.1f} s")
    cost = {"cathode": [0.0, 0.0], "sigma": [sigma_flow, 0.0]}  # [flows, template + classifier]
    for lo, hi in windows:
        t = time.perf_counter()
        bkg, _ = sideband.train(data, lo, hi, flow, 0, args.device, "bkg_flow")
        t_flow = time.perf_counter() - t
        cost["cathode"][0] += t_flow
        win = WindowInputs(lo, hi, data, models={"bkg_flow": bkg, "sigma": sigma})
        line = f"[{lo}, {hi}] TeV: sideband flow {t_flow:.1f} s"
        for method in ("cathode", "sigma"):
            t = time.perf_counter()
            METHODS[method](method_options(method, resonant), seed=0, device=args.device).train(win)
            cost[method][1] += time.perf_counter() - t
            line += f", {method} template + classifier {time.perf_counter() - t:.1f} s"
        print(line)
    for what, i in (("flows only", [0]), ("flows + templates + classifiers", [0, 1])):
        c, s = (sum(cost[m][j] for j in i) for m in ("cathode", "sigma"))
        print(f"{what}: CATHODE {c:.1f} s, SIGMA {s:.1f} s, SIGMA / CATHODE = {s / c:.3f}")
    # flows scale with the number of epochs, templates and classifiers do not
    k = 100 / args.epochs
    c, s = (cost[m][0] * k + cost[m][1] for m in ("cathode", "sigma"))
    print(f"extrapolated to 100 epochs (the papers): CATHODE {c:.0f} s, SIGMA {s:.0f} s, SIGMA / CATHODE = {s / c:.3f}")


if __name__ == "__main__":
    main()
