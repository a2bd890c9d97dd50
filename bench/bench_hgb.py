"""One HGB fit the size of CATHODE's (SR data + 4x template, 280k x 4, balanced sample weights, early
stopping on half), side by side: sklearn binning the weighted features itself vs hepad's HGBEnsemble
(features binned once at unweighted quantiles first). Prints seconds per fit and the test AUC.

    .venv/bin/python bench/bench_hgb.py [--events 280000] [--threads 1] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

from hepad.classifiers import balanced_weights
from hepad.classifiers.hgb import HGBEnsemble


def events(n: int, rng: np.random.Generator):
    y = (rng.random(n) < 0.2).astype(int)  # SR data : template = 1 : 4
    x = rng.standard_normal((n, 4))
    x[y == 1, :2] += 0.3
    return x, y


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=280_000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args()
    rng = np.random.default_rng(0)
    (x, y), (xt, yt) = events(a.events, rng), events(a.events, rng)
    print(f"{a.events} events x 4 features, {a.threads} thread(s); seconds per fit, test AUC")
    with threadpool_limits(a.threads):
        for rep in range(a.repeats):
            t0 = time.perf_counter()
            h = HistGradientBoostingClassifier(max_iter=200, early_stopping=True, validation_fraction=0.5,
                                               random_state=rep).fit(x, y, sample_weight=balanced_weights(y))
            t_sk, auc_sk = time.perf_counter() - t0, roc_auc_score(yt, h.predict_proba(xt)[:, 1])
            t0 = time.perf_counter()
            e = HGBEnsemble(seed=rep, n_models=1).fit(x, y, None)
            t_ours, auc_ours = time.perf_counter() - t0, roc_auc_score(yt, e.predict(xt))
            print(f"sklearn binning {t_sk:6.2f} s  AUC {auc_sk:.4f} | binned first {t_ours:6.2f} s  AUC {auc_ours:.4f}"
                  f" | ratio {t_sk / t_ours:.2f}", flush=True)


if __name__ == "__main__":
    main()
