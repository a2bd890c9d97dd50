"""`hepad` subcommands of the resonant study (registered by hepad.cli); steps import lazily.

The inputs a method may read are one flag each, from hepad.resonant.registry: SAMPLES (--data,
--extra-bkg, --signal) and SHARED_MODELS (--bkg-flow, --sigma; and `train-<name>` for each).
"""

from __future__ import annotations

import json


def _flag(key: str) -> str:
    return "--" + key.replace("_", "-")


def _options(text: str) -> dict:
    from hepad.errors import InputError

    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"--options {text!r}: not valid JSON ({e.msg} at character {e.pos}); expected a JSON object")
    if not isinstance(value, dict):
        raise InputError(f"--options {text!r}: expected a JSON object")
    return value


def _paths(a, keys) -> dict:
    return {k: getattr(a, k) for k in keys if getattr(a, k, None)}


def _input_keys() -> list[str]:
    from hepad.resonant.registry import SAMPLES, SHARED_MODELS

    return [*SAMPLES, *SHARED_MODELS]


def _toy_dijets(a):
    from hepad.resonant.formats.lhco import write_lhco_features
    from hepad.resonant.toy import generate_background, generate_events

    write_lhco_features(a.events_out, generate_events(a.n_background, a.n_signal, a.seed, a.mass_mjj_slope))
    extra = generate_background(a.n_extra, a.seed + 1, tuple(a.extra_mjj_range), a.mass_mjj_slope)
    extra[:, -1] = 0
    write_lhco_features(a.extra_out, extra)


def _toy_null(a):
    from hepad.resonant.formats.lhco import write_lhco_features
    from hepad.resonant.toy import generate_background

    write_lhco_features(a.out, generate_background(a.n_background, a.seed, mass_mjj_slope=a.mass_mjj_slope))


def _prepare_dijets(a):
    from hepad.resonant.formats.readers import parse_branches, read_dijets
    from hepad.resonant.formats.table import write_table

    d = read_dijets(a.input, a.format, tree=a.tree, branches=parse_branches(a.branch), kinematics=a.kinematics,
                    unit=a.unit)  # fmt: skip
    write_table(a.out, d, attrs={"source": str(a.input)})


def _split_samples(a):
    from hepad.resonant.steps import split_samples

    inj, tr, te = a.signal_fractions
    windows = list(zip(a.windows[::2], a.windows[1::2]))
    split_samples(a.events, a.extra, a.outdir, {"inject": inj, "train": tr, "test": te}, a.extra_test_fraction, a.seed,
                  windows)


def _inject(a):
    from hepad.resonant.steps import make_data

    make_data(a.background, a.signal, a.n_sig, a.seed, a.out)


def _make_testset(a):
    from hepad.resonant.steps import make_testset

    make_testset(a.extra_test, a.signal_test, a.window[0], a.window[1], a.out)


def _train_shared(a):
    from hepad.errors import InputError
    from hepad.resonant.steps import train_shared

    k = len(a.model)  # one model, or a stack of k (resonant.stack): per-model lists, or one value for all
    w = getattr(a, "window", None)
    if w is not None and len(w) % 2:
        raise InputError(f"--window: {len(w)} numbers; expected pairs LO HI")
    lists = _lists(k, {"--data": a.data, "--seed": a.seed, "--losses": a.losses,
                          "--window": None if w is None else list(zip(w[::2], w[1::2]))})
    train_shared(a.shared_model, lists["--data"], lists.get("--window"), _options(a.options), lists["--seed"],
                 a.device, a.model, lists["--losses"], a.checkpoint)


def _lists(k: int, flags: dict) -> dict:
    """Per-model lists of a stacked job's flags: each flag gives one value, or one per model."""
    from hepad.errors import InputError

    out = {}
    for flag, values in flags.items():
        if values is None:
            continue
        if len(values) not in (1, k):
            raise InputError(f"{flag}: {len(values)} values for {k} models; expected one, or one per --model")
        out[flag] = values * k if len(values) == 1 else values
    return out


def _train(a):
    from hepad.errors import InputError
    from hepad.resonant.steps import train

    k = len(a.info)  # one model, or a stack of k members (resonant.stack): per-member lists
    if len(a.window) % 2:
        raise InputError(f"--window: {len(a.window)} numbers; expected pairs LO HI")
    keys = _input_keys()
    lists = _lists(k, {"--window": list(zip(a.window[::2], a.window[1::2])), "--seed": a.seed,
                       "--window-index": a.window_index, **{_flag(key): getattr(a, key) for key in keys}})
    outs = {name: v for name in ("info", "model", "scores", "data_scores") if (v := getattr(a, name))}
    for name, v in outs.items():
        if len(v) != k:
            raise InputError(f"{_flag(name)}: {len(v)} files for {k} members; expected one per --info")
    if ("model" in outs) == ("scores" in outs):
        raise InputError("train: expected --model (windows with a test set) or --scores (k-fold windows), not both")
    paths = [{key: lists[_flag(key)][j] for key in keys if _flag(key) in lists} for j in range(k)]
    train(a.method, lists["--window"], paths, _options(a.options), lists["--seed"], a.device, a.kfold, a.fit_width,
          lists["--window-index"], outs, a.checkpoint)


