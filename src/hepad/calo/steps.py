"""The workflow steps of the CaloFlow study, files in -> files out (called by hepad.calo.commands)."""

from __future__ import annotations

import json
import logging
import resource
import time
from pathlib import Path

import numpy as np

from hepad.calo import plots, studies, toy
from hepad.calo.preprocessing import sample_seed
from hepad.calo.showers import read_showers, write_showers
from hepad.errors import InputError
from hepad.io.atomic import atomic_path, write_csv

log = logging.getLogger(__name__)


def generate(kind: str, n: int, seed: int, out, mass=None, z=None, tau=None, e_range=(1.0, 100.0)) -> None:
    """Toy sample: `photons` (E uniform in e_range), `chi` (E_chi = 50 GeV at mass, z) or
    `supervised` (kinetic energy uniform in e_range, lifetime tau)."""
    need = {"photons": {}, "chi": dict(mass=mass, z=z), "supervised": dict(mass=mass, tau=tau)}.get(kind, {})
    missing = [f"--{k}" for k, v in need.items() if v is None]
    if missing:
        raise InputError(f"calo-toy --kind {kind}: missing {' '.join(missing)}; expected a value")
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    if kind == "photons":
        s = toy.simulate_background(n, rng, tuple(e_range))
    elif kind == "chi":
        s = toy.simulate_chi(n, mass, z, rng, energy_gev=studies.CHI_ENERGY_GEV)
    elif kind == "supervised":
        s = toy.simulate_chi_lifetime(n, mass, tau, rng, ekin_range_gev=tuple(e_range))
    else:
        raise InputError(f"--kind {kind!r}: expected photons, chi or supervised")
    dt = time.perf_counter() - t0
    log.info("%s: %d showers in %.1f s (%.0f showers/s)", kind, n, dt, n / dt)
    attrs = dict(kind=kind, seed=seed, generator="hepad.calo.toy") | {
        k: v for k, v in dict(mass_gev=mass, z_m=z, tau_ns=tau).items() if v is not None}
    write_showers(out, s, attrs=attrs)


def train_flow(which: int, photons, flow_cfg: dict, train_cfg: dict, seed: int, device: str, model, losses,
               val_fraction: float) -> None:
    from hepad.calo.caloflow import train_flow as _train

    _train(which, read_showers(photons), flow_cfg, train_cfg, seed, model, losses, val_fraction, device,
           checkpoint=f"{model}.ckpt")
    Path(f"{model}.ckpt").unlink(missing_ok=True)  # the model is written: nothing to resume


def score(flow1, flow2, showers, name: str, seed: int, batch_size: int, out) -> None:
    """Per-shower log-likelihoods of one sample (CPU, `batch_size` showers at a time) -> npz."""
    import torch

    from hepad.calo.caloflow import load_flow
    from hepad.calo.caloflow import score as _score

    f1, d1 = load_flow(flow1, 1)
    f2, _ = load_flow(flow2, 2)
    s = read_showers(showers)
    t0 = time.perf_counter()
    with torch.inference_mode():
        sc = _score(f1, f2, d1["calibration_lambda"], s, np.random.default_rng(sample_seed(name, seed)), batch_size)
    dt = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    log.info("%s: %d showers in %.1f s (%.0f showers/s), peak RSS %.2f GiB", name, len(s), dt, len(s) / dt, rss)
    with atomic_path(out) as tmp, open(tmp, "wb") as f:
        np.savez(f, **sc, energy=s.energy)


def train_supervised(signal, photons, flow1, options: dict, seed: int, device: str, model) -> None:
    """The paper's supervised MLP (505 -> 512 -> 512 -> 1) on one signal vs the training photons."""
    import torch

    from hepad.calo.caloflow import load_flow
    from hepad.classifiers.mlp import MLPClassifier

    lam = load_flow(flow1, 1)[1]["calibration_lambda"]
    xs, xb = (studies.supervised_inputs(read_showers(p), lam) for p in (signal, photons))
    x = np.concatenate([xs, xb])
    y = np.r_[np.ones(len(xs)), np.zeros(len(xb))]
    val = np.zeros(len(x), bool)
    val[np.random.default_rng(seed).permutation(len(x))[: int(round(options.get("val_fraction", 0.25) * len(x)))]] = True
    opts = {k: v for k, v in options.items() if k != "val_fraction"}
    clf = MLPClassifier(seed=seed, device=device, **(dict(hidden=[512, 512], epochs=50, batch_size=256) | opts))
    clf.fit(x[~val], y[~val], None, x[val], y[val], None, name=f"supervised {Path(signal).name}",
            checkpoint=f"{model}.ckpt")
    clf.cfg.device = "cpu"  # scoring runs in CPU jobs
    with atomic_path(model) as tmp:
        torch.save(dict(clf=clf, calibration_lambda=lam), tmp)
    Path(f"{model}.ckpt").unlink(missing_ok=True)


