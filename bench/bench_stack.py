"""Training throughput of K models of one architecture in one stack (fit_stack), against K.

Models: the paper flow (CATHODE: MAF, 15 MADE blocks x 128, 2 hidden layers, batch norm, 4 features +
m_jj context, batch 256) as a StackedFlow, with --embedding SIGMA's m_jj FourierEmbedding; --model mlp:
the 3x64 MLP classifier (4 features, batch 128) of hepad.classifiers.stacked. Next to one model trained
alone by hepad.training.fit (K models one after another: K times its time).

    .venv/bin/python bench/bench_stack.py --threads 2 --device cpu
    .venv/bin/python bench/bench_stack.py --embedding   # SIGMA: the flow with its m_jj FourierEmbedding
    .venv/bin/python bench/bench_stack.py --model mlp   # the 3x64 MLP classifier (batch 128, 4 features)
    .venv/bin/python bench/bench_stack.py --precision bfloat16   # bfloat16 matmuls in the training steps

Each K: a warm-up epoch of --warmup steps, then one timed epoch of --steps steps per member (its time
includes a validation pass on one batch per member). stack/K=1: events/s of the whole stack over
those of the stack of one, same run; stack/K singles: over one model trained alone by training.fit
(K models trained one after another have its events/s).
"""

from __future__ import annotations

import argparse
import copy
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads OpenMP: see hepad.cli

import numpy as np
import torch

from hepad.classifiers.mlp import _mlp, _weighted_bce
from hepad.classifiers.stacked import StackedClassifier
from hepad.flows import FlowConfig, build_flow, nll_loss
from hepad.flows.embedding import FourierEmbedding
from hepad.flows.stacked import StackedFlow, fit_stack
from hepad.training import TrainConfig, fit, resolve_device


def toy_sideband(n: int, rng: np.random.Generator):
    """Shapes of the LHCO sideband inputs: preprocessed features ~ N(0,1)-like, m_jj in TeV."""
    m = rng.uniform(2.5, 6.0, (n, 1)).astype(np.float32)
    x = rng.standard_normal((n, 4)).astype(np.float32) + 0.3 * (m - 3.5)
    return [torch.from_numpy(x), torch.from_numpy(m)]


def toy_classifier_inputs(n: int, rng: np.random.Generator):
    """Shapes of the classifier inputs: 4 standardised features, labels, balanced weights."""
    x = rng.standard_normal((n, 4)).astype(np.float32)
    return [torch.from_numpy(x), torch.from_numpy((rng.random(n) < 0.5).astype(np.float32)), torch.ones(n)]


def model(args):
    """--model's (title, batch size, events(n, rng), one model and its loss, stack of k, training options)."""
    if args.model == "mlp":
        hidden = [64, 64, 64]
        return ("MLP 3x64, 4 features", 128, toy_classifier_inputs, lambda: (_mlp(4, hidden), _weighted_bce),
                lambda k: StackedClassifier(4, hidden, range(k)), dict(lr=1e-3))
    cfg = FlowConfig(kind=args.kind)  # paper defaults: 15 x 128, 2 hidden layers, batch norm
    emb = FourierEmbedding(2.5, 6.0) if args.embedding else None  # SIGMA: m_jj range of the data

    def one():
        flow = build_flow(cfg, 4, 1, copy.deepcopy(emb))
        return flow, nll_loss(flow)

    return (f"flow {cfg.kind} {cfg.num_blocks} blocks x {cfg.hidden_features}" + (", SIGMA embedding" if emb else ""),
            256, toy_sideband, one, lambda k: StackedFlow(cfg, 4, 1, k, emb).init_from_seeds(list(range(k))),
            dict(lr=1e-4, weight_decay=1e-6))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ks", default="1,2,4,8,16,32,64", help="stack sizes K")
    ap.add_argument("--steps", type=int, default=20, help="timed training steps per member")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps before")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--model", default="flow", choices=["flow", "mlp"])
    ap.add_argument("--kind", default="affine", choices=["affine", "rqs"], help="flow only")
    ap.add_argument("--embedding", action="store_true", help="flow only: SIGMA's m_jj embedding")
    ap.add_argument("--precision", default="float32", choices=["float32", "bfloat16"],
                    help="training steps' matmul precision (TrainConfig.precision)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    dev = resolve_device(args.device)
    title, bs, events, one, make_stack, opts = model(args)
    rng = np.random.default_rng(0)
    tc = TrainConfig(epochs=1, batch_size=bs, keep_best=1, device=str(dev), precision=args.precision, **opts)
    val = events(bs, rng)
    print(f"device {dev}, threads {torch.get_num_threads()}, torch {torch.__version__}, {title}, {args.precision}, batch {bs}, "
          f"{args.steps} timed steps")

    def single(steps: int) -> float:
        net, loss = one()
        return fit(net, loss, events(steps * bs, rng), val, tc).history[0]["seconds"]

    n = args.steps * bs  # timed events per member
    single(args.warmup)
    sec = single(args.steps)
    ref = n / sec
    print(f"reference, one model alone (training.fit): {1e3 * sec / args.steps:.1f} ms/step, {ref:,.0f} events/s; "
          "K models one after another: K times its time")
    print(f"{'K':>4} {'ms/step':>9} {'events/s/member':>16} {'events/s stack':>15} {'stack/K=1':>10} "
          f"{'stack/K singles':>16}" + (f" {'GPU MiB/member':>15}" if dev.type == "cuda" else ""))
    base = None
    for k in (int(s) for s in args.ks.split(",")):
        stack = make_stack(k)
        if dev.type == "cuda":
            torch.cuda.reset_peak_memory_stats()

        def stacked(steps: int) -> float:
            train = [events(steps * bs, rng) for _ in range(k)]
            return fit_stack(stack, train, [val] * k, tc, seeds=list(range(k)))[0].history[0]["seconds"]

        stacked(args.warmup)
        sec = stacked(args.steps)
        per_member = n / sec
        base = base or per_member
        mem = f" {torch.cuda.max_memory_allocated() / 2**20 / k:15.1f}" if dev.type == "cuda" else ""
        print(f"{k:4d} {1e3 * sec / args.steps:9.1f} {per_member:16,.0f} {k * per_member:15,.0f} "
              f"{k * per_member / base:10.2f} {k * per_member / ref:16.2f}{mem}")


if __name__ == "__main__":
    main()
