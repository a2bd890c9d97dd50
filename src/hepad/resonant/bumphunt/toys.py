"""Pseudo-experiments for a source with one background sample (real data, the LHCO R&D file).

There the n_sig = 0 runs share their events with each other and with the signal runs (seeds vary the
training only), so their Z are not independent draws of the null and calibrate nothing.
- Fit route: Poisson toys of each n_sig = 0 selection's background-only fit (H0: sidebands and SR
  total, fit.bump_fit's m0), each refitted as the data are (parameter choice included). Their Z test
  the sideband fit and its Z for the spectrum shape and size the classifier selected; what no toy
  can test is the classifier's own sculpting and training spread (the toy keeps the selection).
- Template route: its non-closure is measured on signal-free n_sig = 0 runs of the same events, which
  only simulation (the truth labels) provides: a simulation-only route on such a source.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import replace

import numpy as np

from hepad.resonant.bumphunt import fit

TOYS_PER_ROUTE = 200  # per (method, eps), spread evenly over its n_sig = 0 selections
TOY_SEED = 20_221


def toy_z(bf: fit.BumpFit, n: int, rng: np.random.Generator) -> list[float]:
    """Z of n Poisson toys of the background-only fit of `bf`'s spectrum (toys whose fit fails: left out)."""
    mu0 = bf.spec.mu(bf.a0)
    out = []
    for _ in range(n):
        try:
            out.append(fit.bump_fit(replace(bf.spec, counts=rng.poisson(mu0).astype(float))).z)
        except fit.FitFailed:
            continue
    return out


def route_toys(fits: dict, n_per_route: int = TOYS_PER_ROUTE) -> dict:
    """{(method, "fit", eps): Z of the toys} from the n_sig = 0 fits {(window, method, nsig, seed, eps):
    BumpFit}: ceil(n_per_route / selections) toys of each, seeded by its key (same input, same toys)."""
    null = defaultdict(list)
    for key in sorted(fits):
        window, method, nsig, seed, eps = key
        if nsig == 0:
            null[(method, "fit", eps)].append(key)
    out = {}
    for route, keys in null.items():
        per = math.ceil(n_per_route / len(keys))
        z = []
        for window, method, _, seed, eps in keys:
            rng = np.random.default_rng([TOY_SEED, window, seed, round(eps * 1e6), *method.encode()])
            z += toy_z(fits[(window, method, 0, seed, eps)], per, rng)
        out[route] = np.array(z)
    return out
