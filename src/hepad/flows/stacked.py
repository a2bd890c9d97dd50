"""K conditional MAFs of one architecture as one module with batched weights, and their training loop.

For the small flows of this field a training step costs per-operation overhead, not arithmetic:
K members evaluated with batched matmuls (baddbmm) cost about the kernel launches of one.

- Member k is exactly ConditionalFlow(cfg, features, context_features): the same MADE masks, block
  orders, elementwise transforms and batch norm (running statistics per member). `from_members` and
  `member` convert both ways, so outputs stay one ConditionalFlow state_dict per model.
- Inputs are [K, B, features] with context [K, B, context_features] (each member its own batch);
  log_prob returns [K, B]. `members` (indices) evaluates a subset of the members instead.
- All weights live in one parameter `theta` [K, blocks, weights per block] with one mask
  [blocks, weights per block], applied once per call.
- Not supported (yet): a context embedding (SIGMA's) and dropout.

fit_stack trains the members as K independent runs of hepad.training.fit, see there.
"""

from __future__ import annotations

import logging
import math
import os
import time
from pathlib import Path
from typing import Sequence

import torch
from nflows.transforms.base import InverseNotAvailable
from nflows.transforms.splines import rational_quadratic as rq
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.rnn import pad_sequence

from hepad.errors import InputError, TrainingDiverged
from hepad.flows.maf import ConditionalFlow, FlowConfig, MAFBlock
from hepad.io.atomic import atomic_path
from hepad.training import (FitResult, TrainConfig, _patience_exhausted, _update_best, make_optimizer, resolve_device,
                            write_history)

log = logging.getLogger(__name__)

__all__ = ["StackedFlow", "fit_stack"]


