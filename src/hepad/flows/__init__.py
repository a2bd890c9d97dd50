"""Normalizing flows: invertible preprocessing, conditional MAF on nflows, density models."""

from hepad.flows.density import DensityModel
from hepad.flows.maf import ConditionalFlow, FlowConfig, build_flow, log_prob, nll_loss, sample
from hepad.flows.preprocessing import Preprocessor

__all__ = ["ConditionalFlow", "DensityModel", "FlowConfig", "Preprocessor", "build_flow", "log_prob", "nll_loss",
           "sample"]