def _score(a):
    from hepad.errors import InputError
    from hepad.resonant.registry import SHARED_MODELS
    from hepad.resonant.steps import score

    k = len(a.model)
    lists = _lists(k, {"--test": a.test, "--out": a.out, **{_flag(key): getattr(a, key) for key in SHARED_MODELS}})
    if len(a.out) != k:
        raise InputError(f"--out: {len(a.out)} files for {k} models; expected one per --model")
    score(a.model, lists["--test"], a.out,
          [{key: lists[_flag(key)][j] for key in SHARED_MODELS if _flag(key) in lists} for j in range(k)])


def _validate_template(a):
    from hepad.resonant.steps import validate_template

    validate_template(a.method, a.window[0], a.window[1], _paths(a, _input_keys()), _options(a.options), a.seed,
                      a.device, a.out, a.figure)


def _metrics(a):
    from hepad.resonant.steps import evaluate

    evaluate(a.scores, a.info, a.data, a.window_index, a.n_sig, a.min_bkg, a.out)


def _aggregate(a):
    from hepad.resonant.aggregate import aggregate

    aggregate(a.metrics, a.summary, a.figdir, a.min_bkg)


def _compute_accounting(a):
    from hepad.resonant.compute import account

    from hepad.errors import InputError

    stack: dict = {}
    for item in a.stack:  # rule:dim=v1,v2
        rule, sep, rest = item.partition(":")
        dim, eq, values = rest.partition("=")
        if not (sep and eq and values):
            raise InputError(f"--stack {item!r}: expected RULE:WILDCARD=V1,V2")
        stack.setdefault(rule, {})[dim] = values.split(",")
    account(a.benchmarks, a.jobs, a.methods, a.figure, stack)


def _flow_losses(a):
    from hepad.resonant.aggregate import flow_losses

    flow_losses(a.losses, a.figure)


def _template_closure(a):
    from hepad.resonant.aggregate import closure_table

    closure_table(a.inputs, a.out)


def _bumphunt(a):
    from hepad.resonant.bumphunt.hunt import bumphunt

    bumphunt(a.scores, a.eps, a.out, a.calibration, a.summary, a.figures, a.signal_window, a.null_samples == "shared",
             a.expect, a.fit_min_mjj)


