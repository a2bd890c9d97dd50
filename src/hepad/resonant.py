"""The steps of the resonant study, one function per workflow rule (the CLI calls these).

Where window w, method m, n_sig n, seed s is trained: `train()`; scored: `score()`.
"""

from __future__ import annotations

import json
import logging
import pickle
from pathlib import Path

import numpy as np

from hepad import metrics
from hepad.errors import InputError
from hepad.io.atomic import atomic_path
from hepad.io.table import Dijets, read_table, write_table
from hepad.methods import METHODS, Method, WindowInputs
from hepad.windows import MIN_EVENTS_SR, check_window, inject, split_pools, truth_counts

log = logging.getLogger(__name__)


def split_samples(events: str, extra: str, outdir: str, signal_fractions: dict, extra_test_fraction: float,
                  seed: int) -> None:
    pools = split_pools(read_table(events), read_table(extra), signal_fractions, extra_test_fraction, seed)
    for name, d in pools.items():
        write_table(Path(outdir) / f"{name}.h5", d)
        log.info("%s: %d events", name, len(d))


def make_data(background: str, signal: str, n_sig: int, seed: int, out: str) -> None:
    data = inject(read_table(background), read_table(signal), n_sig, seed, source=signal)
    write_table(out, data, attrs={"n_sig": n_sig, "seed": seed})
    log.info("mock data: %d background + %d signal events", int((data.label == 0).sum()), n_sig)


def make_testset(extra_test: str, signal_test: str, lo: float, hi: float, out: str) -> None:
    """The window's test set, shared by all methods, n_sig and seeds: held-out background and
    never-injected signal in the SR."""
    bkg, sig = read_table(extra_test), read_table(signal_test)
    check_window(bkg, lo, hi, extra_test)
    sig = sig[sig.in_range(lo, hi)]
    if len(sig) < MIN_EVENTS_SR:
        raise InputError(f"{signal_test}: {len(sig)} signal events in the window [{lo}, {hi}] TeV; expected at least "
                         f"{MIN_EVENTS_SR} to measure a signal efficiency (enlarge the signal pool or the test fraction)")
    test = Dijets.concat([bkg[bkg.in_range(lo, hi)], sig])
    write_table(out, test, attrs={"sr_lo": lo, "sr_hi": hi})
    log.info("test set [%s, %s] TeV: %d signal, %d background", lo, hi, int((test.label == 1).sum()),
             int((test.label == 0).sum()))


def _load_flow(path: str):
    from hepad.flows import DensityModel

    if not Path(path).is_file():
        raise InputError(f"{path}: flow model not found; run its training step first")
    return DensityModel.load(path)


def _job(kind: str, data: str, lo: float | None, hi: float | None, seed: int) -> str:
    """Names a flow-training job in logs and errors: window, n_sig (from the mock data), seed."""
    import h5py

    with h5py.File(data, "r") as f:
        n_sig = f.attrs.get("n_sig", "?")
    where = "all windows" if lo is None else f"SR [{lo}, {hi}] TeV"
    return f"{kind} {where} n_sig {n_sig} seed {seed}"


def train_bkg_flow(data: str, lo: float, hi: float, options: dict, seed: int, device: str, out: str,
                   losses: str, checkpoint: str) -> None:
    """The window's sideband flow p_bg(x | m), shared by ANODE, CATHODE and R-ANODE."""
    from hepad.methods.background import train_background_flow

    d = read_table(data)
    check_window(d, lo, hi, data)
    model, result = train_background_flow(d, lo, hi, options, seed, device, _job("bkg_flow", data, lo, hi, seed),
                                          checkpoint, losses)
    model.save(out)
    Path(checkpoint).unlink(missing_ok=True)
    log.info("background flow trained in %.1f s (%d epochs)", result.seconds, len(result.history))


def train_sigma(data: str, options: dict, seed: int, device: str, out: str, losses: str, checkpoint: str) -> None:
    """SIGMA's one model of all data for every window."""
    from hepad.methods.sigma import train_sigma as fit_sigma

    model, result = fit_sigma(read_table(data), options, seed, device, _job("sigma", data, None, None, seed),
                              checkpoint, losses)
    model.save(out)
    Path(checkpoint).unlink(missing_ok=True)
    log.info("SIGMA model trained in %.1f s (%d epochs)", result.seconds, len(result.history))


