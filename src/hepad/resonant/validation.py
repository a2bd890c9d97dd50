"""Validation of a background template in one window (toy / simulation truth only): the template
against the true SR background of the mock data, feature by feature, and the AUC of a classifier
trained to tell them apart (closure: 0.5 for a perfect template)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from hepad import metrics
from hepad.errors import InputError
from hepad.io.atomic import atomic_path
from hepad.resonant.formats.table import Dijets

log = logging.getLogger(__name__)


def closure_auc(template: Dijets, background: Dijets, seed: int) -> float:
    """AUC of an HGB classifier template (0) vs true background (1), fitted on one half of each
    and evaluated on the other half."""
    from hepad.classifiers import make_classifier

    x = np.concatenate([background.x, template.x])
    y = np.r_[np.ones(len(background)), np.zeros(len(template))]
    half = np.random.default_rng(seed).random(len(x)) < 0.5
    clf = make_classifier({"kind": "hgb", "n_models": 1, "max_iter": 200}, seed)
    clf.fit(x[half], y[half], None, None, None, None, name="template closure")
    return metrics.auc(*metrics.roc(y[~half], clf.predict(x[~half]))[:2])


def validate(template: Dijets, sr_data: Dijets, lo: float, hi: float, seed: int, name: str, out_json: str,
             figure: str) -> dict:
    from hepad.resonant import plots

    background = sr_data[sr_data.label == 0]
    if len(background) < 100:
        raise InputError(f"{name}: {len(background)} labelled background events in the SR; template validation needs "
                         "simulation labels (toy or simulated data)")
    auc = closure_auc(template, background, seed)
    plots.template_vs_background(template, background, sr_data, f"{name}: AUC template vs true background {auc:.3f}",
                                 figure)
    row = {"sr_lo": lo, "sr_hi": hi, "closure_auc": auc, "n_template": len(template), "n_true_bkg": len(background)}
    log.info("%s: closure AUC %.4f", name, auc)
    with atomic_path(out_json) as tmp:
        Path(tmp).write_text(json.dumps(row, indent=1) + "\n")
    return row
