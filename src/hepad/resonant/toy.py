"""Toy LHCO-like dijet events: QCD background and W'(3.5 TeV) -> X(500 GeV) Y(100 GeV), X,Y -> qq.

Events are built as physics, not noise: a dijet mass from a falling spectrum (QCD) or a resonance
with detector resolution (signal), a 2 -> 2 scattering angle in the dijet rest frame (QCD: flat in
chi = exp(2|y*|); W' -> two scalars: sin^2 theta*), two jets of given masses back to back, boosted
along z (parton luminosities) and transversely (ISR recoil), then the R&D trigger: leading-jet pT
> 1.2 TeV, both jets |eta| < 2.5. mjj recomputed from the written four-vectors equals the
generated one. Jet substructure: QCD jet masses log-normal in m/pT, tau21 broad and falling with
m/pT; signal jets two-prong (low tau21), with mass resolution and a low tail (lost prong -> QCD-like).

Output: the LHCO R&D layout, (N, 15) in GeV: pxj1 pyj1 pzj1 mj1 tau1j1 tau2j1 tau3j1, the same for
jet 2, label (jet 1 = leading pT, as in the R&D file).
"""

from __future__ import annotations

import numpy as np

SQRT_S = 13.0  # TeV
GEV_PER_TEV = 1000.0
PT_TRIGGER, ETA_MAX = 1.2, 2.5  # TeV; leading-jet pT, both jets |eta|
STRONGLY_CORRELATED = 0.1  # mass_mjj_slope of the CATHODE paper's correlated variant (its Eq. 3)
MAX_SLOPE = 0.2  # larger shifts could make m_j1 + m_j2 exceed mjj

# QCD dijet mass spectrum dsigma/dm ~ (1 - x)^A / x^B, x = m / sqrt(s), generated in MJJ_GEN
QCD_A, QCD_B = 10.0, 7.0
MJJ_GEN = (1.8, 9.0)  # TeV; well below the trigger turn-on (mjj >~ 2 pT_trigger)
CHI_MAX = 30.0  # QCD chi = exp(2|y*|) flat in [1, CHI_MAX]
ISR_KT_MEAN = 0.06  # TeV, mean transverse recoil of the dijet system (exponential)
KT_EDGES = np.array([0, 0.03, 0.06, 0.09, 0.12, 0.16, 0.2, 0.25, 0.3, 0.4, 0.6, 1.0])  # TeV, kT <= 1
BOOST_WIDTH = 0.45  # sigma of the dijet rapidity y_B in units of its kinematic limit ln(sqrt(s)/m)

# QCD jets: log(m/pT) normal, median falling slowly with pT; tau21 Beta, mean falling with m/pT
QCD_RHO_MEDIAN, QCD_RHO_PT_POWER, QCD_RHO_SIGMA = 0.12, -0.15, 0.72
QCD_TAU21_FLOOR, QCD_TAU21_RISE, QCD_TAU21_RHO, QCD_TAU21_CONC = 0.28, 0.36, 0.25, 7.0
TAU32_MEAN, TAU32_CONC = 0.75, 12.0

# signal: W' -> X Y with detector resolution
M_WPRIME, M_X, M_Y = 3.5, 0.5, 0.1  # TeV
MJJ_CORE_SCALE, MJJ_CORE_RES = 1.0, 0.04  # reconstructed / true, relative resolution
MJJ_TAIL_FRAC, MJJ_TAIL_MEAN = 0.08, 0.1  # low tail, 1 - exponential: FSR out of the jets (+ lost prongs)
JET_MASS_RES = 0.055  # relative, core
JET_LOST_FRAC, JET_LOST_RHO = 0.18, 0.3  # lost-prong probability: FRAC * min(1, (m/pT / RHO)^2)
JET_EXTRA_MASS = 0.06  # TeV, mean of the mass added in quadrature by extra radiation
SIG_TAU21_FLOOR, SIG_TAU21_RISE, SIG_TAU21_RHO, SIG_TAU21_CONC = 0.19, 0.37, 0.07, 12.0
SIG_TAU21_EXTRA = 0.2  # tau21 added per unit fraction of m^2 from extra radiation

_CHUNK_MAX = 250_000


# ---------------------------------------------------------------- kinematics


