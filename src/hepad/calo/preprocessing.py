"""CaloFlow preprocessing (Krause & Shih; the anomaly-detection paper uses it unchanged).

Units: voxels in MeV (as stored), layer energies E_i and E_inc in GeV.
- Noise: uniform [0, 1 keV] added to every voxel, in training and evaluation (empty voxels
  would otherwise be a point mass the flows cannot model). E_i are the sums of the noisy voxels.
- Flow-I  inputs   x_i = 2 (log10(E_i + 1 keV) - 1), i = 0,1,2 (in [-14, 2]: tail bound 14);
          context  log10(E_inc / 10 GeV).
- Flow-II inputs   u = voxel / E_layer, v = alpha + (1 - 2 alpha) u, y = logit(v), alpha = 1e-6;
          context  log10(E_i + 1 keV) - 2 (i = 0,1,2) and log10(E_inc / 10 GeV).
The log-Jacobians are log|dx/dE| (Flow-I) and log|dy/du| (Flow-II), summed per shower: adding
them turns the flows' latent-space log-likelihood into the density of (E_i [GeV], u).
"""

from __future__ import annotations

import zlib

import numpy as np

from hepad.calo.showers import LAYER_SHAPES, Showers, flat_voxels

NOISE_MEV = 1e-3  # 1 keV
EPS_GEV = 1e-6  # 1 keV
ALPHA = 1e-6
LN10 = np.log(10.0)
_SIZES = [nx * ny for nx, ny in LAYER_SHAPES]
_LAYER_OF_VOXEL = np.repeat(np.arange(3), _SIZES)


def sample_seed(name: str, seed: int) -> int:
    """A stable per-sample seed (the same name and base seed give the same noise everywhere)."""
    return (zlib.crc32(name.encode()) + 1_000_003 * seed) % 2**32


def noisy_voxels(s: Showers, rng: np.random.Generator) -> np.ndarray:
    """(N,504) voxels in MeV (float64) with uniform [0, 1 keV] noise added."""
    v = flat_voxels(s).astype(np.float64)
    return v + rng.uniform(0.0, NOISE_MEV, v.shape)


def layer_sums_gev(voxels_mev: np.ndarray) -> np.ndarray:
    """(N,3) layer energies E_i in GeV of (N,504) voxels in MeV."""
    return np.add.reduceat(voxels_mev, np.r_[0, np.cumsum(_SIZES)[:-1]], axis=1) / 1000.0


def einc_context(einc_gev) -> np.ndarray:
    """(N,1) log10(E_inc / 10 GeV)."""
    return np.log10(np.asarray(einc_gev, np.float64) / 10.0).reshape(-1, 1)


def flow1_transform(e_gev: np.ndarray):
    """(x, log|dx/dE|): x = 2 (log10(E_i + 1 keV) - 1), per shower summed over the 3 layers."""
    e = np.asarray(e_gev, np.float64) + EPS_GEV
    return 2.0 * (np.log10(e) - 1.0), np.log(2.0 / (e * LN10)).sum(1)


def flow1_inverse(x: np.ndarray) -> np.ndarray:
    return 10.0 ** (np.asarray(x, np.float64) / 2.0 + 1.0) - EPS_GEV


def flow2_context(e_gev: np.ndarray, einc_gev) -> np.ndarray:
    """(N,4): log10(E_i + 1 keV) - 2 and log10(E_inc / 10 GeV)."""
    return np.concatenate([np.log10(np.asarray(e_gev, np.float64) + EPS_GEV) - 2.0, einc_context(einc_gev)], 1)


def normalised_voxels(voxels_mev: np.ndarray) -> np.ndarray:
    """u = voxel / its layer's energy (each layer's u sum to 1)."""
    return voxels_mev / (layer_sums_gev(voxels_mev) * 1000.0)[:, _LAYER_OF_VOXEL]


def logit_transform(u: np.ndarray):
    """(y, log|dy/du| summed per row): y = logit(alpha + (1 - 2 alpha) u)."""
    v = ALPHA + (1 - 2 * ALPHA) * np.asarray(u, np.float64)
    return np.log(v) - np.log1p(-v), (np.log1p(-2 * ALPHA) - np.log(v) - np.log1p(-v)).sum(1)


def flow2_transform(voxels_mev: np.ndarray):
    """(y, log|dy/du|) of (N,504) noisy voxels: normalised voxels u, alpha-clipped logit."""
    return logit_transform(normalised_voxels(voxels_mev))


def flow2_inverse(y: np.ndarray) -> np.ndarray:
    """Normalised voxels u from the logit space."""
    v = 1.0 / (1.0 + np.exp(-np.asarray(y, np.float64)))
    return (v - ALPHA) / (1 - 2 * ALPHA)


def features(s: Showers, rng: np.random.Generator, einc_gev=None):
    """Everything the two flows see for showers `s`: dict of x1, c1, jac1, x2, c2, jac2 and the
    layer energies e (GeV), float64.
    `einc_gev` None: the true E_inc (training); otherwise e.g. lambda * E_dep (evaluation)."""
    vox = noisy_voxels(s, rng)
    e = layer_sums_gev(vox)
    einc = s.energy if einc_gev is None else einc_gev
    x1, jac1 = flow1_transform(e)
    x2, jac2 = flow2_transform(vox)
    return dict(e=e, x1=x1, c1=einc_context(einc), jac1=jac1, x2=x2, c2=flow2_context(e, einc), jac2=jac2)
