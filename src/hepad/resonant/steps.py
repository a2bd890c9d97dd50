"""The steps of the resonant study, one function per workflow rule (hepad.resonant.commands calls
these).

Where window w, method m, n_sig n, seed s is trained: `train()` (its k fold models and out-of-fold
data scores, hepad.resonant.kfold; several members as one stack); scored: `score()`; its metrics:
`evaluate()`.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from hepad import metrics
from hepad.errors import InputError
from hepad.io.atomic import atomic_path
from hepad.resonant.formats.table import Dijets, read_table, write_table
from hepad.resonant.windows import MIN_EVENTS_SR, check_window, inject, split_pools, truth_counts

log = logging.getLogger(__name__)


def split_samples(events: str, extra: str, outdir: str, signal_fractions: dict, extra_test_fraction: float,
                  seed: int, windows: list[tuple[float, float]] = ()) -> None:
    """The fixed partition of the pools; first, every window of the scan must lie inside the events'
    m_jj range (said here, before any training job starts)."""
    ev = read_table(events)
    for lo, hi in windows:
        check_window(ev[ev.label == 0], lo, hi, f"{events} (background)")
    pools = split_pools(ev, read_table(extra), signal_fractions, extra_test_fraction, seed)
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


def _job(kind: str, data: str, lo: float | None, hi: float | None, seed: int) -> str:
    """Names a shared-model training job in logs and errors: window, n_sig (from the mock data), seed."""
    import h5py

    with h5py.File(data, "r") as f:
        n_sig = f.attrs.get("n_sig", "?")
    where = "all windows" if lo is None else f"SR [{lo}, {hi}] TeV"
    return f"{kind} {where} n_sig {n_sig} seed {seed}"


def train_shared(name: str, data: list[str], windows: list[tuple[float, float]] | None, options: dict,
                 seeds: list[int], device: str, outs: list[str], losses: list[str], checkpoint: str) -> None:
    """Train the shared background model `name` of hepad.resonant.registry.SHARED_MODELS (the
    sideband flow of a window, SIGMA's model of all windows): one model per entry of `outs`, several
    as one stack (resonant.stack) when the model has a stack trainer."""
    from hepad.resonant.registry import SHARED_MODELS

    shared = SHARED_MODELS[name]
    windows = windows or [(None, None)] * len(outs)
    tables = {p: read_table(p) for p in dict.fromkeys(data)}  # a stack over windows reads each file once
    for p, (lo, hi) in zip(data, windows):
        if lo is not None:
            check_window(tables[p], lo, hi, p)
    jobs = [_job(name, p, lo, hi, s) for p, (lo, hi), s in zip(data, windows, seeds)]
    if len(outs) == 1:
        (lo, hi), = windows
        trained = [shared.train(tables[data[0]], lo, hi, options, seeds[0], device, jobs[0], checkpoint, losses[0])]
    elif shared.stack_trainer is None:
        raise InputError(f"{name}: {len(outs)} models in one job, but it has no stack trainer; expected one --model")
    else:
        trained = shared.train_stack([tables[p] for p in data], windows, options, seeds, device, jobs, checkpoint,
                                     losses)
    for (model, result), out, job in zip(trained, outs, jobs):
        model.save(out)
        log.info("%s trained in %.1f s (%d epochs)", job, result.seconds, len(result.history))
    Path(checkpoint).unlink(missing_ok=True)


def window_inputs(method: str, lo: float, hi: float, paths: dict[str, str], device: str, tables: dict | None = None):
    """The method and its WindowInputs: the samples and shared models of its `needs`, read from `paths`
    (`tables`: samples already read, by path; a stack's members share them)."""
    from hepad.resonant.methods import METHODS, WindowInputs
    from hepad.resonant.registry import SHARED_MODELS

    if method not in METHODS:
        raise InputError(f"method {method!r} is unknown; expected one of {', '.join(METHODS)}")
    cls = METHODS[method]
    win = WindowInputs(lo, hi)
    for key in sorted(cls.needs):
        if not paths.get(key):
            what = "model" if key in SHARED_MODELS else "sample"
            raise InputError(f"{method}: needs the {key} {what} (--{key.replace('_', '-')}); none was given")
        if key in SHARED_MODELS:
            win.models[key] = SHARED_MODELS[key].load(paths[key], device)
            continue
        d = tables[paths[key]] if tables and paths[key] in tables else read_table(paths[key])
        if tables is not None:
            tables[paths[key]] = d
        if key != "signal":  # the signal pool need not span every window; counts are checked in fit()
            check_window(d, lo, hi, paths[key])
        setattr(win, key, d)
    return cls, win


def train(method: str, windows: list[tuple[float, float]], paths: list[dict[str, str]], options: dict,
          seeds: list[int], device: str, k: int, fit_width: float, window_ids: list[int], outs: dict[str, list[str]],
          checkpoint: str) -> list[dict]:
    """Train `method` for each member: window windows[k] (index window_ids[k]), inputs paths[k] (keys of
    its `needs`), seed seeds[k]; k fold models each (hepad.resonant.kfold), all members' models as one
    stack when the method has torch models. `outs` (one path per member): "info" (bookkeeping JSON),
    "model" (the fold models, for the test set; windows with a test set) or "scores" (out-of-fold SR
    scores, the evaluation of a window without a test set), and "data_scores" (the bump hunt's input;
    methods that read the data). `checkpoint`: resumed from after a kill."""
    from hepad.resonant.bumphunt.scores import write_data_scores
    from hepad.resonant.kfold import train_folds

    tables: dict = {}
    members = [window_inputs(method, lo, hi, p, device, tables) for (lo, hi), p in zip(windows, paths)]
    cls = members[0][0]
    trained = train_folds(cls, options, device, [win for _, win in members], seeds, k, fit_width, checkpoint)
    for j, (t, w) in enumerate(zip(trained, window_ids)):
        info = {**t.info, "evaluation": "test" if "model" in outs else f"kfold{t.info['kfold']}"}
        if "model" in outs:
            t.models.save(outs["model"][j])
        if "scores" in outs:
            _write_scores(outs["scores"][j], t.sr_scores, t.sr_events, f"{method} k-fold")
        if "data_scores" in outs:
            write_data_scores(outs["data_scores"][j], **t.data_scores, window=w, nsig=_n_sig(paths[j]["data"]))
        _write_json(outs["info"][j], info)
        log.info("%s [%s, %s] TeV seed %d: %d model(s) trained, %.1f s per member", method, info["sr_lo"],
                 info["sr_hi"], info["seed"], info["kfold"], info["train_seconds"])
    for f in Path(checkpoint).parent.glob(f"{Path(checkpoint).name}*"):
        f.unlink()
    return [t.info for t in trained]


def _n_sig(data: str) -> int:
    import h5py

    with h5py.File(data, "r") as f:
        return int(f.attrs["n_sig"])


def score(models: list[str], tests: list[str], outs: list[str], shared: list[dict[str, str]]) -> None:
    """Scores of each window's test set (CPU) with each trained model: models[k] scores tests[k] into
    outs[k] with the shared models of `shared[k]` (paths by name). One process for many models: the
    libraries are imported once, each test set and shared model read once."""
    from hepad.resonant.kfold import FoldModels
    from hepad.resonant.methods import Method
    from hepad.resonant.registry import SHARED_MODELS

    cache: dict = {}

    def read(kind: str, load, path: str):
        if (kind, path) not in cache:
            cache[(kind, path)] = load(path)
        return cache[(kind, path)]

    for model, test, out, paths in zip(models, tests, outs, shared):
        m = Method.load(model)
        if not isinstance(m, FoldModels):
            raise InputError(f"{model}: holds a {type(m).__name__}; expected the fold models `hepad train` writes")
        m.attach({k: read(k, SHARED_MODELS[k].load, p) for k, p in paths.items() if p})
        t = read("test", read_table, test)
        _write_scores(out, m.score(t), t, f"{model} on {test}")
        log.info("%s: %d test events scored", model, len(t))


def _write_scores(out: str, s: np.ndarray, events: Dijets, what: str) -> None:
    if not np.all(np.isfinite(s)):
        raise InputError(f"{what}: {int((~np.isfinite(s)).sum())} non-finite scores")
    with atomic_path(out) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, score=s.astype(np.float64), label=events.label.astype(np.int8), mjj=events.mjj)


def evaluate(scores: str, info: str, data: str, window: int, n_sig: int, min_bkg: int, out: str) -> dict:
    """Metrics of one (window, method, n_sig, seed): the summary row plus the SIC curve on the common grid."""
    with np.load(scores) as z:
        label, s = z["label"], z["score"]
    row = {"window": window, "nsig": n_sig, **json.loads(Path(info).read_text())}
    row.update(truth_counts(read_table(data), row["sr_lo"], row["sr_hi"]))
    if not (label == 1).any():  # k-fold evaluation of background-only data (n_sig = 0): no efficiency to measure
        log.warning("%s: no signal events among the %d scored (n_sig = %d): SIC and AUC are NaN", scores, len(label),
                    n_sig)
        row.update({k: float("nan") for k in ("max_sic", "sic_tpr_0.2", "sic_tpr_0.3", "sic_fpr_1e-3", "auc")},
                   n_sig_test=0, n_bkg_test=len(label), sic_min_bkg=min_bkg, **{"sic_tpr_0.2_is_lower_bound": 0,
                                                                                 "sic_tpr_0.3_is_lower_bound": 0})
        row["sic_grid"] = [None] * len(metrics.TPR_GRID)
        _write_json(out, row)
        return row
    row.update(metrics.summarize(label, s, min_bkg))
    row["sic_grid"] = [None if not np.isfinite(v) else float(v) for v in metrics.sic_on_grid(label, s, min_bkg=min_bkg)]
    _write_json(out, row)
    return row


def _write_json(path: str, obj: dict) -> None:
    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps(obj, indent=1) + "\n")


def validate_template(method: str, lo: float, hi: float, paths: dict[str, str], options: dict, seed: int,
                      device: str, out_json: str, figure: str) -> dict:
    """Re-draw the template a template method trained on (same seed: the same events) and compare
    it with the true SR background of the mock data."""
    from hepad.resonant import validation
    from hepad.resonant.methods import TemplateMethod

    cls, win = window_inputs(method, lo, hi, paths, device)
    if not issubclass(cls, TemplateMethod):
        raise InputError(f"{method}: has no background template to validate")
    m = cls(options, seed, device)
    sr = win.signal_region(win.data, "data")
    return validation.validate(m.template(win, sr), sr, lo, hi, seed, m.tag(win), out_json, figure)
