"""The paper's likelihood-tagging studies on per-shower scores: the mass x displacement heatmap,
lifetime samples (P_d(z) reweighting) and the supervised 505-input MLP for comparison.

SIC = tpr / sqrt(fpr) on the evaluation photons. `max_sic` only takes cuts passed by at least
`min_bkg` background showers (hepad.metrics); `max_sic_nofloor` is the paper's convention (any cut
passed by >= 1 background shower: ceiling sqrt(N_bkg), 316 for 100k photons).
"""

from __future__ import annotations

import os

import numpy as np

from hepad import metrics
from hepad.calo.caloflow import anomaly_score
from hepad.calo.lifetimes import displacement_weights, lifetime_indices
from hepad.calo.showers import Showers, flat_voxels
from hepad.errors import InputError

HEATMAP_COLUMNS = ["mass_gev", "z_m", "max_sic", "auc", "max_sic_nofloor", "max_sic_latent", "auc_latent",
                   "max_sic_jacobian", "auc_jacobian", "n_sig", "n_bkg", "sic_min_bkg", "score", "method",
                   "train_mass_gev"]
SCORE_NAMES = {False: "-log p latent (paper)", True: "-log p of (E_i, u) (with Jacobian)"}
LIFETIME_COLUMNS = ["mass_gev", "tau_ns", "auc", "max_sic", "sic_at_rej_1e2", "sic_at_rej_1e3", "method",
                    "train_mass_gev", "max_sic_nofloor", "n_sig", "n_bkg", "sic_min_bkg", "lifetime_source"]
METHODS = ("unsup", "sup", "combined")  # CaloFlow -log p; the supervised MLP; both (hepad.calo.combined)
CHI_ENERGY_GEV = 50.0  # total energy of the chi in the fixed-displacement samples


def load_scores(path) -> dict:
    try:
        with np.load(path) as f:
            d = {k: f[k] for k in f.files}
    except (OSError, ValueError) as e:
        raise InputError(f"{path}: not a scores file ({e}); expected the npz of `hepad calo-score`") from None
    missing = {"log_p1", "log_p2", "jac1", "jac2"} - set(d)
    if missing:
        raise InputError(f"{path}: missing {sorted(missing)}; expected the npz of `hepad calo-score`")
    return d


def _labelled(sig: np.ndarray, bkg: np.ndarray):
    return np.r_[np.ones(len(sig)), np.zeros(len(bkg))], np.r_[sig, bkg]


def sic_summary(sig: np.ndarray, bkg: np.ndarray, min_bkg: int) -> dict:
    """auc, max_sic (floor), max_sic_nofloor, SIC at background rejection 1/fpr = 1e2 and 1e3."""
    y, s = _labelled(sig, bkg)
    fpr, tpr, _ = metrics.roc(y, s)
    n_bkg = len(bkg)
    return dict(auc=metrics.auc(fpr, tpr), max_sic=metrics.max_sic(y, s, min_bkg),
                max_sic_nofloor=metrics.max_sic(y, s, 0),
                sic_at_rej_1e2=metrics.sic_at_fpr(fpr, tpr, 1e-2, n_bkg, min_bkg),
                sic_at_rej_1e3=metrics.sic_at_fpr(fpr, tpr, 1e-3, n_bkg, min_bkg),
                n_sig=len(sig), n_bkg=n_bkg, sic_min_bkg=min_bkg)


def heatmap_rows(bkg: dict, signals: dict, min_bkg: int, jacobian: bool = False) -> list[dict]:
    """One row per (mass, z) of `signals` {(mass, z): scores}. max_sic, auc, max_sic_nofloor: of
    the main score (`jacobian` selects it); *_latent / *_jacobian: both scores, for comparison."""
    rows = []
    b = {j: anomaly_score(bkg, j) for j in (False, True)}
    for (mass, z), sc in sorted(signals.items()):
        r = {j: sic_summary(anomaly_score(sc, j), b[j], min_bkg) for j in (False, True)}
        main = r[jacobian]
        rows.append(dict(mass_gev=mass, z_m=z, max_sic=main["max_sic"], auc=main["auc"],
                         max_sic_nofloor=main["max_sic_nofloor"], max_sic_latent=r[False]["max_sic"],
                         auc_latent=r[False]["auc"], max_sic_jacobian=r[True]["max_sic"],
                         auc_jacobian=r[True]["auc"], n_sig=main["n_sig"], n_bkg=main["n_bkg"],
                         sic_min_bkg=min_bkg, score=SCORE_NAMES[jacobian], method="unsup", train_mass_gev=""))
    return rows


def tagger_scores(unsup: tuple, sup: dict, seed: int, cell: tuple) -> list:
    """[(method, train_mass, signal scores, background scores)] of the supervised MLPs and of their
    combination with the unsupervised score. unsup: (signal, background); sup: {train_mass: (signal,
    background)}; `cell` (e.g. mass and z in micro-units) seeds the signal's calibration folds."""
    from hepad.calo.combined import combined_scores

    out = []
    for mt in sorted(sup):
        out.append(("sup", mt, *sup[mt]))
        sig, bkg = combined_scores((unsup[0], sup[mt][0]), (unsup[1], sup[mt][1]), seed, cell)
        out.append(("combined", mt, sig, bkg))
    return out


def cell_key(*values) -> tuple:
    return tuple(int(round(1e6 * v)) for v in values)


def lifetime_draws(sizes: dict, mass: float, taus, n_total: int, seed: int) -> dict:
    """{tau: (picks, order)} for the fixed-displacement samples of one mass, sizes {z: n}."""
    zs = sorted(sizes)
    out = {}
    for tau in taus:
        w = displacement_weights(zs, mass, tau, CHI_ENERGY_GEV)
        rng = np.random.default_rng([seed, int(round(1e6 * mass)), int(round(1e6 * tau))])
        out[tau] = lifetime_indices(sizes, w, n_total, rng)
    return out


def mix(per_z: dict, draw) -> np.ndarray:
    """Per-shower values {z: array} -> the lifetime sample's values, in its shuffled order."""
    picks, order = draw
    return np.concatenate([per_z[z][idx] for z, idx in picks])[order]


def supervised_inputs(s: Showers, lam: float) -> np.ndarray:
    """505 inputs: voxels / E_inc_rec (MeV / MeV) and E_inc_rec (GeV), E_inc_rec = lambda * E_dep."""
    vox = flat_voxels(s).astype(np.float64)
    einc = lam * vox.sum(1) / 1000.0
    return np.concatenate([vox / np.maximum(1000.0 * einc, 1e-12)[:, None], einc[:, None]], 1).astype(np.float32)


def parse_tagged(items: list[str], what: str) -> dict:
    """'MASS:Z:PATH' or 'MASS:PATH' command-line items -> {(mass, z) or mass: path}."""
    out = {}
    for item in items:
        parts = item.split(":", 2 if what == "mass:z:path" else 1)
        try:
            key = tuple(float(p) for p in parts[:-1])
        except ValueError:
            key = ()
        if len(parts) != what.count(":") + 1 or not key or not os.path.basename(parts[-1]):
            raise InputError(f"argument {item!r}: expected {what.upper()}")
        out[key if len(key) > 1 else key[0]] = parts[-1]
    return out
