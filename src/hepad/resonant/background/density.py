"""Conditional densities p(x | m_jj) of the resonant study from the config's flow options: the
sideband flow, SIGMA's model, ANODE's SR flow all go through `fit_density`.
"""

from __future__ import annotations

import logging
from dataclasses import fields

import numpy as np

from hepad.errors import InputError, TrainingDiverged

log = logging.getLogger(__name__)

# Flow options (config `resonant.flow`, overridable per method) -> FlowConfig / TrainConfig fields.
TRAIN_KEYS = ("epochs", "batch_size", "lr", "weight_decay", "keep_best", "patience", "optimizer", "lr_schedule")
MODEL_KEYS = ("val_fraction", "margin", "standardize_context")
DEFAULT_FLOW = {"kind": "affine", "num_blocks": 15, "hidden_features": 128, "made_layers": 2, "epochs": 100,
                "batch_size": 256, "lr": 1e-4, "weight_decay": 1e-6, "keep_best": 10, "val_fraction": 0.2,
                "margin": 0.01, "standardize_context": True}


def fit_density(x, m, opts: dict, seed: int, device: str, name: str, checkpoint=None, loss_file=None,
                embedding=None):
    """A DensityModel p(x | m) fitted with the flow options `opts` (validation split by `seed`).
    Returns (model, FitResult)."""
    from hepad.flows import DensityModel, FlowConfig
    from hepad.training import TrainConfig

    o = {**DEFAULT_FLOW, **opts}
    flow_keys = {f.name for f in fields(FlowConfig)}
    unknown = set(o) - flow_keys - set(TRAIN_KEYS) - set(MODEL_KEYS)
    if unknown:
        raise InputError(f"{name}: unknown flow option(s) {sorted(unknown)}")
    flow_cfg = FlowConfig(**{k: v for k, v in o.items() if k in flow_keys})
    train_cfg = TrainConfig(seed=seed, device=device, **{k: o[k] for k in TRAIN_KEYS if k in o})
    val = np.random.default_rng(seed).random(len(x)) < o["val_fraction"]
    if val.all() or not val.any():
        raise InputError(f"{name}: {len(x)} events cannot be split into training and validation")
    model = DensityModel(flow_cfg, margin=o["margin"], embedding=embedding,
                         standardize_context=o["standardize_context"] and embedding is None)
    ctx = (None, None) if m is None else (m[~val], m[val])
    result = model.fit(x[~val], ctx[0], x[val], ctx[1], train_cfg, name, checkpoint, loss_file)
    log.info("%s: %d training, %d validation events; best validation loss %.5f", name, int((~val).sum()),
             int(val.sum()), result.best_losses[0])
    return model, result


def finite_scores(s: np.ndarray, name: str) -> np.ndarray:
    """Likelihood-ratio scores with +-inf (an event outside one density's range) mapped just beyond
    the finite ones, keeping the ranking; NaN (both densities zero) ranks lowest."""
    s = np.asarray(s, dtype=np.float64)
    ok = np.isfinite(s)
    if not ok.any():
        raise TrainingDiverged(f"{name}: no finite score")
    if not ok.all():
        lo, hi = s[ok].min(), s[ok].max()
        log.info("%s: %d events outside a density's range get extreme scores", name, int((~ok).sum()))
        s = np.where(np.isposinf(s), hi + 1, np.where(ok, s, lo - 1))
    return s
