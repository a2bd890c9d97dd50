"""K conditional MAFs of one architecture as one module with batched weights (trained with
hepad.stacking.fit_stack).

- Member k is exactly ConditionalFlow(cfg, features, context_features): the same MADE masks, block
  orders, elementwise transforms and batch norm (running statistics per member). `from_members` and
  `member` convert both ways, so outputs stay one ConditionalFlow state_dict per model.
- Inputs are [K, B, features] with context [K, B, context_features] (each member its own batch);
  log_prob returns [K, B]. `members` (indices) evaluates a subset of the members instead.
- All weights live in one parameter `theta` [K, blocks, weights per block] with one mask
  [blocks, weights per block], applied once per call.
- SIGMA's context embedding (FourierEmbedding) per member: StackedFourierEmbedding, its MLP a
  StackedMLP, its lo/hi/freq buffers per member. Other embeddings and dropout are not supported.
"""

from __future__ import annotations

from typing import Sequence

import torch
from nflows.transforms.base import InverseNotAvailable
from nflows.transforms.splines import rational_quadratic as rq
from torch import nn
from torch.nn import functional as F

from hepad.errors import InputError
from hepad.flows.density import fresh_embedding
from hepad.flows.embedding import FourierEmbedding
from hepad.flows.maf import ConditionalFlow, FlowConfig, MAFBlock
from hepad.stacking import StackedMLP, fit_stack

__all__ = ["StackedFlow", "StackedFourierEmbedding", "fit_stack"]

class StackedFourierEmbedding(nn.Module):
    """K FourierEmbeddings (hepad.flows.embedding) of one architecture: lo, hi [K], freq [K, n_freq]
    per member, the MLP a StackedMLP."""

    def __init__(self, embeddings: Sequence[FourierEmbedding]):
        super().__init__()
        if any(type(e) is not FourierEmbedding for e in embeddings):
            raise InputError(f"StackedFlow: the context embedding must be a FourierEmbedding, got "
                             f"{sorted({type(e).__name__ for e in embeddings})}")
        widths = {(e.net[0].in_features, e.net[0].out_features, e.net[2].out_features) for e in embeddings}
        if len(widths) > 1:
            raise InputError(f"StackedFlow: the members' FourierEmbeddings need one architecture, got widths "
                             f"{sorted(widths)}")
        self.k = len(embeddings)
        self.register_buffer("lo", torch.stack([e.lo for e in embeddings]))
        self.register_buffer("hi", torch.stack([e.hi for e in embeddings]))
        self.register_buffer("freq", torch.stack([e.freq for e in embeddings]))
        self.net = StackedMLP(widths.pop(), self.k)
        for j, e in enumerate(embeddings):
            self.net.load_member(j, e.net.state_dict())

    def forward(self, m, members: torch.Tensor | None = None):
        """m [K', B, 1] -> [K', B, out], FourierEmbedding.forward per member."""
        sel = slice(None) if members is None else members
        lo, hi, freq = self.lo[sel, None, None], self.hi[sel, None, None], self.freq[sel, None]
        u = 2 * (m - lo) / (hi - lo) - 1
        return self.net(torch.cat([u, torch.sin(u * freq), torch.cos(u * freq)], dim=-1), members)

    def member(self, j: int) -> FourierEmbedding:
        """A FourierEmbedding with member j's architecture and buffers (weights drawn from the global RNG)."""
        return FourierEmbedding(float(self.lo[j]), float(self.hi[j]), self.freq.shape[1], *self.net.widths[1:])

    def member_state(self, j: int, prefix: str = "") -> dict:
        """Member j's state_dict as FourierEmbedding's, CPU copies."""
        state = {f"{prefix}{name}": getattr(self, name)[j].detach().to("cpu", copy=True)
                 for name in ("lo", "hi", "freq")}
        return state | self.net.member_state(j, f"{prefix}net.")

    @torch.no_grad()
    def load_member(self, j: int, state: dict, prefix: str = "") -> None:
        for name in ("lo", "hi", "freq"):
            getattr(self, name)[j].copy_(state[f"{prefix}{name}"])
        self.net.load_member(j, state, f"{prefix}net.")


