"""Conditional masked autoregressive flow (MAF) on nflows, built for speed on small tabular data.

Block k: MADE_k (autoregressive order pi_k, conditioned on the context) -> elementwise affine or
rational-quadratic-spline transform (nflows' formulas) -> optional batch norm. Base: standard
normal (nflows Flow + StandardNormal).

The step time of these small models is per-operation overhead, not arithmetic, so:
- All weights of one block (MADE layers + batch norm) live in one flat parameter with one flat
  mask: the optimizer and the MADE masks cost one operation per block instead of one per layer.
- The permutation between blocks is realised as the next MADE's autoregressive order (degrees),
  not as an index_select layer: the same family of flows with no data movement.
- The context enters the MADE's first masked layer as extra, unmasked inputs (as in the
  CATHODE/ANODE MADE) instead of through a separate layer + activation + add (nflows).
- Batch norm (maths of nflows.transforms.BatchNorm, running variance starting at 1) with fewer
  operations. Training mode uses batch statistics; eval mode the running averages, which makes
  the flow a fixed bijection: always evaluate and sample in eval mode.
The context embedding (identity by default) is a pluggable torch module, trained jointly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from nflows.distributions import StandardNormal
from nflows.flows import Flow
from nflows.transforms import CompositeTransform, Transform
from nflows.transforms.base import InverseNotAvailable
from nflows.transforms.splines import rational_quadratic as rq
from torch import nn
from torch.nn import functional as F

from hepad.errors import InputError


@dataclass
class FlowConfig:
    kind: str = "affine"  # affine | rqs
    num_blocks: int = 15  # MAF blocks, one MADE each (CATHODE: 15)
    hidden_features: int = 128  # width of the MADE hidden layers (CATHODE: 128)
    made_layers: int = 2  # hidden layers per MADE (CATHODE: 2)
    num_bins: int = 8  # rqs only
    tail_bound: float = 4.0  # rqs only: spline on [-B, B], linear (identity) tails outside
    batch_norm: bool = True  # batch norm after every block (CATHODE: yes)
    batch_norm_momentum: float = 0.1
    permutation: str = "reverse"  # order of block k+1 relative to block k: reverse | random
    dropout: float = 0.0

    def __post_init__(self):
        if self.kind not in ("affine", "rqs") or self.permutation not in ("reverse", "random"):
            raise InputError(f"FlowConfig: kind={self.kind!r} (affine|rqs), permutation={self.permutation!r} "
                             "(reverse|random)")
        if min(self.num_blocks, self.hidden_features, self.made_layers, self.num_bins) < 1:
            raise InputError(f"FlowConfig: num_blocks, hidden_features, made_layers, num_bins must be >= 1: {self}")


def made_masks(order: torch.Tensor, hidden: int, layers: int, multiplier: int, context_features: int):
    """MADE connectivity masks (out, in) of the layers: output (i, j) sees only the inputs before
    feature i in `order` and the whole context. Outputs are grouped by feature, as in nflows."""
    d = len(order)
    in_deg = torch.as_tensor(order, dtype=torch.long) + 1
    if context_features:  # degrees 0..d-1: degree-0 units see only the context, so that the first
        hid_deg = torch.arange(hidden) % d  # feature in the order is conditioned too (not in nflows)
    else:  # nflows: degrees 1..d-1
        hid_deg = torch.arange(hidden) % max(1, d - 1) + min(1, d - 1)
    out_deg = in_deg.repeat_interleave(multiplier)
    first = torch.cat([hid_deg[:, None] >= in_deg[None, :], torch.ones(hidden, context_features, dtype=torch.bool)], 1)
    hid = [hid_deg[:, None] >= hid_deg[None, :]] * (layers - 1)
    return [first] + hid + [out_deg[:, None] > hid_deg[None, :]]


class MAFBlock(Transform):
    """MADE -> elementwise transform -> batch norm, all weights in the flat parameter `theta`."""

    def __init__(self, cfg: FlowConfig, order: torch.Tensor, context_features: int = 0):
        super().__init__()
        d, self.cfg = len(order), cfg
        self.features, self.bn = d, cfg.batch_norm
        self.mult = 2 if cfg.kind == "affine" else 3 * cfg.num_bins - 1
        masks = made_masks(order, cfg.hidden_features, cfg.made_layers, self.mult, context_features)
        init, flat_mask, self.shapes = [], [], []
        for m in masks:  # weights stored as (in, out) for addmm; nn.Linear's init U(+-1/sqrt(fan_in))
            bound = 1 / math.sqrt(m.shape[1])
            init += [torch.empty(m.shape).uniform_(-bound, bound).T, torch.empty(m.shape[0]).uniform_(-bound, bound)]
            flat_mask += [m.T.float(), torch.ones(m.shape[0])]
            self.shapes += [tuple(m.T.shape), (m.shape[0],)]
        if self.bn:  # unconstrained weight (softplus -> 1) and bias of the batch norm
            init += [torch.full((d,), math.log(math.expm1(1 - 1e-5))), torch.zeros(d)]
            flat_mask += [torch.ones(d), torch.ones(d)]
            self.shapes += [(d,), (d,)]
            self.register_buffer("running_mean", torch.zeros(d))
            self.register_buffer("running_var", torch.ones(d))
        self.sizes = [math.prod(s) for s in self.shapes]
        self.theta = nn.Parameter(torch.cat([t.flatten() for t in init]))
        self.register_buffer("mask", torch.cat([t.flatten() for t in flat_mask]))

    def _weights(self):
        return [w.view(s) if len(s) > 1 else w for w, s in zip((self.theta * self.mask).split(self.sizes), self.shapes)]

    def _made(self, w, x, context):
        h = x if context is None else torch.cat([x, context], 1)
        n_lin = self.cfg.made_layers + 1
        for i in range(n_lin):
            h = torch.addmm(w[2 * i + 1], h, w[2 * i])
            if i < n_lin - 1:
                h = F.relu(h)
                if self.cfg.dropout and self.training:
                    h = F.dropout(h, self.cfg.dropout)
        return h.float().view(len(x), self.features, self.mult)  # float32 under autocast (training.autocast)

    def _elementwise(self, x, params, inverse: bool):
        """nflows' MAF steps: affine with scale = softplus + 1e-3, or RQS with linear tails."""
        if self.cfg.kind == "affine":
            scale = F.softplus(params[..., 0]) + 1e-3
            shift = params[..., 1]
            if inverse:
                return (x - shift) / scale, -torch.log(scale).sum(1)
            return torch.addcmul(shift, scale, x), torch.log(scale).sum(1)
        b = self.cfg.num_bins
        y, logdet = rq.unconstrained_rational_quadratic_spline(
            x, params[..., :b], params[..., b:2 * b], params[..., 2 * b:], inverse=inverse, tails="linear",
            tail_bound=self.cfg.tail_bound)
        return y, logdet.sum(1)

    def _bn_scale(self, w, var):
        return (F.softplus(w[-2]) + 1e-5) * torch.rsqrt(var + 1e-5)

    def forward(self, inputs, context=None):
        w = self._weights()
        z, logdet = self._elementwise(inputs, self._made(w, inputs, context), inverse=False)
        if self.bn:
            if self.training:
                var, mean = torch.var_mean(z, 0)
                with torch.no_grad():
                    self.running_mean.lerp_(mean, self.cfg.batch_norm_momentum)
                    self.running_var.lerp_(var, self.cfg.batch_norm_momentum)
            else:
                mean, var = self.running_mean, self.running_var
            scale = self._bn_scale(w, var)
            z = torch.addcmul(w[-1], z - mean, scale)
            logdet = logdet + torch.log(scale).sum()
        return z, logdet

    def inverse(self, inputs, context=None):
        if self.bn and self.training:
            raise InverseNotAvailable("MAF with batch norm: the inverse needs eval mode")
        w = self._weights()
        z, logdet = inputs, 0.0
        if self.bn:
            scale = self._bn_scale(w, self.running_var)
            z = (z - w[-1]) / scale + self.running_mean
            logdet = -torch.log(scale).sum()
        x = torch.zeros_like(z)
        for _ in range(self.features):  # one more exact feature per pass, in autoregressive order
            x, ld = self._elementwise(z, self._made(w, x, context), inverse=True)
        return x, ld + logdet