class StackedFlow(nn.Module):
    """K members with the architecture of ConditionalFlow(cfg, features, context_features), no embedding.
    A new stack's members are initialised as K ConditionalFlows built one after another (global RNG)."""

    def __init__(self, cfg: FlowConfig, features: int, context_features: int, k: int):
        if cfg.dropout or k < 1:
            raise InputError(f"StackedFlow: needs k >= 1 (got {k}) and dropout 0 (got {cfg.dropout})")
        super().__init__()
        flows = [ConditionalFlow(cfg, features, context_features) for _ in range(k)]
        blocks = [(name, m) for name, m in flows[0].named_modules() if isinstance(m, MAFBlock)]
        self.cfg, self.features, self.context_features, self.k = cfg, features, context_features, k
        self._prefixes = [name for name, _ in blocks]  # state_dict keys of the blocks in ConditionalFlow
        b = blocks[0][1]
        self.mult, self.shapes, self.sizes = b.mult, b.shapes, b.sizes
        self.log_z = float(flows[0]._distribution._log_z)  # nflows StandardNormal's normaliser
        self.theta = nn.Parameter(torch.empty(k, len(blocks), len(b.theta)))
        self.register_buffer("mask", torch.stack([m.mask for _, m in blocks]))
        if cfg.batch_norm:
            self.register_buffer("running_mean", torch.zeros(k, len(blocks), features))
            self.register_buffer("running_var", torch.ones(k, len(blocks), features))
        for j, f in enumerate(flows):
            self._load_member(j, f.state_dict())

    # ------------------------------------------------------------ members <-> ConditionalFlow

    @classmethod
    def from_members(cls, flows: Sequence[ConditionalFlow]) -> StackedFlow:
        """A stack whose member k carries the parameters and batch-norm buffers of flows[k]."""
        f0 = flows[0]
        for f in flows:
            if (f.cfg, f.features, f.context_features) != (f0.cfg, f0.features, f0.context_features) or \
                    not isinstance(f._embedding_net, nn.Identity):
                raise InputError("StackedFlow.from_members: the flows need one config, features, context "
                                 "features and no embedding")
        with torch.random.fork_rng(devices=[]):  # the throwaway initial weights leave the RNG alone
            stack = cls(f0.cfg, f0.features, f0.context_features, len(flows)).to(next(f0.parameters()))
        for j, f in enumerate(flows):
            stack._load_member(j, f.state_dict())
        return stack

    def init_from_seeds(self, seeds: Sequence[int]) -> StackedFlow:
        """Member k gets the initial weights of ConditionalFlow built after torch.manual_seed(seeds[k])."""
        if len(seeds) != self.k:
            raise InputError(f"StackedFlow.init_from_seeds: {len(seeds)} seeds for {self.k} members")
        with torch.random.fork_rng(devices=[]):
            for j, s in enumerate(seeds):
                torch.manual_seed(s)
                self._load_member(j, ConditionalFlow(self.cfg, self.features, self.context_features).state_dict())
        return self

    def _member_tensors(self, j: int) -> dict[str, torch.Tensor]:
        """Member j's tensors by their MAFBlock name, each [blocks, ...]."""
        out = dict(theta=self.theta[j], mask=self.mask)
        if self.cfg.batch_norm:
            out.update(running_mean=self.running_mean[j], running_var=self.running_var[j])
        return out

    @torch.no_grad()
    def _load_member(self, j: int, state: dict) -> None:
        for name, t in self._member_tensors(j).items():
            if name != "mask":  # the masks follow from the config
                for i, prefix in enumerate(self._prefixes):
                    t[i].copy_(state[f"{prefix}.{name}"])

    def member_state(self, j: int) -> dict:
        """Member j's state_dict as ConditionalFlow's, CPU copies."""
        return {f"{prefix}.{name}": t[i].detach().to("cpu", copy=True)
                for name, t in self._member_tensors(j).items() for i, prefix in enumerate(self._prefixes)}

    def member(self, j: int) -> ConditionalFlow:
        """Member j as a plain ConditionalFlow (device and dtype of the stack, the stack's mode)."""
        with torch.random.fork_rng(devices=[]):
            flow = ConditionalFlow(self.cfg, self.features, self.context_features).to(self.theta)
        flow.load_state_dict(self.member_state(j))
        return flow.train(self.training)

    # ------------------------------------------------------------ flow maths (MAFBlock's, batched over members)

    def _check(self, x, context, members) -> None:
        k = self.k if members is None else len(members)
        if x.ndim != 3 or x.shape[0] != k or x.shape[2] != self.features:
            raise InputError(f"StackedFlow: inputs of shape {tuple(x.shape)}, expected ({k}, B, {self.features})")
        if (context is None) != (self.context_features == 0) or (
                context is not None and context.shape != (*x.shape[:2], self.context_features)):
            raise InputError(f"StackedFlow: context of shape {None if context is None else tuple(context.shape)}, "
                             f"expected ({k}, {x.shape[1]}, {self.context_features}) or None if unconditional")

    def _weights(self, w):
        """Block weights [K', weights per block] -> the MADE's (in, out) matrices and biases, batch norm."""
        return [t.unflatten(-1, s) if len(s) > 1 else t for t, s in zip(w.split(self.sizes, -1), self.shapes)]

    def _made(self, ws, x, context):
        h = x if context is None else torch.cat([x, context], -1)
        n_lin = self.cfg.made_layers + 1
        for i in range(n_lin):
            h = torch.baddbmm(ws[2 * i + 1].unsqueeze(1), h, ws[2 * i])
            if i < n_lin - 1:
                h = torch.relu_(h)  # in place: one fresh buffer less per layer
        return h.unflatten(-1, (self.features, self.mult))

    def _elementwise(self, x, params, inverse: bool):
        if self.cfg.kind == "affine":
            scale = F.softplus(params[..., 0]) + 1e-3
            shift = params[..., 1]
            if inverse:
                return (x - shift) / scale, -torch.log(scale).sum(-1)
            return torch.addcmul(shift, scale, x), torch.log(scale).sum(-1)
        b = self.cfg.num_bins
        y, logdet = rq.unconstrained_rational_quadratic_spline(
            x, params[..., :b], params[..., b:2 * b], params[..., 2 * b:], inverse=inverse, tails="linear",
            tail_bound=self.cfg.tail_bound)
        return y, logdet.sum(-1)

    def _bn_scale(self, ws, var):
        return (F.softplus(ws[-2]) + 1e-5) * torch.rsqrt(var + 1e-5)

    def _block(self, w, i: int, x, context, sel):
        ws = self._weights(w)
        z, logdet = self._elementwise(x, self._made(ws, x, context), inverse=False)
        if self.cfg.batch_norm:
            if self.training:
                var, mean = torch.var_mean(z, 1)
                with torch.no_grad():
                    m = self.cfg.batch_norm_momentum
                    self.running_mean[sel, i] = self.running_mean[sel, i].lerp(mean, m)
                    self.running_var[sel, i] = self.running_var[sel, i].lerp(var, m)
            else:
                mean, var = self.running_mean[sel, i], self.running_var[sel, i]
            scale = self._bn_scale(ws, var)
            z = torch.addcmul(ws[-1].unsqueeze(1), z - mean.unsqueeze(1), scale.unsqueeze(1))
            logdet = logdet + torch.log(scale).sum(-1, keepdim=True)
        return z, logdet

    def _block_inverse(self, w, i: int, z, context, sel):
        ws = self._weights(w)
        logdet = 0.0
        if self.cfg.batch_norm:
            scale = self._bn_scale(ws, self.running_var[sel, i])
            z = (z - ws[-1].unsqueeze(1)) / scale.unsqueeze(1) + self.running_mean[sel, i].unsqueeze(1)
            logdet = -torch.log(scale).sum(-1, keepdim=True)
        x = torch.zeros_like(z)
        for _ in range(self.features):  # one more exact feature per pass, in autoregressive order
            x, ld = self._elementwise(z, self._made(ws, x, context), inverse=True)
        return x, ld + logdet

    def _masked(self, members):
        """Masked weights of each block, [K', weights per block]; unbind (not indexing) keeps the
        backward to one stack of the blocks' gradients."""
        return ((self.theta if members is None else self.theta[members]) * self.mask).unbind(1)

    def forward(self, x, context=None, members: torch.Tensor | None = None):
        """x [K', B, features] -> (noise z, log|det dz/dx| [K', B]); members: the K' member indices
        (default: all K). Training mode uses (and updates) the batch statistics of each member's batch."""
        self._check(x, context, members)
        sel = slice(None) if members is None else members
        logdets = []
        for i, w in enumerate(self._masked(members)):
            x, ld = self._block(w, i, x, context, sel)
            logdets.append(ld)
        return x, torch.stack(logdets).sum(0)

    def inverse(self, z, context=None, members: torch.Tensor | None = None):
        """noise z [K', B, features] -> (x, log|det dx/dz| [K', B]); eval mode if batch norm."""
        if self.cfg.batch_norm and self.training:
            raise InverseNotAvailable("MAF with batch norm: the inverse needs eval mode")
        self._check(z, context, members)
        sel = slice(None) if members is None else members
        logdets = []
        for i, w in reversed(list(enumerate(self._masked(members)))):
            z, ld = self._block_inverse(w, i, z, context, sel)
            logdets.append(ld)
        return z, torch.stack(logdets).sum(0)

    def log_prob(self, x, context=None, members: torch.Tensor | None = None):
        """log p(x | context) [K', B] for inputs x [K', B, features] (see forward)."""
        z, logdet = self(x, context, members)
        return (-0.5 * (z**2).sum(-1) - self.log_z) + logdet  # nflows: base log_prob + log-determinant

    @torch.no_grad()
    def sample(self, context=None, num_samples: int | None = None, generator: torch.Generator | None = None):
        """One sample per context row [K, B, context_features] (or `num_samples` per member if
        unconditional) -> [K, B, features]. Eval mode (the flow is a fixed bijection only there)."""
        self.eval()
        n = num_samples if context is None else context.shape[1]
        noise = torch.randn(self.k, n, self.features, generator=generator, dtype=self.theta.dtype,
                            device=self.theta.device if generator is None else generator.device)
        return self.inverse(noise.to(self.theta.device), context)[0]