def add_commands(sub) -> None:
    """Add the resonant study's steps to the `hepad` parser's subparsers."""
    from hepad.resonant.registry import SAMPLES, SHARED_MODELS

    window = dict(type=float, nargs=2, required=True, metavar=("LO", "HI"), help="signal region [lo, hi) in TeV")

    def inputs(s, keys, many: bool = False) -> None:
        """One flag per input kind; `many`: one value, or one per model of a stack."""
        for key in keys:
            what = SHARED_MODELS[key].help if key in SHARED_MODELS else SAMPLES[key]
            s.add_argument(_flag(key), dest=key, nargs="+" if many else None,
                           help=f"{what} (for methods that need it{'; one, or one per model' if many else ''})")

    s = sub.add_parser("toy-dijets", help="generate toy events in the LHCO R&D features layout")
    s.add_argument("--events-out", required=True)
    s.add_argument("--extra-out", required=True)
    s.add_argument("--n-background", type=int, required=True)
    s.add_argument("--n-signal", type=int, required=True)
    s.add_argument("--n-extra", type=int, required=True)
    s.add_argument("--extra-mjj-range", type=float, nargs=2, required=True, metavar=("LO", "HI"))
    s.add_argument("--mass-mjj-slope", type=float, default=0.0)
    s.add_argument("--seed", type=int, required=True)
    s.set_defaults(func=_toy_dijets)

    s = sub.add_parser("toy-null", help="an independent toy QCD sample (the mock data of an n_sig = 0 run)")
    s.add_argument("--out", required=True)
    s.add_argument("--n-background", type=int, required=True)
    s.add_argument("--mass-mjj-slope", type=float, default=0.0)
    s.add_argument("--seed", type=int, required=True)
    s.set_defaults(func=_toy_null)

    s = sub.add_parser("prepare-dijets", help="input file -> canonical dijet table")
    s.add_argument("--input", required=True)
    s.add_argument("--format", choices=["lhco", "arrays", "root"], required=True)
    s.add_argument("--out", required=True)
    g = s.add_argument_group("ROOT input (--format root)")
    g.add_argument("--tree", default="events")
    g.add_argument("--kinematics", choices=["ptetaphim", "pxpypzm"], default="ptetaphim")
    g.add_argument("--unit", choices=["GeV", "MeV", "TeV"], default="GeV", help="of momenta and masses")
    g.add_argument("--branch", action="append", metavar="KEY=NAME", help="branch name, e.g. pt=jet_pt (repeat)")
    s.set_defaults(func=_prepare_dijets)

    s = sub.add_parser("split-samples", help="fixed partition of signal pool and extra background")
    s.add_argument("--events", required=True)
    s.add_argument("--extra", required=True)
    s.add_argument("--outdir", required=True)
    s.add_argument("--signal-fractions", type=float, nargs=3, required=True, metavar=("INJECT", "TRAIN", "TEST"))
    s.add_argument("--extra-test-fraction", type=float, required=True)
    s.add_argument("--seed", type=int, required=True)
    s.add_argument("--windows", type=float, nargs="*", default=[], metavar="LO HI",
                   help="the scan's windows (TeV), checked against the events' m_jj range")
    s.set_defaults(func=_split_samples)

    s = sub.add_parser("inject", help="mock data: background + n_sig signal events")
    s.add_argument("--background", required=True)
    s.add_argument("--signal", required=True)
    s.add_argument("--n-sig", type=int, required=True)
    s.add_argument("--seed", type=int, required=True)
    s.add_argument("--out", required=True)
    s.set_defaults(func=_inject)

    s = sub.add_parser("make-testset", help="a window's test set")
    s.add_argument("--extra-test", required=True)
    s.add_argument("--signal-test", required=True)
    s.add_argument("--window", **window)
    s.add_argument("--out", required=True)
    s.set_defaults(func=_make_testset)

    for shared in SHARED_MODELS.values():  # train-bkg-flow, train-sigma, ...
        s = sub.add_parser(shared.command, help=f"{shared.help}; several models (a stack) with lists")
        s.add_argument("--data", nargs="+", required=True, help="mock data (one, or one per model)")
        if shared.per_window:
            s.add_argument("--window", type=float, nargs="+", required=True, metavar="LO HI",
                           help="signal region(s) in TeV (one, or one per model)")
        s.add_argument("--options", default="{}", help="its options as JSON")
        s.add_argument("--seed", type=int, nargs="+", required=True)
        s.add_argument("--device", default="auto")
        s.add_argument("--model", nargs="+", required=True, help="output(s): one file per model")
        s.add_argument("--losses", nargs="+", required=True, help="per-epoch loss file(s) (CSV)")
        s.add_argument("--checkpoint", required=True, help="written each epoch; resumed from if present")
        s.set_defaults(func=_train_shared, shared_model=shared.name)

    s = sub.add_parser("train", help="fit a method in a window (k fold models); several members (a stack) with lists")
    s.add_argument("--method", required=True)
    s.add_argument("--window", type=float, nargs="+", required=True, metavar="LO HI",
                   help="signal region(s) [lo, hi) in TeV (one, or one per member)")
    s.add_argument("--window-index", type=int, nargs="+", required=True, help="index of each window in the scan")
    inputs(s, _input_keys(), many=True)
    s.add_argument("--options", default="{}", help="method options as JSON")
    s.add_argument("--seed", type=int, nargs="+", required=True)
    s.add_argument("--device", default="auto")
    s.add_argument("--kfold", type=int, required=True, help="fold models per member (resonant.kfold, >= 2)")
    s.add_argument("--fit-width", type=float, required=True,
                   help="TeV on each side of the SR whose data events are folded and scored (the bump hunt's fit range)")
    s.add_argument("--info", nargs="+", required=True, help="bookkeeping JSON, one per member")
    s.add_argument("--model", nargs="+", help="the fold models, one file per member (windows with a test set)")
    s.add_argument("--scores", nargs="+", help="out-of-fold scores of the SR data, one per member (no test set)")
    s.add_argument("--data-scores", nargs="+", help="out-of-fold scores of the fit range's data, one per member "
                   "(the bump hunt's input; methods that read the data)")
    s.add_argument("--checkpoint", required=True, help="written during training, resumed from if present")
    s.set_defaults(func=_train)

    s = sub.add_parser("score", help="score a window's test set with a trained method (several: lists)")
    s.add_argument("--model", nargs="+", required=True)
    s.add_argument("--test", nargs="+", required=True, help="the window's test set (one, or one per model)")
    inputs(s, SHARED_MODELS, many=True)
    s.add_argument("--out", nargs="+", required=True, help="one score file per model")
    s.set_defaults(func=_score)

    s = sub.add_parser("validate-template", help="a template method's template vs the true SR background")
    s.add_argument("--method", required=True)
    s.add_argument("--window", **window)
    inputs(s, _input_keys())
    s.add_argument("--options", default="{}")
    s.add_argument("--seed", type=int, required=True)
    s.add_argument("--device", default="auto")
    s.add_argument("--out", required=True, help="JSON with the closure AUC")
    s.add_argument("--figure", required=True, help="figure path without extension (PDF and PNG)")
    s.set_defaults(func=_validate_template)

    s = sub.add_parser("metrics", help="SIC, AUC of one score file")
    s.add_argument("--scores", required=True)
    s.add_argument("--info", required=True)
    s.add_argument("--data", required=True, help="the mock data (for the SR truth counts)")
    s.add_argument("--window-index", type=int, required=True)
    s.add_argument("--n-sig", type=int, required=True)
    s.add_argument("--min-bkg", type=int, default=25)
    s.add_argument("--out", required=True)
    s.set_defaults(func=_metrics)

    s = sub.add_parser("aggregate-resonant", help="summary.csv and figures")
    s.add_argument("--metrics", nargs="+", required=True)
    s.add_argument("--summary", required=True)
    s.add_argument("--figdir", required=True)
    s.add_argument("--min-bkg", type=int, default=25)
    s.set_defaults(func=_aggregate)

    s = sub.add_parser("compute-accounting", help="training cost per job and per method from benchmark files")
    s.add_argument("--benchmarks", nargs="+", required=True)
    s.add_argument("--jobs", required=True, help="CSV, one row per training job")
    s.add_argument("--methods", required=True, help="CSV, one row per method")
    s.add_argument("--figure", required=True, help="figure path without extension")
    s.add_argument("--stack", nargs="*", default=[], metavar="RULE:WILDCARD=V1,V2",
                   help="values of the stacked wildcards (resonant.stack) per training rule: a stacked job's time "
                        "is divided among them")
    s.set_defaults(func=_compute_accounting)

    s = sub.add_parser("flow-losses", help="figure of the shared models' per-epoch losses")
    s.add_argument("--losses", nargs="+", required=True, metavar="MODEL=FILE",
                   help="per-epoch loss files, each tagged with its shared model's name")
    s.add_argument("--figure", required=True)
    s.set_defaults(func=_flow_losses)

    s = sub.add_parser("template-closure", help="table of the template validation jobs")
    s.add_argument("--inputs", nargs="+", required=True)
    s.add_argument("--out", required=True)
    s.set_defaults(func=_template_closure)

    s = sub.add_parser("bumphunt", help="bump hunt: cut on out-of-fold data scores, background in the SR from a template "
                       "or a sideband fit, local and global significance")
    s.add_argument("--scores", nargs="+", required=True, help="data-scores .npz files (one per window x method x "
                   "n_sig x seed; hepad.resonant.bumphunt.scores)")
    s.add_argument("--eps", type=float, nargs="+", required=True, help="background efficiencies of the cut")
    s.add_argument("--out", required=True, help="bumphunt.csv")
    s.add_argument("--calibration", required=True, help="bumphunt_calibration.csv (n_sig = 0 runs)")
    s.add_argument("--summary", required=True, help="bumphunt_summary.csv (per method, route and n_sig: the best "
                   "window and eps, its median local and global Z, the calibration verdict)")
    s.add_argument("--figures", required=True, help="folder of the figures")
    s.add_argument("--expect", nargs="*", default=[], metavar="NAME",
                   help="figure names (no extension) to write in any case: a \"no estimate\" figure with the reason "
                   "where the rows cannot fill one (the workflow's declared outputs)")
    s.add_argument("--signal-window", type=int, default=None,
                   help="window index with the injected signal (default: the largest median S/sqrt(N) in the SR)")
    s.add_argument("--null-samples", choices=["independent", "shared"], default="independent",
                   help="the n_sig = 0 runs' background: a sample per seed (pseudo-experiments), or the one sample "
                   "of the signal runs (seeds vary the training only; the calibration table says so)")
    s.add_argument("--fit-min-mjj", type=float, default=2.8, metavar="TEV",
                   help="the sideband fit's lowest m_jj, above the trigger turn-on (default 2.8: "
                   "hepad.resonant.bumphunt.fit.FIT_MIN_MJJ)")
    s.set_defaults(func=_bumphunt)
