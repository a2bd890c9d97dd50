"""Toy CaloGAN showers: photons and displaced chi -> gamma gamma, vectorised numpy.

Each photon's shower is a set of energy spots (GFlash-style, Grindhammer & Peters,
hep-ex/0001020), placed in 3-d and binned on the CaloGAN cells (see showers.py):
- Conversion: the photon travels a path ~ Exp(mean 9/7 X0) in the absorber before converting.
- Longitudinal: from the conversion point, spot depth t (X0, along the photon) ~ Gamma with
  dE/dt ∝ t^(a-1) e^(-b t), mode T = t_max = ln(E/E_c) - 0.5 (the e± cascade; adding the
  mean conversion depth gives the PDG photon value ln y + 0.5 on average), b = 0.5, a = 1 + b T.
  Per shower, ln T and ln a fluctuate with GFlash's homogeneous-medium widths and correlation.
- Lateral (Moliere radii, perpendicular to the photon): core + halo,
  f(r) = p 2r R_C^2/(r^2+R_C^2)^2 + (1-p) (same with R_T), with R_C, R_T, p functions of
  tau = t/T and ln E as in GFlash (homogeneous medium, Z = 82).
- Sampling: the active layers see quanta of EPS_ACTIVE_MEV; a photon yields Poisson(E f / EPS_ACTIVE)
  quanta, so sigma/E = sqrt(EPS_ACTIVE / (f E)) = 10 %/sqrt(E/GeV). Stored energies are the active
  energy divided by the nominal sampling fraction f = 0.2, so E_dep/E_inc is the containment
  (0.994-0.997 for 1-100 GeV photons). The quanta are carried by min(n, K_MAX) equal spots:
  cell fluctuations are exact below 10 GeV, somewhat larger above. No electronic noise: cells
  without spots are exactly 0 (as in the Geant4 CaloGAN samples).
- Pair track: the Gamma profile starts too slowly, so the e+e- pair's MIP deposit over the first
  X0 after conversion (TRACK_MEV, taken from the total) is put on a few on-axis spots; a photon
  converting inside layer 0 thus always leaves energy there.
- Containment: spots at depth < 0 or >= 480 mm, or |x|,|y| >= 500 mm, are lost; spots inside
  the absorber but outside the 480 x 480 mm cell window go to the layer's overflow.

Chi: produced at the detector centre, flying along z with total energy E (the stored `energy` is
the kinetic energy E - m, as for the primary in the CaloGAN files); isotropic two-body decay in its
rest frame, boosted along z. Photons from decays before the front face (z < 1.00 m) fly straight
to it (those going backwards or hitting it outside |x|,|y| < 500 mm are lost); for decays inside
the calorimeter the photons start at the decay point, so nothing is deposited upstream of it.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from hepad.calo.lifetimes import decay_length_m
from hepad.calo.showers import (
    CELL_MM, DEPTH_MM, HALF_ABSORBER_MM, HALF_WINDOW_MM, LAYER_EDGES_MM, LAYER_SHAPES,
    MOLIERE_MM, N_VOXELS, X0_MM, Z_FRONT_M, Showers,
)
from hepad.errors import InputError

E_C_MEV = 7.43  # critical energy of lead (PDG)
B_LONG = 0.5  # longitudinal slope b of the Gamma profile (PDG)
CONV_MEAN_X0 = 9 / 7  # photon mean free path for pair production
Z_EFF = 82.0  # lateral parametrisation evaluated for lead
SAMPLING_FRACTION = 0.2
EPS_ACTIVE_MEV = 2.0  # active-energy quantum: sigma/E = sqrt(2 MeV / (0.2 E)) = 10 %/sqrt(E/GeV)
K_MAX = 1000  # spots per photon at most
# Calibrated MIP deposit of the e+e- pair over the first X0 after conversion: 2 x 15.6 mm x
# 0.57 MeV/mm (Pb/LAr mean dE/dx) x 1.25 (MIP sampling fraction 0.25 / 0.2); on N_TRACK spots.
TRACK_MEV = 22.0
N_TRACK = 4
Z_BACK_M = Z_FRONT_M + DEPTH_MM / 1000  # back face, 1.48 m
_CHUNK = 500  # events per vectorised batch (~100 MB of spot arrays per thread)
_NX = np.array([s[0] for s in LAYER_SHAPES])
_NY = np.array([s[1] for s in LAYER_SHAPES])
_INV_DX = np.array([1 / c[0] for c in CELL_MM], np.float32)
_INV_DY = np.array([1 / c[1] for c in CELL_MM], np.float32)
_OFF = np.concatenate([[0], np.cumsum(_NX * _NY)[:-1]])
_LOST = N_VOXELS + 3  # index of the "lost" bin after 504 voxels + 3 overflow
_NBIN = N_VOXELS + 4


def _f32(v) -> np.ndarray:
    return np.ascontiguousarray(v, np.float32)


def _longitudinal(e_mev: np.ndarray, rng: np.random.Generator):
    """Per-shower (T, a): mode in X0 and Gamma shape, with correlated log-normal fluctuations."""
    lny = np.log(np.maximum(e_mev / E_C_MEV, np.exp(1.5)))  # T >= 1 X0 for very soft photons
    t_mean = lny - 0.5
    lny_s = np.maximum(lny, 4.0)  # GFlash widths diverge below ~0.4 GeV
    s_t, s_a = 1 / (-1.4 + 1.26 * lny_s), 1 / (-0.58 + 0.86 * lny_s)
    rho = 0.705 - 0.023 * lny_s
    z1, z2 = rng.standard_normal((2, len(e_mev)))
    t_max = t_mean * np.exp(s_t * z1)
    a = np.maximum((1 + B_LONG * t_mean) * np.exp(s_a * (rho * z1 + np.sqrt(1 - rho**2) * z2)), 1.05)
    return t_max, a


def _lateral_radius(tau, ln_e, rng: np.random.Generator) -> np.ndarray:
    """Radial distance (mm) from the core+halo profile at relative depth tau (GFlash, Z = Z_EFF)."""
    r_c = 0.0251 + 0.00319 * ln_e + (0.1162 - 0.000381 * Z_EFF) * tau
    k4 = 0.3585 + 0.0421 * ln_e
    r_t = (0.659 - 0.00309 * Z_EFF) * (np.exp(-2.59 * (tau - 0.645)) + np.exp(k4 * (tau - 0.645)))
    q = (0.401 + 0.00187 * Z_EFF - tau) / (1.313 - 0.0686 * ln_e)
    p = (2.632 - 0.00094 * Z_EFF) * np.exp(q - np.exp(q))
    rad = np.where(rng.random(len(tau), np.float32) < p, r_c, r_t) * np.float32(MOLIERE_MM)
    v = rng.random(len(tau), np.float32)
    return rad * np.sqrt(v / (1 - v))  # inverse CDF of 2r R^2/(r^2+R^2)^2


def _deposit(e_mev, p0, u, event, n_events, rng) -> np.ndarray:
    """Showers of photons (energy MeV, start point (x, y, depth) mm, unit direction) summed per
    event into (n_events, 508): 504 voxels, 3 overflow, 1 lost. Per-spot arithmetic in float32."""
    n = len(e_mev)
    e_vis = rng.poisson(e_mev * SAMPLING_FRACTION / EPS_ACTIVE_MEV) * (EPS_ACTIVE_MEV / SAMPLING_FRACTION)
    k = np.minimum(np.round(e_vis * SAMPLING_FRACTION / EPS_ACTIVE_MEV).astype(np.int64), K_MAX)
    e_track = np.minimum(TRACK_MEV, 0.5 * e_vis)  # the e+e- pair's MIP deposit, taken from the total
    e_spot = (e_vis - e_track) / np.maximum(k, 1)
    t_max, a = _longitudinal(e_mev, rng)
    conv = rng.exponential(CONV_MEAN_X0 * X0_MM, n)
    norm = np.maximum(np.hypot(u[:, 0], u[:, 2]), 1e-12)  # e1 = (uz, 0, -ux)/norm, e2 = u x e1
    e1 = np.stack([u[:, 2] / norm, np.zeros(n), -u[:, 0] / norm], axis=1)
    e2 = np.cross(u, e1)

    # cascade spots
    i = np.repeat(np.arange(n), k)
    t = rng.standard_gamma(_f32(a)[i], dtype=np.float32)  # in units of the scale T/(a-1)
    tau = t * _f32(1 / (a - 1))[i]  # depth / T (the mode of Gamma(a) is a - 1)
    r = _lateral_radius(tau, _f32(np.log(np.maximum(e_mev, 1.0) / 1000))[i], rng)
    phi = rng.random(len(i), np.float32) * np.float32(2 * np.pi)
    c, s = r * np.cos(phi), r * np.sin(phi)
    along = _f32(conv)[i] + tau * _f32(t_max * X0_MM)[i]
    # pair-track spots: on the axis, uniform over the first X0 after conversion
    j = np.repeat(np.arange(n), np.where(k > 0, N_TRACK, 0))
    along_tr = _f32(conv)[j] + rng.random(len(j), np.float32) * np.float32(X0_MM)
    w = np.concatenate([e_spot[i], (e_track / N_TRACK)[j]])
    zero = np.zeros(len(j), np.float32)
    i, along, c, s = (np.concatenate(p) for p in ((i, j), (along, along_tr), (c, zero), (s, zero)))
    x, y, d = (
        _f32(p0[:, m])[i] + along * _f32(u[:, m])[i] + c * _f32(e1[:, m])[i] + s * _f32(e2[:, m])[i] for m in range(3)
    )

    layer = (d >= LAYER_EDGES_MM[1]).astype(np.int64) + (d >= LAYER_EDGES_MM[2])
    grid = (np.abs(x) < HALF_WINDOW_MM) & (np.abs(y) < HALF_WINDOW_MM)
    # >= 0 wherever grid is true; the minimum guards against float32 round-up at the upper edge
    ix = np.minimum(((x + HALF_WINDOW_MM) * _INV_DX[layer]).astype(np.int64), _NX[layer] - 1)
    iy = np.minimum(((y + HALF_WINDOW_MM) * _INV_DY[layer]).astype(np.int64), _NY[layer] - 1)
    cell = np.where(grid, _OFF[layer] + ix * _NY[layer] + iy, N_VOXELS + layer)
    inside = (d >= 0) & (d < DEPTH_MM) & (np.abs(x) < HALF_ABSORBER_MM) & (np.abs(y) < HALF_ABSORBER_MM)
    flat = event[i] * _NBIN + np.where(inside, cell, _LOST)
    return np.bincount(flat, weights=w, minlength=n_events * _NBIN).reshape(n_events, _NBIN)


def _n_threads() -> int:
    return min(len(os.sched_getaffinity(0)), 8)


def _simulate(e_mev, p0, u, ekin_gev, rng, n_threads=None) -> Showers:
    """e_mev (N, P), p0 and u (N, P, 3): P photons per event; returns N showers. Each chunk of
    events has its own generator seeded from `rng`, so results do not depend on n_threads."""
    n, n_ph = e_mev.shape
    out = np.empty((n, _NBIN), np.float32)
    starts = range(0, n, _CHUNK)
    seeds = rng.integers(0, 2**63, size=len(starts))

    def run(job):
        lo, seed = job
        hi = min(lo + _CHUNK, n)
        ev = np.repeat(np.arange(hi - lo), n_ph)
        crng = np.random.default_rng(seed)
        out[lo:hi] = _deposit(e_mev[lo:hi].ravel(), p0[lo:hi].reshape(-1, 3), u[lo:hi].reshape(-1, 3), ev, hi - lo, crng)

    with ThreadPoolExecutor(n_threads or _n_threads()) as pool:  # numpy releases the GIL
        list(pool.map(run, zip(starts, seeds)))
    return Showers.from_flat(out[:, :N_VOXELS], out[:, N_VOXELS:_LOST].copy(), ekin_gev)


def simulate_photons(energies_gev, rng: np.random.Generator, n_threads: int | None = None) -> Showers:
    """Single photons at normal incidence hitting the centre of the front face."""
    e = np.asarray(energies_gev, float).reshape(-1, 1)
    p0, u = np.zeros(e.shape + (3,)), np.zeros(e.shape + (3,))
    u[..., 2] = 1.0
    return _simulate(e * 1000, p0, u, e[:, 0], rng, n_threads)


def simulate_background(n: int, rng: np.random.Generator, e_range_gev=(1.0, 100.0), n_threads: int | None = None) -> Showers:
    """The background sample: photons with E uniform in e_range_gev."""
    return simulate_photons(rng.uniform(*e_range_gev, n), rng, n_threads)


def simulate_chi(
    n: int, mass_gev: float, z_decay_m, rng: np.random.Generator, energy_gev=50.0, n_threads: int | None = None
) -> Showers:
    """chi -> gamma gamma; chi of total energy `energy_gev` (scalar or (n,)) decaying at
    z_decay_m (scalar or (n,), metres from the detector centre)."""
    e = np.broadcast_to(np.asarray(energy_gev, float), (n,))
    z = np.broadcast_to(np.asarray(z_decay_m, float), (n,))
    if np.any(e <= mass_gev):
        raise InputError(f"chi energy {float(e.min())} GeV: expected a total energy above the mass {mass_gev} GeV")
    gamma = e / mass_gev
    beta = np.sqrt(1 - 1 / gamma**2)
    cos_s = rng.uniform(-1, 1, n)
    sin_s = np.sqrt(1 - cos_s**2)
    phi = rng.uniform(0, 2 * np.pi, n)
    half = mass_gev / 2
    e_ph = np.empty((n, 2))
    u = np.empty((n, 2, 3))
    for j, sign in enumerate((1.0, -1.0)):  # back to back in the rest frame
        c = sign * cos_s
        e_ph[:, j] = gamma * half * (1 + beta * c)
        p = np.stack([sign * half * sin_s * np.cos(phi), sign * half * sin_s * np.sin(phi), gamma * half * (c + beta)], -1)
        u[:, j] = p / np.linalg.norm(p, axis=1, keepdims=True)
    zz = np.broadcast_to(z[:, None], (n, 2))
    up = zz < Z_FRONT_M  # decay upstream: fly straight to the front face
    with np.errstate(divide="ignore", invalid="ignore"):
        path_mm = (Z_FRONT_M - zz) * 1000 / u[..., 2]
        front = np.stack([u[..., 0] * path_mm, u[..., 1] * path_mm, np.zeros((n, 2))], -1)
    inner = np.stack([np.zeros((n, 2)), np.zeros((n, 2)), (zz - Z_FRONT_M) * 1000], -1)
    hit = ~up | ((u[..., 2] > 0) & (np.abs(front[..., 0]) < HALF_ABSORBER_MM) & (np.abs(front[..., 1]) < HALF_ABSORBER_MM))
    p0 = np.where(up[..., None], np.where(hit[..., None], front, 0.0), inner)
    e_ph = np.where(hit, e_ph, 0.0)  # photons missing the calorimeter deposit nothing
    return _simulate(e_ph * 1000, p0, u, e - mass_gev, rng, n_threads)


def sample_decay_z(energy_gev, mass_gev: float, tau_ns: float, rng: np.random.Generator, z_max_m: float = Z_BACK_M):
    """Decay positions (m) from the exponential law, conditioned on z < z_max_m (inverse CDF)."""
    lam = decay_length_m(mass_gev, tau_ns, energy_gev)
    u = rng.random(np.shape(lam))
    return -lam * np.log1p(u * np.expm1(-z_max_m / lam))


def simulate_chi_lifetime(
    n: int, mass_gev: float, tau_ns: float, rng: np.random.Generator,
    ekin_range_gev=(1.0, 100.0), z_max_m: float = Z_BACK_M, n_threads: int | None = None,
) -> Showers:
    """Supervised-training signal: kinetic energy uniform in ekin_range_gev, decay position from
    the lifetime, conditioned on a decay before z_max_m (default: the back face, 1.48 m; decays
    beyond it would leave an empty calorimeter, so they are not generated)."""
    e = rng.uniform(*ekin_range_gev, n) + mass_gev
    return simulate_chi(n, mass_gev, sample_decay_z(e, mass_gev, tau_ns, rng, z_max_m), rng, energy_gev=e, n_threads=n_threads)
