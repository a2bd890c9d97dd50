"""Lifetime reweighting of fixed-displacement chi samples (CaloFlow anomaly-detection paper).

A chi of mass m, total energy E and proper lifetime tau decays before z with probability
P_d(z) = 1 - exp(-z / (c tau sqrt(gamma^2 - 1))), gamma = E / m. A sample at displacement z_i
stands for the decays in (z_{i-1}, z_i]: w_1 = P_d(z_1), w_i = P_d(z_i) - P_d(z_{i-1}), normalised
(i.e. conditioned on a decay before the last z).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from hepad.calo.showers import Showers
from hepad.errors import InputError

C_M_PER_NS = 0.299792458  # speed of light, m/ns


def decay_length_m(mass_gev, tau_ns, energy_gev):
    """Mean lab decay length c tau beta gamma in metres (energy = total energy E > m)."""
    m, e = np.asarray(mass_gev, float), np.asarray(energy_gev, float)
    if np.any(m <= 0) or np.any(np.asarray(tau_ns) <= 0) or np.any(e <= m):
        raise InputError(f"decay length: need mass > 0, tau > 0 and E > m; got m={mass_gev}, tau={tau_ns}, E={energy_gev}")
    gamma = e / m
    return C_M_PER_NS * np.asarray(tau_ns, float) * np.sqrt(gamma**2 - 1.0)


def decay_probability(z_m, mass_gev, tau_ns, energy_gev):
    """P_d(z): probability that the chi has decayed before travelling z metres."""
    return -np.expm1(-np.asarray(z_m, float) / decay_length_m(mass_gev, tau_ns, energy_gev))


def displacement_weights(zs, mass_gev, tau_ns, energy_gev=50.0) -> np.ndarray:
    """Normalised weights w_i of the displacements `zs` (metres, strictly increasing)."""
    zs = np.asarray(zs, float)
    if zs.ndim != 1 or len(zs) == 0 or np.any(np.diff(zs) <= 0) or zs[0] < 0:
        raise InputError(f"displacements {zs.tolist()}: expected a strictly increasing list of z >= 0 (m)")
    w = np.diff(decay_probability(zs, mass_gev, tau_ns, energy_gev), prepend=0.0)
    return w / w.sum()


def _counts(w: np.ndarray, n_total: int) -> np.ndarray:
    """Integer counts proportional to w summing to n_total (largest remainder)."""
    raw = w * n_total
    n = np.floor(raw).astype(int)
    n[np.argsort(n - raw, kind="stable")[: n_total - n.sum()]] += 1
    return n


def lifetime_sample(
    samples_by_z: Mapping[float, Showers],
    weights: Mapping[float, float] | Sequence[float],
    n_total: int = 100_000,
    rng: np.random.Generator | None = None,
) -> Showers:
    """Mix fixed-displacement samples: round(w_i n_total) showers drawn without replacement from
    the sample at z_i (weights as a mapping z -> w, or a sequence in increasing-z order); shuffled."""
    picks, order = lifetime_indices({z: len(s) for z, s in samples_by_z.items()}, weights, n_total, rng)
    mixed = Showers.concat([samples_by_z[z][idx] for z, idx in picks])
    return mixed[order]


def lifetime_indices(sizes_by_z: Mapping[float, int], weights, n_total: int = 100_000,
                     rng: np.random.Generator | None = None):
    """The draw of `lifetime_sample` as indices: ([(z, sorted indices into the z sample)], shuffle
    order of their concatenation). Lets per-shower results be mixed without copying showers."""
    rng = rng if rng is not None else np.random.default_rng()
    zs = sorted(sizes_by_z)
    w = np.array([weights[z] for z in zs] if isinstance(weights, Mapping) else weights, float)
    if len(w) != len(zs) or np.any(w < 0) or not w.sum() > 0:
        raise InputError(f"lifetime weights {w.tolist()}: expected {len(zs)} non-negative weights, not all 0")
    counts = _counts(w / w.sum(), n_total)
    picks = []
    for z, k in zip(zs, counts):
        n = sizes_by_z[z]
        if k > n:
            raise InputError(f"displacement z={z} m: {k} showers needed but the sample has {n}; expected enough showers")
        picks.append((z, np.sort(rng.choice(n, size=k, replace=False))))
    return picks, rng.permutation(int(counts.sum()))