class _Composite(CompositeTransform):
    """Sums the log-determinants once at the end instead of one in-place add per transform."""

    @staticmethod
    def _cascade(inputs, funcs, context):
        outputs, logdets = inputs, []
        for func in funcs:
            outputs, logabsdet = func(outputs, context)
            logdets.append(logabsdet)
        return outputs, torch.stack(logdets).sum(0) if logdets else inputs.new_zeros(len(inputs))


class ConditionalFlow(Flow):
    """nflows Flow with its config; `context_features` = 0 for an unconditional flow."""

    def __init__(self, cfg: FlowConfig, features: int, context_features: int = 0,
                 embedding: nn.Module | None = None):
        if features < 1 or context_features < 0 or (embedding is not None and context_features == 0):
            raise InputError(f"ConditionalFlow: features={features}, context_features={context_features} "
                             f"(embedding needs a context)")
        embedded = context_features
        if embedding is not None:  # infer the embedding's output width
            with torch.no_grad():
                embedded = embedding.eval()(torch.zeros(2, context_features)).shape[-1]
        gen = torch.Generator().manual_seed(12345)  # fixed orders: a config builds the same flow
        order = torch.arange(features)
        blocks = []
        for k in range(cfg.num_blocks):
            if k > 0 and cfg.permutation == "reverse":
                order = order.flip(0)
            elif k > 0:
                order = order[torch.randperm(features, generator=gen)]
            blocks.append(MAFBlock(cfg, order, embedded))
        super().__init__(_Composite(blocks), StandardNormal([features]), embedding)
        self.cfg, self.features, self.context_features = cfg, features, context_features

    def embed(self, context):
        return None if context is None else self._embedding_net(context)

    def _check_context(self, n: int, context) -> None:
        if (context is None) != (self.context_features == 0):
            raise InputError(f"flow with context_features={self.context_features} called with "
                             f"context={context is not None}")
        if context is not None and (context.ndim != 2 or context.shape != (n, self.context_features)):
            raise InputError(f"context shape {tuple(context.shape)}, expected ({n}, {self.context_features})")

    def log_prob(self, inputs, context=None):
        self._check_context(len(inputs), context)
        return self._log_prob(inputs, context)

    def sample_one(self, context=None, num_samples: int | None = None, generator=None):
        """One sample per context row (or `num_samples` samples if unconditional)."""
        n = num_samples if context is None else len(context)
        self._check_context(n, context)
        p = next(self.parameters())
        gdev = p.device if generator is None else generator.device
        noise = torch.randn(n, self.features, device=gdev, dtype=p.dtype, generator=generator).to(p.device)
        return self._transform.inverse(noise, context=self.embed(context))[0]


