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
TRAIN_KEYS = ("epochs", "batch_size", "lr", "weight_decay", "keep_best", "patience", "optimizer", "lr_schedule", "milestones",
              "precision")
MODEL_KEYS = ("val_fraction", "margin", "standardize_context")
DEFAULT_FLOW = {"kind": "affine", "num_blocks": 15, "hidden_features": 128, "made_layers": 2, "epochs": 100,
                "batch_size": 256, "lr": 1e-4, "weight_decay": 1e-6, "keep_best": 10, "val_fraction": 0.2,
                "margin": 0.01, "standardize_context": True}


def _setup(x, m, opts: dict, seed: int, device: str, name: str, embedding=None):
    """(untrained DensityModel, TrainConfig, validation mask) from the flow options `opts`."""
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
    return model, train_cfg, val


def _split(x, m, val):
    return x[~val], None if m is None else m[~val], x[val], None if m is None else m[val]


def fit_density(x, m, opts: dict, seed: int, device: str, name: str, checkpoint=None, loss_file=None,
                embedding=None):
    """A DensityModel p(x | m) fitted with the flow options `opts` (validation split by `seed`).
    Returns (model, FitResult)."""
    model, train_cfg, val = _setup(x, m, opts, seed, device, name, embedding)
    result = model.fit(*_split(x, m, val), train_cfg, name, checkpoint, loss_file)
    log.info("%s: %d training, %d validation events; best validation loss %.5f", name, int((~val).sum()),
             int(val.sum()), result.best_losses[0])
    return model, result


def fit_density_stack(xs, ms, opts: dict, seeds, device: str, names, checkpoint=None, loss_files=None,
                      embeddings=None):
    """K DensityModels of one architecture trained as one stack (hepad.flows.stacked): member k is
    what fit_density(xs[k], ms[k], opts, seeds[k], ...) gives (its own data, validation split,
    preprocessing, initial weights, batch order, early stopping), up to float rounding.
    Returns [(model, FitResult)] in member order."""
    from hepad.flows.stacked import StackedFlow, fit_stack

    embeddings = embeddings or [None] * len(xs)
    members, train, val = [], [], []
    for x, m, seed, name, emb in zip(xs, ms, seeds, names, embeddings):
        model, train_cfg, v = _setup(x, m, opts, seed, device, name, emb)
        t, tv = model.prepare(*_split(x, m, v), name)
        members.append((model, model.initial_flow(seed), v))
        train.append(t)
        val.append(tv)
    stack = StackedFlow.from_members([flow for _, flow, _ in members])
    results = fit_stack(stack, train, val, train_cfg, seeds, names, checkpoint, loss_files)
    for (model, flow, v), result, name in zip(members, results, names):
        model.adopt(flow, result, device)
        log.info("%s: %d training, %d validation events; best validation loss %.5f", name, int((~v).sum()),
                 int(v.sum()), result.best_losses[0])
    return [(model, result) for (model, _, _), result in zip(members, results)]


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
