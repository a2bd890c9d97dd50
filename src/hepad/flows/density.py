"""DensityModel: preprocessing + conditional MAF + best-epoch ensemble = a density p(x | m) in the
original coordinates of x, the building block of ANODE, CATHODE, R-ANODE and SIGMA.

- The preprocessing (min-max, logit, standardize) is fitted on the training x; its log-Jacobian
  is included in log_prob, and events outside the fitted range get log p = -inf (callers that
  need finite values drop them: `inside`). Validation events outside the range are dropped.
- The context m is used as given (CATHODE: raw m_jj in TeV), shape (n,) or (n, k); m=None makes
  the model unconditional. standardize_context=True feeds the flow (m - mean) / std of the training
  m instead: the same model family, but it learns the m dependence much faster (a flow fitted to
  x | m ~ N(m, 0.1), m in [3, 4]: first-epoch validation loss 0.38 instead of 1.32).
- Ensemble of the k best epochs: p(x|m) = (1/k) sum_j p_j(x|m); sampling draws the member
  uniformly per event, i.e. samples that same mixture.
"""

from __future__ import annotations

import copy
import logging
import math
import os
from dataclasses import asdict

import numpy as np
import torch

from hepad.errors import InputError
from hepad.flows import maf
from hepad.flows.maf import ConditionalFlow, FlowConfig, build_flow, nll_loss
from hepad.flows.preprocessing import Preprocessor
from hepad.io.atomic import atomic_path
from hepad.training import FitResult, TrainConfig, ensemble, fit, resolve_device, seed_everything

log = logging.getLogger(__name__)


def _x(x, what: str) -> torch.Tensor:
    x = torch.as_tensor(np.asarray(x, dtype=np.float64))
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise InputError(f"{what}: expected an (n, features) array, got shape {tuple(x.shape)}")
    return x


def _context(m, n: int, what: str) -> torch.Tensor | None:
    if m is None:
        return None
    c = _x(m, what)
    if len(c) != n:
        raise InputError(f"{what}: {len(c)} context rows for {n} events")
    return c


def fresh_embedding(template: torch.nn.Module | None) -> torch.nn.Module | None:
    """A copy of the embedding template, initialised from the current (seeded) global RNG."""
    if template is None:
        return None
    emb = copy.deepcopy(template)
    for mod in emb.modules():
        if hasattr(mod, "reset_parameters"):
            mod.reset_parameters()
    return emb


