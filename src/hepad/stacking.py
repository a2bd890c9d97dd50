"""Training many small models of one architecture as one module with batched weights ([K, ...]):
the generic part, used by the stacked flows (hepad.flows.stacked) and the stacked MLP classifiers
(hepad.classifiers.stacked).

For the small models of this field a training step costs per-operation overhead, not arithmetic:
K members evaluated with batched matmuls cost about the kernel launches of one.

StackedMLP: K ReLU MLPs nn.Sequential(Linear, ReLU, ..., Linear) of one architecture, batched.
fit_stack trains the members of any stack that has `k`, `losses(batch, members)`,
`member_state(j)` and `per_member(tensors)` as K independent runs of hepad.training.fit.
"""

from __future__ import annotations

import logging
import math
import os
import time
from typing import Sequence

import torch
from torch import nn
from torch.nn.utils.rnn import pad_sequence

from hepad.errors import InputError, TrainingDiverged
from hepad.io.atomic import atomic_path
from hepad.training import (FitResult, TrainConfig, autocast, check_precision, fingerprint, lr_at, _load_checkpoint,
                            make_optimizer, _patience_exhausted, resolve_device, _update_best, write_history)

log = logging.getLogger(__name__)

__all__ = ["StackedMLP", "fit_stack"]

class _Linear(torch.autograd.Function):
    """nn.Linear per member: x [K', B, in], weight [K', out, in], bias [K', out]. The backward is
    nn.Linear's (weight gradient gᵀx, not autograd's transposed xᵀg of bmm): for a stack of one the
    same gemm calls, so the same gradients bit for bit. Always in the weights' precision (float32), also
    under autocast (training.autocast): its backward would meet bfloat16 gradients otherwise."""

    @staticmethod
    def forward(ctx, x, w, b):
        x = x.to(w.dtype)
        ctx.save_for_backward(x, w)
        with torch.autocast(x.device.type, enabled=False):
            return torch.baddbmm(b.unsqueeze(1), x, w.mT)

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        return g.bmm(w) if ctx.needs_input_grad[0] else None, g.mT.bmm(x), g.sum(1)


class StackedMLP(nn.Module):
    """K ReLU MLPs nn.Sequential(Linear(widths[0], widths[1]), ReLU, ..., Linear(widths[-2], widths[-1]))
    with batched weights: weight{i} [K, out, in], bias{i} [K, out] (uninitialised: load members)."""

    def __init__(self, widths: Sequence[int], k: int):
        super().__init__()
        self.widths, self.k = list(widths), k
        for i, (n_in, n_out) in enumerate(zip(widths, widths[1:])):
            self.register_parameter(f"weight{i}", nn.Parameter(torch.empty(k, n_out, n_in)))
            self.register_parameter(f"bias{i}", nn.Parameter(torch.empty(k, n_out)))

    def _layers(self) -> list[tuple[nn.Parameter, nn.Parameter]]:
        return [(getattr(self, f"weight{i}"), getattr(self, f"bias{i}")) for i in range(len(self.widths) - 1)]

    def forward(self, x, members: torch.Tensor | None = None):
        """x [K', B, widths[0]] -> [K', B, widths[-1]]; members: the K' member indices (default all)."""
        layers = self._layers()
        for i, (w, b) in enumerate(layers):
            x = _Linear.apply(x, *((w, b) if members is None else (w[members], b[members])))
            if i < len(layers) - 1:
                x = torch.relu_(x)
        return x

    def per_member(self, tensors: Sequence[torch.Tensor]) -> list[list[torch.Tensor]]:
        """Per member, views of `tensors` (laid out as self.parameters()) as the Sequential's parameters."""
        return [list(ts) for ts in zip(*(t.unbind(0) for t in tensors))]

    def member_state(self, j: int, prefix: str = "") -> dict:
        """Member j's state_dict as the Sequential's (keys 0.weight, 0.bias, 2.weight, ...), CPU copies."""
        return {f"{prefix}{2 * i}.{name}": t[j].detach().to("cpu", copy=True)
                for i, layer in enumerate(self._layers()) for name, t in zip(("weight", "bias"), layer)}

    @torch.no_grad()
    def load_member(self, j: int, state: dict, prefix: str = "") -> None:
        for i, (w, b) in enumerate(self._layers()):
            w[j].copy_(state[f"{prefix}{2 * i}.weight"])
            b[j].copy_(state[f"{prefix}{2 * i}.bias"])


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
    """torch Adam/AdamW (fused) over per-member views of the stacked weights, laid out as the single
    models' parameters (stack.per_member): a member that takes no part in a step (out of batches, or
    stopped) gets no gradient and is skipped like any parameter without one: no update, no change of
    its Adam state or step count. Weight decay and the fused kernel are elementwise, so every member
    gets exactly the update that training.fit gives its single model."""

    def __init__(self, stack: nn.Module, cfg: TrainConfig):
        self.stack, self.params = stack, list(stack.parameters())
        self.rows = stack.per_member([p.detach() for p in self.params])  # share the parameters' storage
        self.opt = make_optimizer([r for m in self.rows for r in m], cfg)

    def step(self, stepping: list[bool]) -> None:
        for on, rows, grads in zip(stepping, self.rows, self.stack.per_member([p.grad for p in self.params])):
            for r, g in zip(rows, grads):
                r.grad = g if on else None
        self.opt.step()