def train(method: str, lo: float, hi: float, data: str | None, extra: str | None, signal: str | None,
          options: dict, seed: int, device: str, out_model: str, out_info: str, bkg_flow: str | None = None,
          sigma: str | None = None, kfold: int = 0) -> dict:
    """Train `method` in [lo, hi); kfold > 0: no test set in this window, so train k times and keep
    the out-of-fold scores of the SR data (hepad.kfold)."""
    if method not in METHODS:
        raise InputError(f"method {method!r} is unknown; expected one of {', '.join(METHODS)}")
    m = METHODS[method](options, seed, device)
    inputs = {}
    for key, path in (("data", data), ("extra_bkg", extra), ("signal", signal), ("bkg_flow", bkg_flow),
                      ("sigma", sigma)):
        if key in m.needs:
            if not path:
                raise InputError(f"{method}: needs the {key} {'model' if key in ('bkg_flow', 'sigma') else 'sample'}; "
                                 "none was given")
            if key in ("bkg_flow", "sigma"):
                inputs[key] = _load_flow(path).to(device)
                continue
            inputs[key] = read_table(path)
            if key != "signal":  # the signal pool need not span every window; counts are checked in fit()
                check_window(inputs[key], lo, hi, path)
    if kfold:
        from hepad.kfold import train_kfold

        m, info = train_kfold(lambda: METHODS[method](options, seed, device), WindowInputs(lo, hi, **inputs), kfold,
                              seed)
        with atomic_path(out_model) as tmp, open(tmp, "wb") as f:
            pickle.dump(m, f)
        _write_json(out_info, info)
        return info
    info = {**m.train(WindowInputs(lo, hi, **inputs)), "evaluation": "test"}
    for key in ("history", "w"):  # per-epoch losses of a method's own flow, R-ANODE's fitted w
        if hasattr(m, key):
            info[key] = getattr(m, key)
    log.info("%s [%s, %s] TeV seed %d: trained in %.1f s", method, lo, hi, seed, info["train_seconds"])
    m.save(out_model)
    _write_json(out_info, info)
    return info


def score(model: str, test: str, out: str, bkg_flow: str | None = None) -> None:
    """Scores of the window's test set; for a k-fold job the out-of-fold scores of the SR data."""
    from hepad.kfold import KFoldScores

    m = Method.load(model)
    if isinstance(m, KFoldScores):
        t, s = Dijets(m.mjj, np.zeros((len(m.mjj), 0)), m.label), m.score
    else:
        m.attach(bkg_flow=None if bkg_flow is None else _load_flow(bkg_flow))
        t = read_table(test)
        s = m.score(t)
    if not np.all(np.isfinite(s)):
        raise InputError(f"{model}: {int((~np.isfinite(s)).sum())} non-finite scores on {test}")
    with atomic_path(out) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, score=s.astype(np.float64), label=t.label.astype(np.int8), mjj=t.mjj)


def evaluate(scores: str, info: str, data: str, window: int, n_sig: int, min_bkg: int, out: str) -> dict:
    """Metrics of one (window, method, n_sig, seed): the summary row plus the SIC curve on the common grid."""
    with np.load(scores) as z:
        label, s = z["label"], z["score"]
    row = {"window": window, "nsig": n_sig, **json.loads(Path(info).read_text())}
    row.update(truth_counts(read_table(data), row["sr_lo"], row["sr_hi"]))
    row.update(metrics.summarize(label, s, min_bkg))
    row["sic_grid"] = [None if not np.isfinite(v) else float(v) for v in metrics.sic_on_grid(label, s, min_bkg=min_bkg)]
    _write_json(out, row)
    return row


def _write_json(path: str, obj: dict) -> None:
    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps(obj, indent=1) + "\n")


def validate_template(method: str, lo: float, hi: float, data: str, options: dict, seed: int, device: str,
                      out_json: str, figure: str, bkg_flow: str | None = None, sigma: str | None = None) -> dict:
    """Re-draw the template a template method trained on (same seed: the same events) and compare
    it with the true SR background of the mock data."""
    from hepad import validation

    m = METHODS[method](options, seed, device)
    if not hasattr(m, "template"):
        raise InputError(f"{method}: has no background template to validate")
    models = {k: _load_flow(p).to(device) for k, p in (("bkg_flow", bkg_flow), ("sigma", sigma)) if k in m.needs}
    win = WindowInputs(lo, hi, read_table(data), **models)
    sr = win.signal_region(win.data, "data")
    return validation.validate(m.template(win, sr), sr, lo, hi, seed, m.tag(win), out_json, figure)