class DensityModel:
    def __init__(self, flow_cfg: FlowConfig | None = None, alpha: float = 1e-6, margin: float = 0.0,
                 embedding: torch.nn.Module | None = None, standardize_context: bool = False):
        """`alpha`, `margin`: see Preprocessor. `embedding`: optional context embedding module
        (an untrained template, trained with the flow; it sees the context after standardization)."""
        self.flow_cfg = flow_cfg or FlowConfig()
        self.prep = Preprocessor(alpha=alpha, margin=margin)
        self.embedding = embedding
        self.standardize_context = standardize_context
        self.ctx_shift = self.ctx_scale = None
        self.members: list[ConditionalFlow] = []
        self.features = self.context_features = None
        self.device = torch.device("cpu")

    def _build(self) -> ConditionalFlow:
        return build_flow(self.flow_cfg, self.features, self.context_features, fresh_embedding(self.embedding))

    def _ctx(self, c: torch.Tensor | None) -> torch.Tensor | None:
        if c is None or self.ctx_shift is None:
            return None if c is None else c.float()
        return ((c - self.ctx_shift) / self.ctx_scale).float()

    def prepare(self, x, m, x_val, m_val, name: str = "flow") -> tuple[list, list]:
        """Fit the preprocessing (on x) and the context scaling; the flow's training and validation
        tensors [z] or [z, context] (validation events outside the training range dropped)."""
        x, xv = _x(x, f"{name}: x"), _x(x_val, f"{name}: x_val")
        c, cv = _context(m, len(x), f"{name}: m"), _context(m_val, len(xv), f"{name}: m_val")
        if (c is None) != (cv is None):
            raise InputError(f"{name}: give a context for both training and validation events or for neither")
        if not torch.isfinite(x).all() or (c is not None and not torch.isfinite(c).all()):
            raise InputError(f"{name}: training events contain NaN/inf")
        if c is not None and self.standardize_context:
            self.ctx_shift, self.ctx_scale = c.mean(0), c.std(0).clamp_min(1e-12)
        self.prep.fit(x)
        keep = self.prep.inside(xv)
        if cv is not None:
            keep &= torch.isfinite(cv).all(1)
        if not keep.any():
            raise InputError(f"{name}: no validation event inside the training range")
        if not keep.all():
            log.info("%s: %d of %d validation events outside the training range dropped", name,
                     int((~keep).sum()), len(xv))
        self.features, self.context_features = x.shape[1], 0 if c is None else c.shape[1]
        z, zv = self.prep.transform(x)[0].float(), self.prep.transform(xv[keep])[0].float()
        if c is None:
            return [z], [zv]
        return [z, self._ctx(c)], [zv, self._ctx(cv[keep])]

    def initial_flow(self, seed: int) -> ConditionalFlow:
        """The untrained flow whose initial weights follow `seed` (after prepare())."""
        seed_everything(seed)
        return self._build()

    def adopt(self, flow: ConditionalFlow, result: FitResult, device: str) -> None:
        """Keep the best epochs of a training of `flow` as the ensemble."""
        self.members = ensemble(flow, result.best_states)
        self.device = resolve_device(device)

    def fit(self, x, m, x_val, m_val, train_cfg: TrainConfig, name: str = "flow",
            checkpoint: str | os.PathLike | None = None, loss_file: str | os.PathLike | None = None,
            compile: bool = False) -> FitResult:
        """Fit preprocessing (on x) and flow; keeps the `train_cfg.keep_best` epochs as ensemble.
        `compile`: see maf.nll_loss (faster steps after a 1-2 minute compilation)."""
        train, val = self.prepare(x, m, x_val, m_val, name)
        flow = self.initial_flow(train_cfg.seed)
        result = fit(flow, nll_loss(flow, compile), train, val, train_cfg, name, checkpoint, loss_file)
        self.adopt(flow, result, train_cfg.device)
        return result

    def _check(self) -> None:
        if not self.members:
            raise RuntimeError("DensityModel: fit() or load() first")

    def inside(self, x) -> np.ndarray:
        """Events inside the fitted range of the preprocessing (log_prob is finite there)."""
        self._check()
        return self.prep.inside(_x(x, "x")).numpy()

    def log_prob(self, x, m=None, batch_size: int | None = None) -> np.ndarray:
        """log p(x | m) in the original coordinates of x (float64); -inf outside the fitted range."""
        self._check()
        x = _x(x, "x")
        c = _context(m, len(x), "m")
        inside = self.prep.inside(x)
        if c is not None:
            inside &= torch.isfinite(c).all(1)
        z, logdet = self.prep.transform(x[inside])
        ci = None if c is None else self._ctx(c[inside])
        lps = torch.stack([torch.from_numpy(maf.log_prob(f, z.float(), ci, batch_size)) for f in self.members])
        out = torch.full((len(x),), -math.inf, dtype=torch.float64)
        out[inside] = torch.logsumexp(lps, 0) - math.log(len(self.members)) + logdet
        return out.numpy()

    def sample(self, m=None, num_samples: int | None = None, seed: int | None = None,
               batch_size: int | None = None) -> np.ndarray:
        """One x per row of m (or `num_samples` if unconditional), original coordinates, float64."""
        self._check()
        if (m is None) != (self.context_features == 0) or (m is None and num_samples is None):
            raise InputError(f"DensityModel.sample: the model has {self.context_features} context features; "
                             "give m for a conditional model, num_samples for an unconditional one")
        c = None if m is None else self._ctx(_context(m, len(np.asarray(m)), "m"))
        n = num_samples if c is None else len(c)
        g = torch.Generator().manual_seed(seed) if seed is not None else None
        member = torch.randint(len(self.members), (n,), generator=g)
        out = torch.empty(n, self.features, dtype=torch.float64)
        for j, flow in enumerate(self.members):
            idx = torch.nonzero(member == j).flatten()
            if len(idx):
                z = maf.sample(flow, None if c is None else c[idx], len(idx), batch_size, g)
                out[idx] = self.prep.inverse(z.double())
        return out.numpy()

    def to(self, device: str | torch.device) -> DensityModel:
        self.device = resolve_device(device) if isinstance(device, str) else device
        self.members = [f.to(self.device) for f in self.members]
        return self

    def save(self, path: str | os.PathLike) -> None:
        self._check()
        state = dict(flow_cfg=asdict(self.flow_cfg), prep=self.prep.state_dict(), features=self.features,
                     context_features=self.context_features, embedding=self.embedding,
                     ctx=None if self.ctx_shift is None else (self.ctx_shift.numpy(), self.ctx_scale.numpy()),
                     states=[{k: v.detach().cpu() for k, v in f.state_dict().items()} for f in self.members])
        with atomic_path(path) as tmp:
            torch.save(state, tmp)

    @classmethod
    def load(cls, path: str | os.PathLike, device: str = "cpu") -> DensityModel:
        state = torch.load(path, map_location="cpu", weights_only=False)
        self = cls(FlowConfig(**state["flow_cfg"]), embedding=state["embedding"],
                   standardize_context=state["ctx"] is not None)
        self.prep = Preprocessor.from_state(state["prep"])
        if state["ctx"] is not None:
            self.ctx_shift, self.ctx_scale = (torch.as_tensor(a, dtype=torch.float64) for a in state["ctx"])
        self.features, self.context_features = state["features"], state["context_features"]
        self.members = ensemble(self._build(), state["states"])
        return self.to(device)
