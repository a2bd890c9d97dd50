"""The paper scan (config/paper.yaml) projected in GPU-hours per rule, from training steps timed here.

    .venv/bin/python bench/gpu_projection.py --device cuda            # what bench/gpu.sh runs
    .venv/bin/python bench/gpu_projection.py --device cpu --steps 2   # the same on a CPU (a check; slow)

Times one training step of every model stack the paper scan trains, at its paper size and at the
stack size K of its jobs (resonant.stack [seed]: 10 seeds, x kfold folds for a method's own models),
on --device: the sideband flow (K = 10), SIGMA's flow with its m_jj embedding (K = 10), ANODE's SR
flow (K = 50), R-ANODE's RQS signal flow (K = 50, unconditional over m_jj and the 4 features), both
CaloFlow flows (batch 200). The HGB classifiers run on the CPU (sklearn has no GPU): one ensemble
member is fitted on toy SR events of two sizes, no signal (early stopping as at small n_sig), and
its seconds scaled linearly in the events; they are CPU-hours at --threads.
Events per model: the R&D size (1M background) spread over m_jj as the toy's spectrum (which follows
the R&D file's); epochs, batch, validation split, folds, ensemble sizes from config/paper.yaml.
Projected hours = steps per member x seconds per stack step x jobs: training steps only (validation
passes, template sampling, scoring and I/O come on top), stated as a projection.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads OpenMP: see hepad.cli

import numpy as np
import torch
import yaml

from hepad.flows import FlowConfig
from hepad.flows.embedding import FourierEmbedding
from hepad.flows.stacked import StackedFlow
from hepad.stacking import fit_stack
from hepad.training import TrainConfig, resolve_device

ROOT = Path(__file__).resolve().parents[1]
N_BACKGROUND = 1_000_000  # QCD events of the R&D file: the mock data of every run
FLOW_KEYS = ("kind", "num_blocks", "hidden_features", "made_layers", "num_bins", "batch_norm")


def sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def timed(step, dev: torch.device, steps: int, warmup: int = 2) -> float:
    """Median seconds of `step()` over `steps` calls after `warmup` untimed ones."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        sync(dev)
        t = time.perf_counter()
        step()
        sync(dev)
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def flow_step(cfg: FlowConfig, features: int, context: int, k: int, batch: int, dev, steps: int,
              embedding: FourierEmbedding | None = None) -> float:
    """Seconds per step of a stack of k flows in hepad.stacking.fit_stack (each member its own batch
    of `batch` events; one epoch of `steps` steps after a warm-up epoch; its validation pass included)."""
    gen = torch.Generator().manual_seed(0)

    def events(n):
        x = torch.randn(n, features, generator=gen)
        return [x] if not context else [x, 3.0 + torch.rand(n, context, generator=gen)]

    stack = StackedFlow(cfg, features, context, k, embedding).init_from_seeds(list(range(k)))
    tc = TrainConfig(epochs=1, batch_size=batch, keep_best=1, lr=1e-4, device=str(dev))
    val = [events(batch)] * k

    def epoch(n_steps):
        train = [events(n_steps * batch) for _ in range(k)]
        return fit_stack(stack, train, val, tc, seeds=list(range(k)))[0].history[0]["seconds"]

    epoch(2)
    return epoch(steps) / steps


def calo_step(which: int, dev, steps: int) -> float:
    """Seconds of one training step of the paper's Flow-I or Flow-II at batch 200 (toy photons)."""
    from hepad.calo import preprocessing as pp
    from hepad.calo import toy
    from hepad.calo.caloflow import PAPER, make_flow
    from hepad.flows.maf import nll_loss

    torch.manual_seed(0)
    f = pp.features(toy.simulate_background(200, np.random.default_rng(0)), np.random.default_rng(1))
    x, c = (torch.as_tensor(f[k], dtype=torch.float32, device=dev) for k in (f"x{which}", f"c{which}"))
    flow = make_flow(which, PAPER[which]).to(dev).train()
    opt = torch.optim.Adam(flow.parameters(), lr=1e-4)
    loss_fn = nll_loss()

    def step():
        loss = loss_fn(flow, [x, c])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return timed(step, dev, steps)


