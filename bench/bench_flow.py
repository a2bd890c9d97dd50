"""Throughput of the sideband flow at the paper architecture (CATHODE: MAF, 15 MADE blocks x 128,
batch norm, 4 features + m_jj context, batch 256) through hepad's own training loop.

    .venv/bin/python bench/bench_flow.py --events 500000 --measure 50000 --device cpu

Trains one epoch on `--measure` events (default: all `--events`) and extrapolates linearly to
`--events`; then times log_prob on 120k and sampling of 480k events (one per m_jj value).
Compare with reference.md C (2-thread CPU: reference code 95-105 s/epoch, goal <= 40 s).
--baseline also times a textbook nflows MAF of the same size in the same loop (side by side).
With several threads on a shared CPU, set OMP_WAIT_POLICY=PASSIVE (else 10-25x slower).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from hepad.flows import FlowConfig, build_flow, log_prob, nll_loss, sample
from hepad.training import TrainConfig, fit, resolve_device


def toy_sideband(n: int, rng: np.random.Generator):
    """Shapes of the LHCO sideband inputs: preprocessed features ~ N(0,1)-like, m_jj in TeV."""
    m = rng.uniform(2.5, 6.0, (n, 1)).astype(np.float32)
    x = rng.standard_normal((n, 4)).astype(np.float32) + 0.3 * (m - 3.5)
    return torch.from_numpy(x), torch.from_numpy(m)


def nflows_maf():
    """The textbook nflows stack of the paper flow: (MADE 2 x 128, BatchNorm, ReversePermutation) x 15."""
    from nflows.distributions import StandardNormal
    from nflows.flows import Flow
    from nflows.transforms import (BatchNorm, CompositeTransform, MaskedAffineAutoregressiveTransform,
                                   ReversePermutation)

    ts = []
    for _ in range(15):
        ts += [MaskedAffineAutoregressiveTransform(4, 128, context_features=1, num_blocks=1, use_residual_blocks=False),
               BatchNorm(4), ReversePermutation(4)]
    return Flow(CompositeTransform(ts), StandardNormal([4]))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=500_000, help="events per epoch to report (default 500k)")
    ap.add_argument("--measure", type=int, default=None, help="events actually trained on (extrapolated)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    ap.add_argument("--kind", default="affine", choices=["affine", "rqs"])
    ap.add_argument("--n-logprob", type=int, default=120_000)
    ap.add_argument("--n-sample", type=int, default=480_000)
    ap.add_argument("--compile", action="store_true", help="torch.compile the training step")
    ap.add_argument("--baseline", action="store_true", help="also time a plain nflows MAF")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    n = min(args.measure or args.events, args.events)
    dev = resolve_device(args.device)
    rng = np.random.default_rng(0)
    x, m = toy_sideband(n + 2000, rng)
    cfg = FlowConfig(kind=args.kind)  # paper defaults: 15 x 128, batch norm
    flow = build_flow(cfg, 4, 1)
    print(f"device {dev}, threads {torch.get_num_threads()}, torch {torch.__version__}, flow {cfg.kind} "
          f"{cfg.num_blocks} blocks x {cfg.hidden_features}, {sum(p.numel() for p in flow.parameters())} parameters")

    tc = TrainConfig(epochs=2 if args.compile else 1, batch_size=256, lr=1e-4, weight_decay=1e-6, keep_best=1,
                     device=str(dev))
    models = [("hepad", flow)] + ([("nflows", nflows_maf())] if args.baseline else [])
    for label, model in models:
        res = fit(model, nll_loss(model, args.compile and label == "hepad"), [x[:n], m[:n]], [x[n:], m[n:]], tc,
                  name="bench")
        sec = res.history[-1]["seconds"]  # includes the (tiny) validation pass; after compilation
        steps = -(-n // 256)
        print(f"train {label}: {n} events in {sec:.2f} s = {n / sec:,.0f} events/s, {1e3 * sec / steps:.2f} ms/step; "
              f"epoch of {args.events:,} events: {sec * args.events / n:.1f} s")

    xl, ml = toy_sideband(args.n_logprob, rng)
    t = time.perf_counter()
    lp = log_prob(flow, xl, ml)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    print(f"log_prob: {args.n_logprob:,} events in {time.perf_counter() - t:.2f} s (finite: {np.isfinite(lp).all()})")

    ms = torch.from_numpy(rng.uniform(3.3, 3.7, (args.n_sample, 1)).astype(np.float32))
    t = time.perf_counter()
    xs = sample(flow, ms)
    print(f"sample: {args.n_sample:,} events in {time.perf_counter() - t:.2f} s (shape {tuple(xs.shape)})")


if __name__ == "__main__":
    main()
