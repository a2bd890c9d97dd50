"""Invertible preprocessing of the flow inputs with its exact log-Jacobian.

x -> u = (x - lo) / (hi - lo)            min-max scale with the training set's range (+ margin)
  -> v = alpha + (1 - 2 alpha) u         keeps the logit finite at the range edges
  -> y = log(v / (1 - v))                logit
  -> z = (y - mean) / std                standardize (training-set moments of y)

Every step acts per feature, so log|dz/dx| is a sum over features and
log p_x(x) = log p_z(z) + logdet. The map is defined only for lo <= x <= hi: callers must drop
events outside the fitted range (`inside`), e.g. a DensityModel gives them log p = -inf.
Computed in float64 whatever the input dtype; the result is cast back to the input's dtype.
"""

from __future__ import annotations

import numpy as np
import torch

from hepad.errors import InputError


def _as64(x) -> torch.Tensor:
    return torch.as_tensor(x).to(torch.float64)


class Preprocessor:
    def __init__(self, alpha: float = 1e-6, margin: float = 0.0, standardize: bool = True):
        """`margin`: widen [min, max] by this fraction of the range on each side (events slightly
        outside the training range stay usable). `alpha` in [0, 0.5): logit clipping."""
        if not 0.0 <= alpha < 0.5 or margin < 0:
            raise InputError(f"Preprocessor: alpha={alpha}, margin={margin}; expected 0 <= alpha < 0.5, margin >= 0")
        self.alpha, self.margin, self.standardize = float(alpha), float(margin), bool(standardize)
        self.lo = self.hi = self.mean = self.std = None

    @property
    def fitted(self) -> bool:
        return self.lo is not None

    def fit(self, x) -> Preprocessor:
        x = _as64(x)
        if x.ndim != 2 or len(x) < 2 or not torch.isfinite(x).all():
            raise InputError(f"Preprocessor.fit: expected a finite (n>=2, features) array, got shape {tuple(x.shape)}")
        lo, hi = x.min(0).values, x.max(0).values
        if (hi <= lo).any():
            raise InputError(f"Preprocessor.fit: constant feature(s) {torch.nonzero(hi <= lo).flatten().tolist()}")
        pad = self.margin * (hi - lo)
        self.lo, self.hi = lo - pad, hi + pad
        self.mean, self.std = torch.zeros_like(lo), torch.ones_like(lo)
        if self.standardize:
            y = self._logit(x)[0]
            if not torch.isfinite(y).all():
                raise InputError("Preprocessor.fit: logit is infinite at the range edge; use alpha > 0 or margin > 0")
            self.mean, self.std = y.mean(0), y.std(0)
        return self

    def _check(self, x: torch.Tensor) -> None:
        if not self.fitted:
            raise RuntimeError("Preprocessor: call fit() first")
        if x.ndim != 2 or x.shape[1] != len(self.lo):
            raise InputError(f"Preprocessor: expected shape (n, {len(self.lo)}), got {tuple(x.shape)}")

    def _logit(self, x: torch.Tensor):
        lo, hi = self.lo.to(x.device), self.hi.to(x.device)
        v = self.alpha + (1 - 2 * self.alpha) * (x - lo) / (hi - lo)
        y = torch.log(v) - torch.log1p(-v)
        logdet = -torch.log(v) - torch.log1p(-v) + np.log1p(-2 * self.alpha) - torch.log(hi - lo)
        return y, logdet

    def transform(self, x):
        """(z, logdet): z with x's shape, logdet = log|dz/dx| per event, shape (n,)."""
        x = torch.as_tensor(x)
        self._check(x)
        dtype = x.dtype if x.is_floating_point() else torch.float64
        y, logdet = self._logit(x.to(torch.float64))
        mean, std = self.mean.to(x.device), self.std.to(x.device)
        z = (y - mean) / std
        logdet = (logdet - torch.log(std)).sum(1)
        return z.to(dtype), logdet.to(dtype)

    def inverse(self, z):
        z = torch.as_tensor(z)
        self._check(z)
        dtype = z.dtype if z.is_floating_point() else torch.float64
        z64 = z.to(torch.float64)
        v = torch.sigmoid(z64 * self.std.to(z.device) + self.mean.to(z.device))
        u = (v - self.alpha) / (1 - 2 * self.alpha)
        x = self.lo.to(z.device) + u * (self.hi - self.lo).to(z.device)
        return x.to(dtype)

    def inside(self, x) -> torch.Tensor:
        """Boolean mask (n,): all features finite and within the fitted range [lo, hi]."""
        x = torch.as_tensor(x)
        self._check(x)
        x = x.to(torch.float64)
        return ((x >= self.lo.to(x.device)) & (x <= self.hi.to(x.device))).all(1)

    def state_dict(self) -> dict:
        if not self.fitted:
            raise RuntimeError("Preprocessor: call fit() first")
        arrays = {k: getattr(self, k).cpu().numpy() for k in ("lo", "hi", "mean", "std")}
        return dict(arrays, alpha=self.alpha, margin=self.margin, standardize=self.standardize)

    @classmethod
    def from_state(cls, state: dict) -> Preprocessor:
        p = cls(alpha=state["alpha"], margin=state["margin"], standardize=state["standardize"])
        for k in ("lo", "hi", "mean", "std"):
            setattr(p, k, torch.as_tensor(np.asarray(state[k]), dtype=torch.float64))
        return p