# ---------------------------------------------------------------- training


def _concat(data: Sequence[Sequence[torch.Tensor]], device):
    """Members' [x] or [x, context] as one tensor each; per-member event offsets and counts."""
    n = torch.tensor([len(d[0]) for d in data])
    return [torch.cat([d[j] for d in data]).to(device) for j in range(len(data[0]))], n.cumsum(0) - n, n


def _steps(index: torch.Tensor, n: torch.Tensor, members: torch.Tensor, k: int, batch_size: int):
    """Per step, the groups of members with one batch size: [(member ids or None for all k, event
    indices [K', b])]. index [A, L]: the A members' event indices (padded), n: their event counts.
    Members out of events drop out of the later steps."""
    for start in range(0, int(n.max()), batch_size):
        size = (n - start).clamp(0, batch_size)
        groups = []
        for b in size[size > 0].unique().tolist():
            rows = size == b
            ids = members[rows]
            idx = index[:, start:start + b] if rows.all() else index[rows.to(index.device), start:start + b]
            groups.append((None if len(ids) == k else ids.to(index.device), idx))
        yield groups


def _padded(indices: list[torch.Tensor], device) -> torch.Tensor:
    return pad_sequence(indices, batch_first=True).to(device)


class _MemberAdam:
    """torch Adam/AdamW (fused) over per-member, per-block views of the stacked weights, laid out as
    the single flows' parameters: a member that takes no part in a step (out of batches, or stopped)
    gets no gradient and is skipped like any parameter without one: no update, no change of its Adam
    state or step count. Weight decay and the fused kernel are elementwise, so every member gets
    exactly the update that training.fit gives its single flow."""

    def __init__(self, theta: nn.Parameter, cfg: TrainConfig):
        self.theta = theta
        self.rows = [list(m.unbind(0)) for m in theta.detach().unbind(0)]  # share theta's storage
        self.opt = make_optimizer([r for m in self.rows for r in m], cfg)

    def step(self, stepping: list[bool]) -> None:
        for on, rows, grads in zip(stepping, self.rows, self.theta.grad.unbind(0)):
            for r, g in zip(rows, grads.unbind(0)):
                r.grad = g if on else None
        self.opt.step()