class StackedFlow(nn.Module):
    """K members with the architecture of ConditionalFlow(cfg, features, context_features, embedding).
    `embedding`: None, one FourierEmbedding template for all members or one per member (their lo/hi).
    A new stack's members are initialised as K flows built one after another by DensityModel._build
    (global RNG)."""

    def __init__(self, cfg: FlowConfig, features: int, context_features: int, k: int,
                 embedding: FourierEmbedding | Sequence[FourierEmbedding] | None = None):
        if cfg.dropout or k < 1:
            raise InputError(f"StackedFlow: needs k >= 1 (got {k}) and dropout 0 (got {cfg.dropout})")
        embeddings = [embedding] * k if embedding is None or isinstance(embedding, nn.Module) else list(embedding)
        if len(embeddings) != k:
            raise InputError(f"StackedFlow: {len(embeddings)} embeddings for {k} members")
        super().__init__()
        flows = [ConditionalFlow(cfg, features, context_features, fresh_embedding(e)) for e in embeddings]
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
        self.embedding = None if embedding is None else StackedFourierEmbedding([f._embedding_net for f in flows])
        for j, f in enumerate(flows):
            self._load_member(j, f.state_dict())

    # ------------------------------------------------------------ members <-> ConditionalFlow

    @classmethod
    def from_members(cls, flows: Sequence[ConditionalFlow]) -> StackedFlow:
        """A stack whose member k carries the parameters and buffers of flows[k]."""
        f0 = flows[0]
        embeddings = [None if isinstance(f._embedding_net, nn.Identity) else f._embedding_net for f in flows]
        for f, e in zip(flows, embeddings):
            if (f.cfg, f.features, f.context_features) != (f0.cfg, f0.features, f0.context_features) or \
                    (e is None) != (embeddings[0] is None):
                raise InputError("StackedFlow.from_members: the flows need one config, features, context "
                                 "features and all or none an embedding")
        with torch.random.fork_rng(devices=[]):  # the throwaway initial weights leave the RNG alone
            stack = cls(f0.cfg, f0.features, f0.context_features, len(flows),
                        None if embeddings[0] is None else embeddings).to(next(f0.parameters()))
        for j, f in enumerate(flows):
            stack._load_member(j, f.state_dict())
        return stack

    def init_from_seeds(self, seeds: Sequence[int]) -> StackedFlow:
        """Member k gets the initial weights (flow and embedding) of DensityModel._build after
        torch.manual_seed(seeds[k]): the embedding is reset first, then the flow's blocks are drawn."""
        if len(seeds) != self.k:
            raise InputError(f"StackedFlow.init_from_seeds: {len(seeds)} seeds for {self.k} members")
        with torch.random.fork_rng(devices=[]):
            for j, s in enumerate(seeds):
                template = None if self.embedding is None else self.embedding.member(j)
                torch.manual_seed(s)
                self._load_member(j, ConditionalFlow(self.cfg, self.features, self.context_features,
                                                     fresh_embedding(template)).state_dict())
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
        if self.embedding is not None:
            self.embedding.load_member(j, state, "_embedding_net.")

    def member_state(self, j: int) -> dict:
        """Member j's state_dict as ConditionalFlow's, CPU copies."""
        state = {f"{prefix}.{name}": t[i].detach().to("cpu", copy=True)
                 for name, t in self._member_tensors(j).items() for i, prefix in enumerate(self._prefixes)}
        return state if self.embedding is None else state | self.embedding.member_state(j, "_embedding_net.")

    def member(self, j: int) -> ConditionalFlow:
        """Member j as a plain ConditionalFlow (device and dtype of the stack, the stack's mode)."""
        with torch.random.fork_rng(devices=[]):
            embedding = None if self.embedding is None else self.embedding.member(j)
            flow = ConditionalFlow(self.cfg, self.features, self.context_features, embedding).to(self.theta)
        flow.load_state_dict(self.member_state(j))
        return flow.train(self.training)

    def per_member(self, tensors: Sequence[torch.Tensor]) -> list[list[torch.Tensor]]:
        """Per member, views of `tensors` (laid out as self.parameters()) as ConditionalFlow.parameters()."""
        theta, *emb = tensors
        rows = [list(t.unbind(0)) for t in theta.unbind(0)]
        return [r + e for r, e in zip(rows, self.embedding.net.per_member(emb))] if emb else rows

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
        return h.float().unflatten(-1, (self.features, self.mult))  # float32 under autocast (training.autocast)

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

    def _embed(self, context, members):
        return context if self.embedding is None or context is None else self.embedding(context, members)

    def forward(self, x, context=None, members: torch.Tensor | None = None):
        """x [K', B, features] -> (noise z, log|det dz/dx| [K', B]); members: the K' member indices
        (default: all K). Training mode uses (and updates) the batch statistics of each member's batch."""
        self._check(x, context, members)
        context = self._embed(context, members)
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
        context = self._embed(context, members)
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

    def losses(self, batch: Sequence[torch.Tensor], members: torch.Tensor | None = None) -> torch.Tensor:
        """Per member, the mean negative log-likelihood (maf.nll_loss) of its batch [x] or [x, context]."""
        return -self.log_prob(*batch, members=members).mean(1)

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