def _qcd_pdf(m):
    x = m / SQRT_S
    return (1 - x) ** QCD_A / x**QCD_B


def _cumulative(y, x):
    """Trapezoid cumulative integral along the last axis, starting at 0."""
    steps = 0.5 * (y[..., 1:] + y[..., :-1]) * np.diff(x)
    return np.concatenate([np.zeros(y.shape[:-1] + (1,)), np.cumsum(steps, axis=-1)], axis=-1)


def _chi_cut(m: np.ndarray, lo: float) -> np.ndarray:
    """Per kT bin (rows) the largest chi = exp(2|y*|) at which an event of mass m (columns) can fire the
    trigger, for masses generated from lo up (see _qcd_mjj_chi_kt)."""
    k_hi = KT_EDGES[1:, None]
    p_min = (PT_TRIGGER - k_hi) / np.sqrt(1 + (k_hi / lo) ** 2)
    return np.minimum(CHI_MAX, np.exp(2 * np.arccosh(np.maximum(m / (2 * p_min), 1.0))))  # (bins, m)


def _kt_bin_weights() -> np.ndarray:
    return -np.diff(np.exp(-KT_EDGES / ISR_KT_MEAN))


def qcd_mjj_density(m: np.ndarray, lo: float | None = None) -> np.ndarray:
    """The (unnormalised) m_jj density _qcd_mjj_chi_kt draws QCD from, masses generated from `lo`
    (default m.min()) up: f(m) x the chi range that can fire, summed over the kT bins (before the
    lab-frame trigger). Not in the dijet function's family: the bump hunt's fit tests use it."""
    chi_cut = _chi_cut(m, float(m.min()) if lo is None else lo)
    return _qcd_pdf(m) * (_kt_bin_weights()[:, None] * (chi_cut - 1)).sum(0)


def _qcd_mjj_chi_kt(rng, n: int, lo: float, hi: float):
    """QCD (mjj, chi, kT) drawn exactly from f(mjj) U(chi) h(kT), restricted to events that can fire.

    The lab pT of a jet is at most gamma pT* + kT (gamma = mT/mjj; pT* <= mjj / (2 cosh y*)), so in
    a bin of kT <= k the trigger needs cosh y* < mjj / (2 p_min), p_min = (PT_TRIGGER - k) / gamma.
    Sampling the kT bin with weight h_bin * (phase-space volume kept) keeps the joint density exact.
    """
    m = np.linspace(lo, hi, 4001)
    chi_cut = _chi_cut(m, lo)
    cdf = _cumulative(_qcd_pdf(m) * (chi_cut - 1), m)
    h_bin = _kt_bin_weights()
    w = h_bin * cdf[:, -1]
    b = rng.choice(len(w), n, p=w / w.sum())
    mjj, chi_max = np.empty(n), np.empty(n)
    for i in np.unique(b):
        sel = b == i
        mjj[sel] = np.interp(rng.random(sel.sum()) * cdf[i, -1], cdf[i], m)
        chi_max[sel] = np.interp(mjj[sel], m, chi_cut[i])
    chi = 1 + rng.random(n) * (chi_max - 1)
    e_lo, e_hi = np.exp(-KT_EDGES[b] / ISR_KT_MEAN), np.exp(-KT_EDGES[b + 1] / ISR_KT_MEAN)
    kt = -ISR_KT_MEAN * np.log(e_lo - rng.random(n) * (e_lo - e_hi))  # exponential within the bin
    return mjj, chi, kt


def _dijet_rapidity(rng, mjj: np.ndarray) -> np.ndarray:
    """Rapidity y_B of the dijet system: Gaussian within its kinematic limit ln(sqrt(s)/mjj)."""
    y_max = np.log(SQRT_S / mjj)
    return np.clip(rng.normal(0.0, BOOST_WIDTH * y_max), -y_max, y_max)