def _supervised(models: dict, showers) -> dict:
    """{train_mass: MLP output per shower} of the showers file `showers`."""
    s = read_showers(showers) if models else None
    return {m: d["clf"].predict(studies.supervised_inputs(s, d["calibration_lambda"])) for m, d in models.items()}


def _load_supervised(supervised: dict) -> dict:
    from hepad.calo.caloflow import load_model_file

    return {m: load_model_file(p, "a model of `hepad calo-train-supervised`") for m, p in supervised.items()}


def _rows_and_log(key: dict, sig, bkg, min_bkg, method, mt, rows, what: str) -> None:
    rows.append(key | dict(method=method, train_mass_gev="" if mt is None else mt) | studies.sic_summary(sig, bkg, min_bkg))
    log.info("%s %s%s: AUC %.3f max SIC %.2f", what, method, "" if mt is None else f"({mt:g})", rows[-1]["auc"],
             rows[-1]["max_sic"])


def _log_kept(rows: list[dict], what: str) -> None:
    """One line per combined row of one sample: how much of its stronger input's AUC - 0.5 it keeps."""
    from hepad.calo.combined import kept_fraction

    auc = {(r["method"], r["train_mass_gev"]): r["auc"] for r in rows}
    for (method, mt), a in auc.items():
        if method == "combined":
            kept = kept_fraction(a, (auc[("unsup", "")], auc[("sup", mt)]))
            log.info("%s combined(%g) keeps %.0f %% of its stronger input's AUC - 0.5 (unsup %.3f, sup %.3f, "
                     "combined %.3f)", what, mt, 100 * kept, auc[("unsup", "")], auc[("sup", mt)], a)


def heatmap(background, signals: dict, min_bkg: int, jacobian: bool, csv_out, figdir, background_showers=None,
            signal_showers: dict | None = None, supervised: dict | None = None, seed: int = 0) -> None:
    """heatmap.csv over mass x displacement (unsup; with `supervised` models also sup and combined
    rows) and the figures calo_heatmap, calo_loglik, calo_jacobian (unsup)."""
    from hepad.calo.caloflow import anomaly_score

    bkg = studies.load_scores(background)
    sig = {k: studies.load_scores(p) for k, p in signals.items()}
    rows = studies.heatmap_rows(bkg, sig, min_bkg, jacobian)
    for r in rows:
        log.info("m=%g GeV z=%g m: max SIC %.2f (no floor %.1f), AUC %.3f", r["mass_gev"], r["z_m"], r["max_sic"],
                 r["max_sic_nofloor"], r["auc"])
    figdir = Path(figdir)
    plots.heatmap(rows, figdir / "calo_heatmap", min_bkg)
    plots.loglik(bkg, sig, figdir / "calo_loglik")
    plots.jacobian(bkg, sig, rows, figdir / "calo_jacobian")
    models = _load_supervised(supervised or {})
    if models and (background_showers is None or set(signal_showers or {}) != set(signals)):
        raise InputError("calo-heatmap: --supervised needs --background-showers and --signal-showers naming the "
                         "same (mass, z) samples as --signal")
    b_sup = _supervised(models, background_showers)
    for (mass, z), sc in sorted(sig.items()):
        s_sup = _supervised(models, signal_showers[(mass, z)])
        unsup = (anomaly_score(sc, jacobian), anomaly_score(bkg, jacobian))
        entries = studies.tagger_scores(unsup, {m: (s_sup[m], b_sup[m]) for m in models}, seed,
                                        studies.cell_key(mass, z))
        for method, mt, s, b in entries:
            _rows_and_log(dict(mass_gev=mass, z_m=z), s, b, min_bkg, method, mt, rows, f"m={mass:g} GeV z={z:g} m:")
        unsup_row = next(r for r in rows if r["method"] == "unsup" and (r["mass_gev"], r["z_m"]) == (mass, z))
        _log_kept([unsup_row, *rows[len(rows) - len(entries):]], f"m={mass:g} GeV z={z:g} m:")
    write_csv(csv_out, rows, studies.HEATMAP_COLUMNS)


