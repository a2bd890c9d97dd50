"""R-ANODE's mixture likelihood: a trainable signal flow next to a frozen background density."""

from __future__ import annotations

import math

import torch


class SignalMixture(torch.nn.Module):
    """Signal flow + mixture weight; loss = -log(w p_S + (1 - w) p_B) per event."""

    def __init__(self, flow, w0: float, learn_w: bool):
        super().__init__()
        self.flow = flow
        theta = torch.tensor(math.log(w0 / (1 - w0)))
        if learn_w:
            self.theta = torch.nn.Parameter(theta)
        else:
            self.register_buffer("theta", theta)

    @property
    def w(self) -> float:
        return float(torch.sigmoid(self.theta.detach()))

    def loss(self, batch):
        z, logdet, log_pb = batch
        log_ps = self.flow.log_prob(z) + logdet
        w = torch.sigmoid(self.theta)
        return -torch.logaddexp(torch.log(w) + log_ps, torch.log1p(-w) + log_pb).mean()