def build_flow(cfg: FlowConfig, features: int, context_features: int = 0,
               embedding: nn.Module | None = None) -> ConditionalFlow:
    return ConditionalFlow(cfg, features, context_features, embedding)


def nll_loss(flow: nn.Module | None = None, compile: bool = False):
    """LossFn for training.fit: mean negative log-likelihood; batch = [x] or [x, context].

    compile=True runs the flow's log_prob through torch.compile: about 1.8x faster training steps
    on the CPU, after a one-off compilation of a few graphs (train/eval mode, last partial batch;
    about 1-2 minutes for the paper flow). Worth it for long runs only.
    """
    compiled = {}

    def loss(model, batch):
        fn = model.log_prob
        if compile:
            fn = compiled.setdefault(id(model), torch.compile(model.log_prob))
        return -fn(batch[0], batch[1] if len(batch) > 1 else None).mean()

    return loss


def _param(flow: nn.Module) -> torch.Tensor:
    return next(flow.parameters())


def _batch(batch_size: int | None, dev: torch.device) -> int:
    # CPU: small batches stay in cache (1024 is ~2x faster than 65536); GPU: large batches
    return batch_size or (1024 if dev.type == "cpu" else 65536)


@torch.no_grad()
def log_prob(flow: ConditionalFlow, x, context=None, batch_size: int | None = None) -> np.ndarray:
    """log p(x | context), batched (computed in the flow's dtype), float64 numpy array. Puts the
    flow in eval mode."""
    flow.eval()
    dev, dtype = _param(flow).device, _param(flow).dtype
    bs = _batch(batch_size, dev)
    x = torch.as_tensor(x, dtype=dtype)
    c = None if context is None else torch.as_tensor(context, dtype=dtype)
    out = [flow.log_prob(x[i:i + bs].to(dev), None if c is None else c[i:i + bs].to(dev)).cpu()
           for i in range(0, len(x), bs)]
    return torch.cat(out).double().numpy() if out else np.zeros(0)


@torch.no_grad()
def sample(flow: ConditionalFlow, context=None, num_samples: int | None = None, batch_size: int | None = None,
           generator: torch.Generator | None = None) -> torch.Tensor:
    """One sample per context row (or `num_samples` if unconditional), batched; CPU tensor.
    Puts the flow in eval mode. `generator` (any device) makes the samples reproducible."""
    flow.eval()
    dev, dtype = _param(flow).device, _param(flow).dtype
    bs = _batch(batch_size, dev)
    n = num_samples if context is None else len(context)
    c = None if context is None else torch.as_tensor(context, dtype=dtype)
    out = [flow.sample_one(None if c is None else c[i:i + bs].to(dev), min(bs, n - i), generator).cpu()
           for i in range(0, n, bs)]
    return torch.cat(out) if out else torch.zeros(0, flow.features)