def _back_to_back(mjj, m_a, m_b, cos_t, phi):
    """Four-vectors (N, 4) = (E, px, py, pz) of two jets of masses m_a, m_b in the dijet rest frame."""
    p = np.sqrt((mjj**2 - (m_a + m_b) ** 2) * (mjj**2 - (m_a - m_b) ** 2)) / (2 * mjj)
    sin_t = np.sqrt(1 - cos_t**2)
    d = np.stack([sin_t * np.cos(phi), sin_t * np.sin(phi), cos_t], axis=1) * p[:, None]
    e_a, e_b = np.sqrt(p**2 + m_a**2), np.sqrt(p**2 + m_b**2)
    return np.column_stack([e_a, d]), np.column_stack([e_b, -d])


def _boost(p4: np.ndarray, mjj, y_b, kt, phi_kt) -> np.ndarray:
    """Rest-frame four-vectors -> lab: transverse boost to the ISR recoil kT, then longitudinal to y_B.

    Longitudinal boosts keep pT and rapidity differences, so y* stays the rest-frame value.
    """
    g, gb = np.sqrt(1 + (kt / mjj) ** 2), kt / mjj  # gamma, gamma * beta of the transverse boost
    ux, uy = np.cos(phi_kt), np.sin(phi_kt)
    e, px, py, pz = p4.T
    p_par = px * ux + py * uy  # momentum along the boost
    dp = (g - 1) * p_par + gb * e  # p_par -> gamma p_par + gamma beta E
    e, px, py = g * e + gb * p_par, px + dp * ux, py + dp * uy
    ch, sh = np.cosh(y_b), np.sinh(y_b)
    return np.stack([e * ch + pz * sh, px, py, pz * ch + e * sh], axis=1)


def _pt_eta(p4: np.ndarray):
    pt = np.hypot(p4[:, 1], p4[:, 2])
    return pt, np.arcsinh(p4[:, 3] / pt)


def _lab_jets(k: dict, m_a, m_b):
    a, b = _back_to_back(k["mjj"], m_a, m_b, k["cos"], k["phi"])
    boost = (k["mjj"], k["y_b"], k["kt"], k["phi_kt"])
    return _boost(a, *boost), _boost(b, *boost)


def _trigger(p_a: np.ndarray, p_b: np.ndarray) -> np.ndarray:
    (pt_a, eta_a), (pt_b, eta_b) = _pt_eta(p_a), _pt_eta(p_b)
    return (np.maximum(pt_a, pt_b) > PT_TRIGGER) & (np.abs(eta_a) < ETA_MAX) & (np.abs(eta_b) < ETA_MAX)


# ---------------------------------------------------------------- substructure


def _beta(rng, mean, conc):
    mean = np.clip(mean, 0.03, 0.97)
    return rng.beta(mean * conc, (1 - mean) * conc)


def _taus(rng, rho, tau21):
    """tau1 ~ m/pT (dimensionless N-subjettiness), tau2 = tau21 tau1, tau3 = tau32 tau2."""
    tau1 = rho * rng.lognormal(np.log(0.8), 0.3, len(rho))
    tau2 = tau21 * tau1
    return np.stack([tau1, tau2, _beta(rng, TAU32_MEAN, TAU32_CONC) * tau2], axis=1)


def _qcd_tau21_mean(rho):
    """One-prong jets: tau21 high for narrow jets, falling towards a floor as m/pT grows."""
    return QCD_TAU21_FLOOR + QCD_TAU21_RISE * np.exp(-((rho / QCD_TAU21_RHO) ** 2))


def _qcd_jet(rng, pt):
    """QCD jet mass (TeV) and taus for jets of approximate pT (TeV)."""
    med = QCD_RHO_MEDIAN * (pt / 1.5) ** QCD_RHO_PT_POWER
    rho = np.clip(med * rng.lognormal(0.0, QCD_RHO_SIGMA, len(pt)), 0.004, 0.6)
    t21 = _beta(rng, _qcd_tau21_mean(rho), QCD_TAU21_CONC)
    return rho * pt, _taus(rng, rho, t21)


def _lost_prong(rng, m_true, pt):
    """A prong falls out of the jet with a probability rising with the opening angle ~ 2 m / pT."""
    return rng.random(len(pt)) < JET_LOST_FRAC * np.minimum(1.0, (m_true / pt / JET_LOST_RHO) ** 2)


