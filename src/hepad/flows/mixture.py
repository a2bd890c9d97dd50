"""R-ANODE's mixture likelihood: a trainable signal flow next to a frozen background density."""

from __future__ import annotations

import math

import torch


class SignalMixture(torch.nn.Module):
    """Signal flow + mixture weight; loss = -log(w p_S + (1 - w) p_B) per event."""

    def __init__(self, flow, w0: float, learn_w: bool, w_scale: float = 1.0):
        super().__init__()
        self.flow, self.w_scale = flow, w_scale  # w = sigmoid(w_scale theta): Adam moves logit(w) w_scale x faster
        theta = torch.tensor(math.log(w0 / (1 - w0)) / w_scale)
        if learn_w:
            self.theta = torch.nn.Parameter(theta)
        else:
            self.register_buffer("theta", theta)

    @property
    def w(self) -> float:
        return float(torch.sigmoid(self.w_scale * self.theta.detach()))

    def loss(self, batch):
        z, logdet, log_pb = batch
        log_ps = self.flow.log_prob(z) + logdet
        w = torch.sigmoid(self.w_scale * self.theta)
        return -torch.logaddexp(torch.log(w) + log_ps, torch.log1p(-w) + log_pb).mean()


class StackedSignalMixture(torch.nn.Module):
    """K SignalMixtures of one architecture (hepad.stacking.fit_stack): the signal flows a
    StackedFlow (unconditional), theta [K]. Member k is SignalMixture(flows[k], w0s[k], learn_w)."""

    def __init__(self, mixtures):
        from hepad.flows.stacked import StackedFlow

        super().__init__()
        self.k = len(mixtures)
        self.flows = StackedFlow.from_members([m.flow for m in mixtures])
        self.learn_w = isinstance(mixtures[0].theta, torch.nn.Parameter)
        self.w_scale = mixtures[0].w_scale
        theta = torch.stack([m.theta.detach().clone() for m in mixtures])
        if self.learn_w:
            self.theta = torch.nn.Parameter(theta)
        else:
            self.register_buffer("theta", theta)

    def losses(self, batch, members=None):
        """Per member, SignalMixture.loss of its batch [z, logdet, log_pb] ([K', b, F], [K', b], [K', b])."""
        z, logdet, log_pb = batch
        log_ps = self.flows.log_prob(z, members=members) + logdet
        w = torch.sigmoid(self.w_scale * (self.theta if members is None else self.theta[members])).unsqueeze(1)
        return -torch.logaddexp(torch.log(w) + log_ps, torch.log1p(-w) + log_pb).mean(1)

    def member_state(self, j: int) -> dict:
        """Member j's state_dict as SignalMixture's, CPU copies."""
        flow = {f"flow.{k}": v for k, v in self.flows.member_state(j).items()}
        return flow | {"theta": self.theta[j].detach().to("cpu", copy=True)}

    def per_member(self, tensors):
        """Views of `tensors` (laid out as self.parameters(): theta first, then the flows') as each
        SignalMixture's parameters."""
        tensors = list(tensors)
        if not self.learn_w:
            return self.flows.per_member(tensors)
        theta, *flow = tensors
        return [rows + [t] for rows, t in zip(self.flows.per_member(flow), theta.unbind(0))]
