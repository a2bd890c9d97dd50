"""The background model of a window: the sideband flow p_bg(x | m_jj), trained once per
(window, n_sig, seed) and shared by ANODE, CATHODE and R-ANODE, and the template it yields.

- The sideband is the full complement of the signal region [lo, hi) in the mock data (CATHODE).
- Template: SR masses drawn from a KDE (Gaussian, bandwidth 0.01 in the logit of the mass scaled
  to the SR, as in CATHODE) or a histogram of the SR data's m_jj, `oversampling` x the SR count,
  then one x ~ p_bg(x | m) per mass.
"""

from __future__ import annotations

import logging
from dataclasses import fields

import numpy as np

from hepad.errors import InputError, TrainingDiverged
from hepad.io.table import Dijets

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


def sideband(data: Dijets, lo: float, hi: float) -> Dijets:
    return data[~data.in_range(lo, hi)]


def train_background_flow(data: Dijets, lo: float, hi: float, opts: dict, seed: int, device: str, name: str,
                          checkpoint=None, loss_file=None):
    sb = sideband(data, lo, hi)
    if len(sb) < 100:
        raise InputError(f"{name}: {len(sb)} sideband events outside [{lo}, {hi}] TeV; expected at least 100")
    return fit_density(sb.x, sb.mjj, opts, seed, device, name, checkpoint, loss_file)


def sample_sr_masses(m_sr: np.ndarray, lo: float, hi: float, n: int, rng: np.random.Generator,
                     how: str = "kde", bandwidth: float = 0.01, bins: int = 40) -> np.ndarray:
    """n masses in [lo, hi) distributed as the SR data's m_jj: a Gaussian KDE in
    logit((m - lo) / (hi - lo)) (CATHODE) or a histogram with uniform filling of its bins (SIGMA)."""
    if how == "kde":
        u = np.clip((m_sr - lo) / (hi - lo), 1e-6, 1 - 1e-6)
        t = np.log(u / (1 - u))[rng.integers(len(u), size=n)] + bandwidth * rng.standard_normal(n)
        return lo + (hi - lo) / (1 + np.exp(-t))
    if how == "histogram":
        counts, edges = np.histogram(m_sr, bins=bins, range=(lo, hi))
        b = rng.choice(bins, size=n, p=counts / counts.sum())
        return edges[b] + (edges[b + 1] - edges[b]) * rng.random(n)
    raise InputError(f"mass_sampling = {how!r}; expected kde or histogram")


def make_template(flow, sr: Dijets, lo: float, hi: float, opts: dict, seed: int, name: str) -> Dijets:
    """The background template in the SR: `oversampling` x len(sr) events sampled from `flow`
    (p_bg(x | m)) at SR masses drawn like the data's. Deterministic in `seed`."""
    rng = np.random.default_rng([seed, 7])
    n = int(round(opts.get("oversampling", 4) * len(sr)))
    m = sample_sr_masses(sr.mjj, lo, hi, n, rng, opts.get("mass_sampling", "kde"), opts.get("kde_bandwidth", 0.01))
    x = flow.sample(m, seed=seed)
    bad = ~np.isfinite(x).all(1)
    if bad.any():
        raise TrainingDiverged(f"{name}: {int(bad.sum())} of {n} template events are NaN/inf; the flow diverged")
    log.info("%s: template of %d events (%.1f x %d SR data events)", name, n, n / len(sr), len(sr))
    return Dijets(m, x, np.full(n, -1, dtype=np.int8))


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
