"""Binary classifiers behind one interface: fit(x, y, w, x_val, y_val, w_val) and predict(x).

`predict` returns the ensemble-averaged probability of class 1. Class weights are balanced
(each class sums to half the total weight) on top of any per-event weights.
"""

from __future__ import annotations

import importlib

import numpy as np

# kind -> class; imported lazily so that CPU steps using HGB do not pay for importing torch.
CLASSIFIERS = {"hgb": "hepad.classifiers.hgb:HGBEnsemble", "mlp": "hepad.classifiers.mlp:MLPClassifier"}
USES_TORCH = {"hgb": False, "mlp": True}


def make_classifier(cfg: dict, seed: int, device: str = "auto"):
    """Build from a config block {kind: hgb|mlp, ...options}."""
    opts = dict(cfg)
    kind = opts.pop("kind")
    module, cls = CLASSIFIERS[kind].split(":")
    if USES_TORCH[kind]:
        opts["device"] = device
    return getattr(importlib.import_module(module), cls)(seed=seed, **opts)


def balanced_weights(y: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
    """Per-event weights with both classes summing to N/2 (mean weight 1)."""
    y = np.asarray(y).astype(bool)
    w = np.ones(len(y)) if w is None else np.asarray(w, dtype=np.float64)
    out = np.empty(len(y))
    for cls in (True, False):
        m = y == cls
        out[m] = w[m] * (0.5 * len(y) / w[m].sum())
    return out