def hgb_cost(max_iter: int, validation_fraction: float, n_fit=(20_000, 80_000)):
    """seconds(n): one HGB ensemble member on n events, linear in n through fits at the sizes n_fit
    (toy background events, random labels: data against a background template, nothing to find)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    from hepad.resonant.formats.features import lhco_to_dijets
    from hepad.resonant.toy import generate_background

    raw = generate_background(max(n_fit), seed=7)
    x = lhco_to_dijets(raw[:, :14], raw[:, 14]).x
    cost = []
    for n in n_fit:
        y = np.random.default_rng(n).random(n) < 0.5
        t = time.perf_counter()
        HistGradientBoostingClassifier(max_iter=max_iter, early_stopping=True, validation_fraction=validation_fraction,
                                       random_state=0).fit(x[:n], y)
        cost.append(time.perf_counter() - t)
    slope = (cost[1] - cost[0]) / (n_fit[1] - n_fit[0])
    print(f"  HGB member (CPU)       {cost[0]:.2f} s on {n_fit[0]:,} events, {cost[1]:.2f} s on {n_fit[1]:,}")
    return lambda n: max(cost[0] + slope * (n - n_fit[0]), cost[0] * n / n_fit[0])


def event_counter():
    """count(lo, hi): the R&D file's background events in [lo, hi) TeV of m_jj, from the toy's spectrum."""
    from hepad.resonant.formats.features import lhco_to_dijets
    from hepad.resonant.toy import generate_background

    raw = generate_background(200_000, seed=3)
    mjj = lhco_to_dijets(raw[:, :14], raw[:, 14]).mjj
    return lambda lo, hi: N_BACKGROUND * float(((mjj >= lo) & (mjj < hi)).mean())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", type=Path, default=ROOT / "config" / "paper.yaml")
    ap.add_argument("--device", default="cuda", choices=["cpu", "cuda"])
    ap.add_argument("--threads", type=int, default=4, help="CPU threads (torch on --device cpu; the HGB fits)")
    ap.add_argument("--steps", type=int, default=10, help="timed steps per model kind")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    dev = resolve_device(args.device)
    cfg = yaml.safe_load(args.config.read_text())
    r, calo = cfg["resonant"], cfg.get("calo")
    from hepad.resonant.windows import resolve_windows

    windows = resolve_windows(r["windows"])
    n_nsig, n_seed, kfold = len(r["n_sig"]), len(r["seeds"]), r["kfold"]
    flow = r["flow"]
    fcfg = FlowConfig(**{k: flow[k] for k in FLOW_KEYS if k in flow})
    rn = {**flow, **r["method_options"]["ranode"]["signal_flow"]}
    rcfg = FlowConfig(**{k: rn[k] for k in FLOW_KEYS if k in rn})
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"cpu, {torch.get_num_threads()} threads"
    print(f"device {dev} ({name}), torch {torch.__version__}, {args.steps} timed steps per model kind; "
          f"config {args.config.name}: {len(windows)} windows, {n_nsig} n_sig, {n_seed} seeds, k = {kfold}")

    k_shared, k_own = n_seed, n_seed * kfold
    t0 = time.perf_counter()
    step = {
        "sideband flow": flow_step(fcfg, 4, 1, k_shared, flow["batch_size"], dev, args.steps),
        "SIGMA flow": flow_step(fcfg, 4, 1, k_shared, flow["batch_size"], dev, args.steps, FourierEmbedding(2.5, 6.0)),
        "ANODE SR flow": flow_step(fcfg, 4, 1, k_own, flow["batch_size"], dev, args.steps),
        "R-ANODE signal flow": flow_step(rcfg, 5, 0, k_own, rn["batch_size"], dev, args.steps),
    }
    if calo:
        step |= {f"CaloFlow Flow-{'I' * i}": calo_step(i, dev, max(args.steps // 2, 2)) for i in (1, 2)}
    for what, s in step.items():
        print(f"  {what:22s} {1e3 * s:8.1f} ms per stack step")

    count = event_counter()
    sr = {w: count(*w) for w in windows}
    e_lo, e_hi = cfg["data"]["extra_mjj_range"]  # the window the extra QCD covers: test sets, IAD, supervised
    std = next(w for w in windows if e_lo - 1e-9 <= w[0] and w[1] <= e_hi + 1e-9)
    others = [w for w in windows if w != std]
    val = flow.get("val_fraction", 0.2)
    fold = (kfold - 1) / kfold  # a fold model trains on this share of its window's events

    def flow_hours(what: str, events: float, epochs: int, batch: int) -> float:
        return math.ceil((1 - val) * events / batch) * epochs * step[what] / 3600

    rows = []  # (rule, what, jobs, hours per job, GPU or CPU)
    for w in windows:
        rows.append(("train_bkg_flow", "sideband flow", n_nsig, flow_hours("sideband flow", N_BACKGROUND - sr[w],
                                                                           flow["epochs"],
                                                                           flow["batch_size"]), "GPU"))
    rows.append(("train_sigma", "SIGMA flow", n_nsig, flow_hours("SIGMA flow", N_BACKGROUND, flow["epochs"],
                                                                 flow["batch_size"]), "GPU"))
    hgb = r["classifier"]
    members = k_own * hgb["n_models"]  # HGB fits per (method, window, n_sig) job
    hgb_seconds = hgb_cost(hgb["max_iter"], hgb.get("validation_fraction", 0.5))
    over = {m: r["method_options"].get(m, {}).get("oversampling", 4) for m in ("cathode", "sigma")}
    side = r["cwola_sideband_width"]
    for rule, ws in (("train", [std]), ("train_kfold", others)):
        for w in ws:
            n = fold * sr[w]  # a fold model's SR data
            rows.append((rule, "ANODE SR flow", n_nsig, flow_hours("ANODE SR flow", n, flow["epochs"],
                                                                   flow["batch_size"]), "GPU"))
            rows.append((rule, "R-ANODE signal flow", n_nsig, flow_hours("R-ANODE signal flow", n, rn["epochs"],
                                                                         rn["batch_size"]), "GPU"))
            for m in ("cathode", "sigma"):
                rows.append((rule, f"{m.upper()} HGB (template x{over[m]})", n_nsig,
                             members * hgb_seconds(n * (1 + over[m])) / 3600, "CPU"))
            n_cwola = fold * count(w[0] - side, w[1] + side)  # SR + both CWoLa sidebands of the data
            rows.append((rule, "CWoLa HGB (SR vs sidebands)", n_nsig, members * hgb_seconds(n_cwola) / 3600, "CPU"))
    n_extra = 272_000  # IAD's share of the extra QCD file (config/paper.yaml, samples.extra_test_fraction)
    rows.append(("train", "IAD HGB (SR vs extra QCD)", n_nsig, members * hgb_seconds(fold * (sr[std] + n_extra))
                 / 3600, "CPU"))
    rows.append(("train_simulated", "supervised HGB", n_seed, hgb["n_models"] * hgb_seconds(n_extra + 30_000)
                 / 3600, "CPU"))
    if calo:
        n_calo = 70_000  # gamma_1.hdf5: 100k photons, 70/30 train/validation
        for i in (1, 2):
            tr = calo[f"flow{i}"]["train"]
            rows.append((f"calo_train_flow{i}", f"CaloFlow Flow-{'I' * i}", 1,
                         math.ceil(n_calo / tr["batch_size"]) * tr["epochs"] * step[f"CaloFlow Flow-{'I' * i}"] / 3600,
                         "GPU"))

    print(f"\nprojected training hours of {args.config.name} (steps only; HGB on {args.threads} CPU threads)")
    print(f"{'rule':18s} {'model':30s} {'jobs':>5s} {'h/job':>8s} {'hours':>9s}")
    total = {"GPU": 0.0, "CPU": 0.0}
    unit = {"GPU": "GPU-h" if dev.type == "cuda" else "torch-CPU-h", "CPU": "CPU-h"}
    merged: dict[tuple[str, str, str], list] = {}  # (rule, model, GPU|CPU) -> [jobs, hours]
    for rule, what, jobs, h, kind in rows:
        acc = merged.setdefault((rule, what, kind), [0, 0.0])
        acc[0] += jobs
        acc[1] += jobs * h
    for (rule, what, kind), (jobs, h) in merged.items():
        total[kind] += h
        print(f"{rule:18s} {what:30s} {jobs:5d} {h / jobs:8.2f} {h:9.1f} {unit[kind]}")
    print(f"in all: {total['GPU']:.1f} {unit['GPU']} on {name}, {total['CPU']:.1f} CPU-hours of HGB fits "
          f"({args.threads} threads each); measured in {time.perf_counter() - t0:.0f} s")
    return merged


if __name__ == "__main__":
    main()