def fit_stack(
    stack: StackedFlow,
    train: Sequence[Sequence[torch.Tensor]],
    val: Sequence[Sequence[torch.Tensor]],
    cfg: TrainConfig,
    seeds: Sequence[int],
    names: Sequence[str] | None = None,
    checkpoint: str | os.PathLike | None = None,
    loss_files: Sequence[str | os.PathLike] | None = None,
) -> list[FitResult]:
    """hepad.training.fit with the mean negative log-likelihood (maf.nll_loss) for the K members of
    `stack` at once, each as if trained alone with `cfg` and seed seeds[k]: its own events train[k]
    and val[k] ([x] or [x, context]; counts may differ), its own batch order (a torch.Generator seeded
    with seeds[k]: its own permutation of its own events each epoch, in batches of cfg.batch_size),
    its own Adam state, batch-norm statistics, best-epoch states and early stopping (a stopped member
    is frozen). The loss is the sum of the members' mean batch losses: no gradient mixes members.

    names[k] identifies member k in errors (TrainingDiverged). `checkpoint`: the whole stack after
    every epoch; if it exists, training resumes from it and ends as an uninterrupted run.
    Returns one FitResult per member; its best_states load into a plain ConditionalFlow.
    The initial weights are the stack's (see StackedFlow.init_from_seeds); cfg.seed is not used and
    this loop draws no global random numbers (no dropout).
    """
    k = stack.k
    if not len(train) == len(val) == len(seeds) == k:
        raise InputError(f"fit_stack: {len(train)} training sets, {len(val)} validation sets and {len(seeds)} "
                         f"seeds for {k} members")
    names = list(names) if names is not None else [f"member {j}" for j in range(k)]
    device = resolve_device(cfg.device)
    stack.to(device)
    tr, tr_off, tr_n = _concat(train, device)
    va, va_off, va_n = _concat(val, device)
    if tr_n.min() < 1:
        raise InputError(f"fit_stack: no training events for {names[int(tr_n.argmin())]}")
    val_index = _padded([o + torch.arange(n) for o, n in zip(va_off, va_n)], device)
    opt = _MemberAdam(stack.theta, cfg)
    gens = [torch.Generator(device="cpu").manual_seed(s) for s in seeds]
    results = [FitResult(best_states=[], best_losses=[]) for _ in range(k)]
    stopped = [False] * k
    start_epoch = 0
    if checkpoint is not None and Path(checkpoint).exists():
        state = torch.load(checkpoint, map_location="cpu", weights_only=False)  # generator states: CPU only
        stack.load_state_dict(state["stack"])
        opt.opt.load_state_dict(state["optimizer"])
        for g, s in zip(gens, state["generators"]):
            g.set_state(s)
        results, stopped, start_epoch = state["results"], state["stopped"], state["epoch"] + 1
        log.info("stack of %d: resumed from %s after epoch %d", k, checkpoint, state["epoch"])

    for epoch in range(start_epoch, cfg.epochs):
        active = torch.tensor([j for j in range(k) if not stopped[j]])
        if not len(active):
            break
        te = time.perf_counter()
        if cfg.lr_schedule == "cosine":
            for group in opt.opt.param_groups:
                group["lr"] = cfg.lr * 0.5 * (1 + math.cos(math.pi * epoch / cfg.epochs))
        stack.train()
        perm = _padded([tr_off[j] + torch.randperm(int(tr_n[j]), generator=gens[j]) for j in active], device)
        total = torch.zeros(k, device=device)
        for groups in _steps(perm, tr_n[active], active, k, cfg.batch_size):
            loss = 0.0
            stepping = [False] * k
            for ids, idx in groups:
                losses = -stack.log_prob(*[t[idx] for t in tr], members=ids).mean(1)
                sel = slice(None) if ids is None else ids
                total[sel] += losses.detach() * idx.shape[1]
                loss = loss + losses.sum()
                for j in range(k) if ids is None else ids.tolist():
                    stepping[j] = True
            stack.theta.grad = None
            loss.backward()
            opt.step(stepping)
        val_loss = _evaluate(stack, va, val_index, va_n, active, cfg.eval_batch_size)
        train_loss = (total.cpu().double() / tr_n).tolist()
        bad = [j for j in active.tolist() if not (math.isfinite(train_loss[j]) and math.isfinite(val_loss[j]))]
        if bad:
            raise TrainingDiverged("; ".join(f"{names[j]}: loss is not finite at epoch {epoch} (train "
                                             f"{train_loss[j]}, val {val_loss[j]})" for j in bad)
                                   + "; lower the learning rate or check the inputs")
        seconds = time.perf_counter() - te
        for j in active.tolist():
            r = results[j]
            _update_best(r, stack.member_state(j), val_loss[j], cfg.keep_best)
            r.history.append(dict(epoch=epoch, train_loss=train_loss[j], val_loss=val_loss[j], seconds=seconds))
            r.seconds += seconds
            if _patience_exhausted(r.history, cfg.patience):
                stopped[j] = True
                log.info("%s: early stop after epoch %d", names[j], epoch + 1)
        log.info("stack of %d: epoch %d/%d, %d members trained (%.1fs)", k, epoch + 1, cfg.epochs, len(active),
                 seconds)
        if checkpoint is not None:
            with atomic_path(checkpoint) as tmp:
                torch.save(dict(stack=stack.state_dict(), optimizer=opt.opt.state_dict(),
                                generators=[g.get_state() for g in gens], results=results, stopped=stopped,
                                epoch=epoch), tmp)
    for path, r in zip(loss_files or [], results):
        write_history(path, r.history)
    return results


@torch.no_grad()
def _evaluate(stack: StackedFlow, data, index, n, active, batch_size: int) -> list[float]:
    """Mean loss per member over its own events, summed as training.evaluate does (batch means
    weighted by batch size); 0 for members not in `active`."""
    stack.eval()
    totals = [0.0] * stack.k
    for groups in _steps(index[active.to(index.device)], n[active], active, stack.k, batch_size):
        for ids, idx in groups:
            losses = (-stack.log_prob(*[t[idx] for t in data], members=ids).mean(1)).tolist()
            for j, loss in zip(range(stack.k) if ids is None else ids.tolist(), losses):
                totals[j] += loss * idx.shape[1]
    return [t / max(int(m), 1) for t, m in zip(totals, n)]