def _signal_jet(rng, m_true, lost, pt):
    """Reconstructed mass and taus of a boosted two-prong jet (X or Y -> qq).

    Gaussian core, or a fraction of the mass if a prong is lost (then one-prong-like tau21); extra
    radiation (ISR, underlying event) adds mass in quadrature and raises tau21.
    """
    n = len(pt)
    core = m_true * np.where(lost, rng.uniform(0.15, 0.85, n), rng.normal(1.0, JET_MASS_RES, n))
    m = np.sqrt(np.maximum(core, 0.0) ** 2 + rng.exponential(JET_EXTRA_MASS, n) ** 2)
    extra = 1 - (np.maximum(core, 0.0) / m) ** 2  # fraction of m^2 from extra radiation
    mean = SIG_TAU21_FLOOR + SIG_TAU21_RISE * np.exp(-m_true / pt / SIG_TAU21_RHO) + SIG_TAU21_EXTRA * extra
    two_prong = _beta(rng, mean, SIG_TAU21_CONC)
    one_prong = _beta(rng, _qcd_tau21_mean(m / pt), QCD_TAU21_CONC)
    return m, _taus(rng, m / pt, np.where(lost, one_prong, two_prong))


# ---------------------------------------------------------------- event assembly


def _qcd_kinematics(rng, n: int, mjj_range) -> dict:
    mjj, chi, kt = _qcd_mjj_chi_kt(rng, n, *mjj_range)
    cos = np.tanh(0.5 * np.log(chi)) * rng.choice([-1.0, 1.0], n)  # y* = ln(chi) / 2
    return _finish_kinematics(rng, mjj, cos, kt)


def _signal_kinematics(rng, n: int) -> dict:
    """W' -> X Y: decay angle, which jet is X, lost prongs; mjj in the low tail when a prong or FSR leaks."""
    cos = np.median(rng.uniform(-1, 1, (n, 3)), axis=1)  # density (3/4)(1 - cos^2): vector -> 2 scalars
    pt_true = 0.5 * M_WPRIME * np.sqrt(1 - cos**2)
    x_is_a = rng.random(n) < 0.5
    m_true_a, m_true_b = np.where(x_is_a, M_X, M_Y), np.where(x_is_a, M_Y, M_X)
    lost_a, lost_b = _lost_prong(rng, m_true_a, pt_true), _lost_prong(rng, m_true_b, pt_true)
    tail = lost_a | lost_b | (rng.random(n) < MJJ_TAIL_FRAC)
    resp = np.where(tail, 1 - rng.exponential(MJJ_TAIL_MEAN, n), rng.normal(MJJ_CORE_SCALE, MJJ_CORE_RES, n))
    mjj = M_WPRIME * np.maximum(resp, 0.3)
    kt = np.minimum(rng.exponential(ISR_KT_MEAN, n), KT_EDGES[-1])
    k = _finish_kinematics(rng, mjj, cos, kt)
    return dict(k, m_true_a=m_true_a, m_true_b=m_true_b, lost_a=lost_a, lost_b=lost_b)


def _finish_kinematics(rng, mjj, cos, kt) -> dict:
    n = len(mjj)
    return dict(
        mjj=mjj, cos=cos, phi=rng.uniform(0, 2 * np.pi, n), y_b=_dijet_rapidity(rng, mjj), kt=kt,
        phi_kt=rng.uniform(0, 2 * np.pi, n), pt0=0.5 * mjj * np.sqrt(1 - cos**2),
    )  # fmt: skip


def _draw(rng, n: int, signal: bool, mjj_range):
    """n candidate events: kinematics, jet masses and taus of jets a and b (before the trigger)."""
    if signal:
        k = _signal_kinematics(rng, n)
        m_a, t_a = _signal_jet(rng, k["m_true_a"], k["lost_a"], k["pt0"])
        m_b, t_b = _signal_jet(rng, k["m_true_b"], k["lost_b"], k["pt0"])
    else:
        k = _qcd_kinematics(rng, n, mjj_range)
        (m_a, t_a), (m_b, t_b) = _qcd_jet(rng, k["pt0"]), _qcd_jet(rng, k["pt0"])
    return k, m_a, m_b, t_a, t_b


def _shift_masses(m_a, m_b, mjj, slope):
    """CATHODE Eq. 3 on the jet masses: mj1 -> mj1 + c mjj, dmj -> dmj + c mjj (lighter / heavier)."""
    light = m_a <= m_b
    return m_a + np.where(light, 1, 2) * slope * mjj, m_b + np.where(light, 2, 1) * slope * mjj