def lifetimes(background, background_showers, signal_scores: dict, signal_showers: dict, supervised: dict,
              taus, n_showers: int, seed: int, min_bkg: int, jacobian: bool, csv_out, figdir,
              lifetime_scores: dict | None = None, lifetime_showers: dict | None = None) -> None:
    """Lifetime samples per (mass, tau): the public lifetime sample where given (`lifetime_scores`,
    `lifetime_showers` {(mass, tau): path}), else P_d(z) reweighting of the fixed-displacement samples;
    unsupervised, supervised and combined SIC."""
    from hepad.calo.caloflow import anomaly_score

    lifetime_scores, lifetime_showers = lifetime_scores or {}, lifetime_showers or {}
    if set(signal_scores) != set(signal_showers) or set(lifetime_scores) != set(lifetime_showers):
        raise InputError("calo-lifetimes: --signal and --signal-showers (and --lifetime-scores and "
                         "--lifetime-showers) must name the same samples")
    models = _load_supervised(supervised)
    bkg_unsup = anomaly_score(studies.load_scores(background), jacobian)
    bkg_sup = _supervised(models, background_showers)
    rows, curves = [], {}
    for mass in sorted({m for m, _ in signal_scores}):
        zs = sorted(z for m, z in signal_scores if m == mass)
        unsup = {z: anomaly_score(studies.load_scores(signal_scores[(mass, z)]), jacobian) for z in zs}
        sup = {mt: {} for mt in models}
        for z in zs:
            for mt, v in _supervised(models, signal_showers[(mass, z)]).items():
                sup[mt][z] = v
        draws = studies.lifetime_draws({z: len(unsup[z]) for z in zs}, mass, taus, n_showers, seed)
        for tau, draw in draws.items():
            if (mass, tau) in lifetime_scores:
                source = f"sample {Path(lifetime_showers[(mass, tau)]).name}"
                s_unsup = anomaly_score(studies.load_scores(lifetime_scores[(mass, tau)]), jacobian)
                s_sup = _supervised(models, lifetime_showers[(mass, tau)])
            else:
                source = "reweighted fixed-displacement samples"
                s_unsup = studies.mix(unsup, draw)
                s_sup = {mt: studies.mix(sup[mt], draw) for mt in models}
            log.info("m=%g tau=%g ns: showers from %s", mass, tau, source)
            key = dict(mass_gev=mass, tau_ns=tau, lifetime_source=source)
            entries = [("unsup", None, s_unsup, bkg_unsup)] + studies.tagger_scores(
                (s_unsup, bkg_unsup), {mt: (s_sup[mt], bkg_sup[mt]) for mt in models}, seed, studies.cell_key(mass, tau))
            for method, mt, s, b in entries:
                _rows_and_log(key, s, b, min_bkg, method, mt, rows, f"m={mass:g} tau={tau:g}")
                curves[(method, -1.0 if mt is None else mt, mass, tau)] = studies._labelled(s, b)
            _log_kept(rows[-len(entries):], f"m={mass:g} tau={tau:g}")
    figdir = Path(figdir)
    plots.lifetime_sic(curves, figdir / "calo_lifetime_sic", len(bkg_unsup), min_bkg, with_sup=False)
    plots.lifetime_sic(curves, figdir / "calo_sup_vs_unsup", len(bkg_unsup), min_bkg, with_sup=True)
    write_csv(csv_out, rows, studies.LIFETIME_COLUMNS)


def example_figure(photons, signal, stem) -> None:
    """Fig. 4: the signal shower with the most layer-1 energy outside its hottest 3x3 cells (two blobs)
    next to the median-energy photon near its energy."""
    p, s = read_showers(photons), read_showers(signal)
    l1 = s.layers[1].reshape(len(s), 12, 12)
    i_max = l1.reshape(len(s), -1).argmax(1)
    ix, iy = np.divmod(i_max, 12)
    core = np.array([l1[k, max(a - 1, 0):a + 2, max(b - 1, 0):b + 2].sum() for k, (a, b) in enumerate(zip(ix, iy))])
    frac = 1 - core / np.maximum(l1.reshape(len(s), -1).sum(1), 1e-9)
    k = int(np.argsort(frac)[int(0.9 * (len(s) - 1))])  # 90th percentile: clearly two blobs, not an outlier
    j = int(np.argmin(np.abs(p.energy - s.energy[k])))
    titles = (f"chi ({Path(signal).stem})", f"photon {p.energy[j]:.0f} GeV")
    plots.example_showers([l[j] for l in p.layers], [l[k] for l in s.layers], titles, stem)


def load_json(text: str, what: str) -> dict:
    try:
        d = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"{what} = {text!r}: not JSON ({e}); expected a JSON object") from None
    if not isinstance(d, dict):
        raise InputError(f"{what} = {text!r}: expected a JSON object")
    return d

