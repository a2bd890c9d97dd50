"""LHCO R&D kinematics -> the dijet features used by every resonant anomaly-detection method.

Input: the 14 published kinematic columns (GeV), in the published order
    pxj1 pyj1 pzj1 mj1 tau1j1 tau2j1 tau3j1 pxj2 pyj2 pzj2 mj2 tau1j2 tau2j2 tau3j2
Output: Dijets with mjj (TeV) and x = [mj1, mj2 - mj1, tau21_1, tau21_2], jets ordered by mass
(j1 = lighter), masses in TeV.
"""

from __future__ import annotations

import numpy as np

from hepad.resonant.formats.table import Dijets

KINEMATIC_COLUMNS = (
    "pxj1", "pyj1", "pzj1", "mj1", "tau1j1", "tau2j1", "tau3j1",
    "pxj2", "pyj2", "pzj2", "mj2", "tau1j2", "tau2j2", "tau3j2",
)  # fmt: skip
GEV_PER_TEV = 1000.0
TAU21_EPS = 1e-5  # regulator of tau2/tau1 used by every reference implementation

# column positions within one jet's block of 7: px py pz m tau1 tau2 tau3
_P, _M, _TAU1, _TAU2 = slice(0, 3), 3, 4, 5


def dijet_mass(p1: np.ndarray, m1: np.ndarray, p2: np.ndarray, m2: np.ndarray) -> np.ndarray:
    """Invariant mass of two jets from 3-momenta (N,3) and masses (N,), E_i = sqrt(p_i^2 + m_i^2)."""
    e1 = np.sqrt(np.sum(p1**2, axis=1) + m1**2)
    e2 = np.sqrt(np.sum(p2**2, axis=1) + m2**2)
    m2jj = (e1 + e2) ** 2 - np.sum((p1 + p2) ** 2, axis=1)
    return np.sqrt(np.clip(m2jj, 0.0, None))


def tau21(tau1: np.ndarray, tau2: np.ndarray) -> np.ndarray:
    return tau2 / (tau1 + TAU21_EPS)


def lhco_to_dijets(raw: np.ndarray, label: np.ndarray | None) -> Dijets:
    """Features of LHCO R&D events: raw (N, 14) kinematic columns in GeV; label (N,) or None (-> -1)."""
    raw = np.asarray(raw, dtype=np.float64)  # mjj from large, nearly cancelling terms: float64
    if raw.ndim != 2 or raw.shape[1] != len(KINEMATIC_COLUMNS):
        raise ValueError(f"expected raw of shape (N, {len(KINEMATIC_COLUMNS)}), got {raw.shape}")
    j1, j2 = raw[:, :7], raw[:, 7:]
    mjj = dijet_mass(j1[:, _P], j1[:, _M], j2[:, _P], j2[:, _M])

    # order by jet mass: the lighter jet is j1, its tau's go with it
    swap = j1[:, _M] > j2[:, _M]
    light = np.where(swap[:, None], j2, j1)
    heavy = np.where(swap[:, None], j1, j2)
    x = np.stack(
        [
            light[:, _M] / GEV_PER_TEV,
            (heavy[:, _M] - light[:, _M]) / GEV_PER_TEV,
            tau21(light[:, _TAU1], light[:, _TAU2]),
            tau21(heavy[:, _TAU1], heavy[:, _TAU2]),
        ],
        axis=1,
    )
    lab = np.full(len(raw), -1, np.int8) if label is None else np.asarray(label).astype(np.int8)
    if lab.shape != (len(raw),):
        raise ValueError(f"expected label of shape ({len(raw)},), got {lab.shape}")
    return Dijets(mjj / GEV_PER_TEV, x, lab)