def _rows(rng, n: int, signal: bool, mjj_range, slope: float) -> np.ndarray:
    """Triggered events of one candidate batch as LHCO rows (GeV)."""
    k, m_a, m_b, t_a, t_b = _draw(rng, n, signal, mjj_range)
    p_a, p_b = _lab_jets(k, m_a, m_b)
    keep = _trigger(p_a, p_b)
    k = {key: v[keep] for key, v in k.items()}
    m_a, m_b, t_a, t_b, p_a, p_b = m_a[keep], m_b[keep], t_a[keep], t_b[keep], p_a[keep], p_b[keep]
    if slope:  # distorted masses on the same events: same angles, same mjj, same selection
        m_a, m_b = _shift_masses(m_a, m_b, k["mjj"], slope)
        p_a, p_b = _lab_jets(k, m_a, m_b)
    jet_a = np.column_stack([p_a[:, 1:] * GEV_PER_TEV, m_a * GEV_PER_TEV, t_a])
    jet_b = np.column_stack([p_b[:, 1:] * GEV_PER_TEV, m_b * GEV_PER_TEV, t_b])
    a_leads = _pt_eta(p_a)[0] >= _pt_eta(p_b)[0]
    j1 = np.where(a_leads[:, None], jet_a, jet_b)
    j2 = np.where(a_leads[:, None], jet_b, jet_a)
    return np.column_stack([j1, j2, np.full(len(j1), float(signal))])


def _generate(n: int, rng, signal: bool, mjj_range, slope: float) -> np.ndarray:
    """Exactly n triggered events: draw batches sized by the running acceptance."""
    if not 0.0 <= slope <= MAX_SLOPE:
        raise ValueError(f"mass_mjj_slope {slope} must lie in [0, {MAX_SLOPE}]")
    parts, have, tried, acc = [], 0, 0, 0.5
    while have < n:
        size = int(min(_CHUNK_MAX, (n - have) / acc * 1.1 + 1000))
        rows = _rows(rng, size, signal, mjj_range, slope)
        parts.append(rows)
        have, tried = have + len(rows), tried + size
        acc = max(have / tried, 1e-3)
    return np.concatenate(parts)[:n] if parts else np.empty((0, 15))


# ---------------------------------------------------------------- public


def generate_background(n: int, seed: int, mjj_range: tuple[float, float] | None = None,
                        mass_mjj_slope: float = 0.0) -> np.ndarray:  # fmt: skip
    """n triggered QCD dijet events (label 0), (n, 15) GeV rows; mjj_range=(lo, hi) TeV restricts mjj.

    mass_mjj_slope c > 0 is the CATHODE correlated variant (Eq. 3, applied to signal too): on the
    same triggered events, mj1 += c mjj and mj2 - mj1 += c mjj; the jets are rebuilt with these
    masses at the same angles and mjj, so their pT drops (often below the 1.2 TeV trigger).
    """
    lo, hi = MJJ_GEN if mjj_range is None else mjj_range
    if not MJJ_GEN[0] <= lo < hi <= MJJ_GEN[1]:
        raise ValueError(f"mjj_range {mjj_range} must satisfy {MJJ_GEN[0]} <= lo < hi <= {MJJ_GEN[1]} TeV")
    return _generate(n, np.random.default_rng(seed), False, (lo, hi), mass_mjj_slope)


def generate_signal(n: int, seed: int, mass_mjj_slope: float = 0.0) -> np.ndarray:
    """n triggered W' -> X Y events (label 1), (n, 15) GeV rows."""
    return _generate(n, np.random.default_rng([seed, 1]), True, None, mass_mjj_slope)


def generate_events(n_background: int, n_signal: int, seed: int, mass_mjj_slope: float = 0.0) -> np.ndarray:
    """Background rows then signal rows, label last, like the R&D file; (n_background + n_signal, 15)."""
    return np.concatenate([
        generate_background(n_background, seed, mass_mjj_slope=mass_mjj_slope),
        generate_signal(n_signal, seed, mass_mjj_slope=mass_mjj_slope),
    ])  # fmt: skip