def fit_stack(
    stack: nn.Module,
    train: Sequence[Sequence[torch.Tensor]],
    val: Sequence[Sequence[torch.Tensor]],
    cfg: TrainConfig,
    seeds: Sequence[int],
    names: Sequence[str] | None = None,
    checkpoint: str | os.PathLike | None = None,
    loss_files: Sequence[str | os.PathLike] | None = None,
) -> list[FitResult]:
    """hepad.training.fit for the K members of `stack` at once, each as if trained alone with `cfg`
    and seed seeds[k]: its own events train[k] and val[k] (a list of tensors as training.fit takes,
    e.g. [x] or [x, context]; counts may differ), its own batch order (a torch.Generator seeded with
    seeds[k]: its own permutation of its own events each epoch, in batches of cfg.batch_size), its own
    Adam state, batch-norm statistics, best-epoch states and early stopping (a stopped member is
    frozen). The loss is the sum of the members' mean batch losses: no gradient mixes members.

    `stack`: a StackedFlow (loss maf.nll_loss) or any module with `k`, `losses(batch, members)` (the
    members' mean batch losses [K']), `member_state(j)` and `per_member(tensors)` (see StackedFlow).
    names[k] identifies member k in errors (TrainingDiverged). `checkpoint`: the whole stack after
    every epoch; if it exists and was made from the same inputs (fingerprint: see training.fit, over
    all members, and the seeds), training resumes from it and ends as an uninterrupted run; otherwise
    it is discarded, with a log line saying what differs. Returns one FitResult per member; its
    best_states load into the plain model (ConditionalFlow). The initial weights are the stack's (see
    StackedFlow.init_from_seeds); cfg.seed is not used and this loop draws no global random numbers.
    """
    k = stack.k
    if not len(train) == len(val) == len(seeds) == k:
        raise InputError(f"fit_stack: {len(train)} training sets, {len(val)} validation sets and {len(seeds)} "
                         f"seeds for {k} members")
    names = list(names) if names is not None else [f"member {j}" for j in range(k)]
    made_from = None
    if checkpoint is not None:
        made_from = fingerprint(stack, stack.losses, [t for d in train for t in d], [t for d in val for t in d], cfg,
                                "; ".join(names)) | {"seeds": list(seeds)}
    device = resolve_device(cfg.device)
    check_precision(cfg, device, f"stack of {k}")
    stack.to(device)
    tr, tr_off, tr_n = _concat(train, device)
    va, va_off, va_n = _concat(val, device)
    if tr_n.min() < 1:
        raise InputError(f"fit_stack: no training events for {names[int(tr_n.argmin())]}")
    val_index = _padded([o + torch.arange(n) for o, n in zip(va_off, va_n)], device)
    opt = _MemberAdam(stack, cfg)
    gens = [torch.Generator(device="cpu").manual_seed(s) for s in seeds]
    results = [FitResult(best_states=[], best_losses=[]) for _ in range(k)]
    stopped = [False] * k
    start_epoch = 0
    state = _load_checkpoint(checkpoint, made_from, device, f"stack of {k}")
    if state is not None:
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
        for group in opt.opt.param_groups:
            group["lr"] = lr_at(cfg, epoch)
        stack.train()
        perm = _padded([tr_off[j] + torch.randperm(int(tr_n[j]), generator=gens[j]) for j in active], device)
        total = torch.zeros(k, device=device)
        for groups in _steps(perm, tr_n[active], active, k, cfg.batch_size):
            loss = 0.0
            stepping = [False] * k
            for ids, idx in groups:
                with autocast(cfg, device):
                    losses = stack.losses([t[idx] for t in tr], ids)
                sel = slice(None) if ids is None else ids
                total[sel] += losses.detach() * idx.shape[1]
                loss = loss + losses.sum()
                for j in range(k) if ids is None else ids.tolist():
                    stepping[j] = True
            stack.zero_grad(set_to_none=True)
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
                                epoch=epoch, made_from=made_from), tmp)
    for path, r in zip(loss_files or [], results):
        write_history(path, r.history)
    return results


@torch.no_grad()
def _evaluate(stack: nn.Module, data, index, n, active, batch_size: int) -> list[float]:
    """Mean loss per member over its own events, summed as training.evaluate does (batch means
    weighted by batch size); 0 for members not in `active`."""
    stack.eval()
    totals = [0.0] * stack.k
    for groups in _steps(index[active.to(index.device)], n[active], active, stack.k, batch_size):
        for ids, idx in groups:
            losses = stack.losses([t[idx] for t in data], ids).tolist()
            for j, loss in zip(range(stack.k) if ids is None else ids.tolist(), losses):
                totals[j] += loss * idx.shape[1]
    return [t / max(int(m), 1) for t, m in zip(totals, n)]
