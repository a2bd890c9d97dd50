"""CaloFlow benchmarks on the CPU (prints numbers; run with `nice` on a shared machine).

  .venv/bin/python bench/bench_calo.py [--threads 2] [--n-toy 20000] [--n-score 2000] [--batch-size 10000]
                                       [--train-steps 4] [--memory-showers 0] [--device cpu|cuda]

- toy generation rate (photons, showers/s);
- Flow-II log-likelihood throughput at the paper size (8 RQS blocks, 2 x 378 hidden, 37.8M
  parameters, float32), through hepad.calo.caloflow.score (both flows, preprocessing, noise);
- time per training epoch at the paper size: `--train-steps` timed steps at batch 200, extrapolated to
  the paper's 70k training showers (350 steps), stated as an extrapolation;
- peak RSS of scoring `--memory-showers` showers (e.g. 100000) in batches of `--batch-size`.
The weights are random (untrained): the cost does not depend on them. `--device cuda` times the flows
on a GPU (the preprocessing stays on the CPU, as in `calo-score`).
"""

from __future__ import annotations

import argparse
import os
import resource
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import torch

from hepad.calo import preprocessing as pp
from hepad.calo import toy
from hepad.calo.caloflow import PAPER, make_flow, n_parameters, score
from hepad.flows.maf import nll_loss


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n-toy", type=int, default=20000)
    ap.add_argument("--n-score", type=int, default=2000)
    ap.add_argument("--batch-size", type=int, default=10000, help="showers per scoring batch")
    ap.add_argument("--train-steps", type=int, default=4)
    ap.add_argument("--memory-showers", type=int, default=0, help="score this many showers for the peak RSS")
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    rng = np.random.default_rng(0)
    dev = torch.device(a.device)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    print(f"threads {a.threads}, torch {torch.__version__}, cpus {os.cpu_count()}, device {dev}"
          + (f" ({torch.cuda.get_device_name(dev)})" if dev.type == "cuda" else ""))

    t = time.perf_counter()
    photons = toy.simulate_background(a.n_toy, rng)
    dt = time.perf_counter() - t
    print(f"toy generation: {a.n_toy} photons in {dt:.1f} s = {a.n_toy / dt:.0f} showers/s")

    torch.manual_seed(0)
    f1, f2 = make_flow(1, PAPER[1]).to(dev).eval(), make_flow(2, PAPER[2]).to(dev).eval()
    print(f"paper Flow-I {n_parameters(f1)[0]:,} parameters, Flow-II {n_parameters(f2)[0]:,} "
          f"({n_parameters(f2)[1]:,} unmasked)")
    s = photons[: a.n_score]
    score(f1, f2, 1.0, s[:50], np.random.default_rng(1))  # warm-up
    sync()
    t = time.perf_counter()
    with torch.inference_mode():
        score(f1, f2, 1.0, s, np.random.default_rng(1), a.batch_size)
    sync()
    dt = time.perf_counter() - t
    print(f"log-likelihood (Flow-I + Flow-II, float32): {len(s)} showers in {dt:.1f} s = {len(s) / dt:.0f} showers/s")

    f = pp.features(photons[:200], np.random.default_rng(2))
    x, c = (torch.as_tensor(f[k], dtype=torch.float32, device=dev) for k in ("x2", "c2"))
    f2.train()
    opt = torch.optim.Adam(f2.parameters(), lr=1e-4, fused=True)
    loss_fn = nll_loss()
    times = []
    for _ in range(a.train_steps + 1):
        sync()
        t = time.perf_counter()
        loss = loss_fn(f2, [x, c])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sync()
        times.append(time.perf_counter() - t)
    step = float(np.median(times[1:]))
    print(f"Flow-II training step (batch 200, float32): {step:.2f} s (median of {a.train_steps}); "
          f"extrapolated epoch on 70k showers (350 steps): {350 * step / 60:.1f} min")

    if a.memory_showers:
        big = toy.simulate_background(a.memory_showers, rng)
        f2.eval()
        base = peak_rss_gib()
        t = time.perf_counter()
        with torch.inference_mode():
            score(f1, f2, 1.0, big, np.random.default_rng(3), a.batch_size)
        dt = time.perf_counter() - t
        print(f"scoring {a.memory_showers} showers, batch {a.batch_size}: {dt:.0f} s, peak RSS {peak_rss_gib():.2f} GiB "
              f"(before scoring {base:.2f} GiB; the showers themselves {big.layers[0].nbytes * 504 / 288 / 2**30:.2f} GiB)")
    print(f"peak RSS {peak_rss_gib():.2f} GiB")


if __name__ == "__main__":
    main()
