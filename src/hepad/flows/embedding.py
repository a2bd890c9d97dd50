"""SIGMA's m_jj embedding: Fourier features + MLP, and its interpolation between two anchor masses."""

from __future__ import annotations

import math

import torch
from torch import nn


class FourierEmbedding(nn.Module):
    def __init__(self, lo: float, hi: float, n_freq: int = 9, hidden: int = 64, out: int = 8):
        super().__init__()
        self.register_buffer("lo", torch.tensor(float(lo)))
        self.register_buffer("hi", torch.tensor(float(hi)))
        self.register_buffer("freq", math.pi * 2.0 ** torch.arange(n_freq))
        self.net = nn.Sequential(nn.Linear(1 + 2 * n_freq, hidden), nn.ReLU(), nn.Linear(hidden, out))

    def forward(self, m: torch.Tensor) -> torch.Tensor:
        u = 2 * (m - self.lo) / (self.hi - self.lo) - 1
        return self.net(torch.cat([u, torch.sin(u * self.freq), torch.cos(u * self.freq)], dim=-1))


class InterpolatedEmbedding(nn.Module):
    """h(m) -> a h(m_lo) + (1 - a) h(m_hi): the context of a mass between two anchors."""

    def __init__(self, embedding: nn.Module, m_lo: float, m_hi: float):
        super().__init__()
        self.embedding, self.m_lo, self.m_hi = embedding, m_lo, m_hi

    def forward(self, m: torch.Tensor) -> torch.Tensor:
        anchors = torch.tensor([[self.m_lo], [self.m_hi]], dtype=m.dtype, device=m.device)
        h_lo, h_hi = self.embedding(anchors)
        a = (self.m_hi - m) / (self.m_hi - self.m_lo)
        return a * h_lo + (1 - a) * h_hi
