"""Ensemble of sklearn HistGradientBoostingClassifiers (the newer papers' cheap classifier)."""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier


class HGBEnsemble:
    def __init__(self, seed: int = 0, n_models: int = 50, max_iter: int = 200, learning_rate: float = 0.1,
                 validation_fraction: float = 0.5, max_leaf_nodes: int = 31, n_iter_no_change: int = 10):
        self.seed = seed
        self.params = dict(max_iter=max_iter, learning_rate=learning_rate, max_leaf_nodes=max_leaf_nodes,
                           early_stopping=True, validation_fraction=validation_fraction,
                           n_iter_no_change=n_iter_no_change)
        self.n_models = n_models
        self.models: list[HistGradientBoostingClassifier] = []

    def fit(self, x, y, w, x_val=None, y_val=None, w_val=None, name: str = "hgb", checkpoint=None):
        """Each member does its own early-stopping split (validation_fraction) of train + val.
        (`checkpoint`: unused; minutes-long CPU fits are not checkpointed.)"""
        from hepad.classifiers import balanced_weights

        if x_val is not None:
            x, y = np.concatenate([x, x_val]), np.concatenate([y, y_val])
            w = np.concatenate([w, w_val]) if w is not None else None
        sw = balanced_weights(y, w)
        self.models = [
            HistGradientBoostingClassifier(random_state=self.seed * 1000 + i, **self.params).fit(x, y, sample_weight=sw)
            for i in range(self.n_models)
        ]
        return self

    def predict(self, x) -> np.ndarray:
        return np.mean([m.predict_proba(x)[:, 1] for m in self.models], axis=0)
