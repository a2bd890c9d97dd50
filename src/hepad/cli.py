"""The one command-line entry point: `hepad <step> ...`. Every workflow rule calls one step.

Bad input ends with a one-line `error: ...` on stderr, exit status 2, and no output written.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys

# OpenMP threads that spin while waiting collapse (25x slower, measured) when jobs share the cores;
# set before torch or sklearn load their OpenMP runtime.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from hepad.errors import InputError, TrainingDiverged


def _toy_dijets(a):
    from hepad.io.lhco import write_lhco_features
    from hepad.toy.dijets import generate_background, generate_events

    write_lhco_features(a.events_out, generate_events(a.n_background, a.n_signal, a.seed, a.mass_mjj_slope))
    extra = generate_background(a.n_extra, a.seed + 1, tuple(a.extra_mjj_range), a.mass_mjj_slope)
    extra[:, -1] = 0
    write_lhco_features(a.extra_out, extra)


def _prepare_dijets(a):
    from hepad.io.readers import parse_branches, read_dijets
    from hepad.io.table import write_table

    d = read_dijets(a.input, a.format, tree=a.tree, branches=parse_branches(a.branch), kinematics=a.kinematics,
                    unit=a.unit)  # fmt: skip
    write_table(a.out, d, attrs={"source": str(a.input)})


def _split_samples(a):
    from hepad.resonant import split_samples

    inj, tr, te = a.signal_fractions
    split_samples(a.events, a.extra, a.outdir, {"inject": inj, "train": tr, "test": te}, a.extra_test_fraction, a.seed)


def _inject(a):
    from hepad.resonant import make_data

    make_data(a.background, a.signal, a.n_sig, a.seed, a.out)


def _make_testset(a):
    from hepad.resonant import make_testset

    make_testset(a.extra_test, a.signal_test, a.window[0], a.window[1], a.out)


def _train_bkg_flow(a):
    from hepad.resonant import train_bkg_flow

    train_bkg_flow(a.data, a.window[0], a.window[1], json.loads(a.options), a.seed, a.device, a.model, a.losses,
                   a.checkpoint)


def _train_sigma(a):
    from hepad.resonant import train_sigma

    train_sigma(a.data, json.loads(a.options), a.seed, a.device, a.model, a.losses, a.checkpoint)


def _train(a):
    from hepad.resonant import train

    train(a.method, a.window[0], a.window[1], a.data, a.extra, a.signal, json.loads(a.options), a.seed, a.device,
          a.model, a.info, a.bkg_flow, a.sigma_model, a.kfold)


def _score(a):
    from hepad.resonant import score

    score(a.model, a.test, a.out, a.bkg_flow)


def _validate_template(a):
    from hepad.resonant import validate_template

    validate_template(a.method, a.window[0], a.window[1], a.data, json.loads(a.options), a.seed, a.device, a.out,
                      a.figure, a.bkg_flow, a.sigma_model)


def _compute_accounting(a):
    from hepad.compute import account

    account(a.benchmarks, a.jobs, a.methods, a.figure)


def _flow_losses(a):
    from hepad.aggregate import flow_losses

    flow_losses(a.losses, a.figure)


def _template_closure(a):
    from hepad.aggregate import closure_table

    closure_table(a.inputs, a.out)


def _metrics(a):
    from hepad.resonant import evaluate

    evaluate(a.scores, a.info, a.data, a.window_index, a.n_sig, a.min_bkg, a.out)


def _aggregate_resonant(a):
    from hepad.aggregate import aggregate

    aggregate(a.metrics, a.summary, a.figdir, a.min_bkg)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hepad", description=__doc__)
    p.add_argument("--threads", type=int, default=None, help="CPU threads for torch and sklearn")
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="step", required=True)

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
    s.add_argument("--window", type=float, nargs=2, required=True, metavar=("LO", "HI"))
    s.add_argument("--out", required=True)
    s.set_defaults(func=_make_testset)

    for name, helptext in (("train-bkg-flow", "the window's sideband flow p_bg(x | m_jj) (ANODE, CATHODE, R-ANODE)"),
                           ("train-sigma", "SIGMA's model of all data, for every window")):
        s = sub.add_parser(name, help=helptext)
        s.add_argument("--data", required=True, help="mock data")
        if name == "train-bkg-flow":
            s.add_argument("--window", type=float, nargs=2, required=True, metavar=("LO", "HI"))
        s.add_argument("--options", default="{}", help="flow options as JSON")
        s.add_argument("--seed", type=int, required=True)
        s.add_argument("--device", default="auto")
        s.add_argument("--model", required=True)
        s.add_argument("--losses", required=True, help="per-epoch loss file (CSV)")
        s.add_argument("--checkpoint", required=True, help="written each epoch; resumed from if present")
        s.set_defaults(func=_train_bkg_flow if name == "train-bkg-flow" else _train_sigma)

    s = sub.add_parser("validate-template", help="a template method's template vs the true SR background")
    s.add_argument("--method", required=True)
    s.add_argument("--window", type=float, nargs=2, required=True, metavar=("LO", "HI"))
    s.add_argument("--data", required=True)
    s.add_argument("--bkg-flow")
    s.add_argument("--sigma-model")
    s.add_argument("--options", default="{}")
    s.add_argument("--seed", type=int, required=True)
    s.add_argument("--device", default="auto")
    s.add_argument("--out", required=True, help="JSON with the closure AUC")
    s.add_argument("--figure", required=True, help="figure path without extension (PDF and PNG)")
    s.set_defaults(func=_validate_template)

    s = sub.add_parser("train", help="fit one method in one window")
    s.add_argument("--method", required=True)
    s.add_argument("--window", type=float, nargs=2, required=True, metavar=("LO", "HI"))
    s.add_argument("--data", help="mock data (methods that read it)")
    s.add_argument("--extra")
    s.add_argument("--signal")
    s.add_argument("--bkg-flow", help="the window's sideband flow (ANODE, CATHODE, R-ANODE)")
    s.add_argument("--sigma-model", help="SIGMA's model of the mock data")
    s.add_argument("--options", default="{}", help="method options as JSON")
    s.add_argument("--kfold", type=int, default=0, help="k > 0: no test set; out-of-fold scores of the SR data")
    s.add_argument("--seed", type=int, required=True)
    s.add_argument("--device", default="auto")
    s.add_argument("--model", required=True)
    s.add_argument("--info", required=True)
    s.set_defaults(func=_train)

    s = sub.add_parser("score", help="score a window's test set with a trained method")
    s.add_argument("--model", required=True)
    s.add_argument("--test", help="the window's test set (not for a k-fold model)")
    s.add_argument("--bkg-flow", help="the sideband flow, for methods that score with it")
    s.add_argument("--out", required=True)
    s.set_defaults(func=_score)

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
    s.set_defaults(func=_aggregate_resonant)

    s = sub.add_parser("compute-accounting", help="training cost per job and per method from benchmark files")
    s.add_argument("--benchmarks", nargs="+", required=True)
    s.add_argument("--jobs", required=True, help="CSV, one row per training job")
    s.add_argument("--methods", required=True, help="CSV, one row per method")
    s.add_argument("--figure", required=True, help="figure path without extension")
    s.set_defaults(func=_compute_accounting)

    s = sub.add_parser("flow-losses", help="figure of the shared flows' per-epoch losses")
    s.add_argument("--losses", nargs="+", required=True)
    s.add_argument("--figure", required=True)
    s.set_defaults(func=_flow_losses)

    s = sub.add_parser("template-closure", help="table of the template validation jobs")
    s.add_argument("--inputs", nargs="+", required=True)
    s.add_argument("--out", required=True)
    s.set_defaults(func=_template_closure)

    # The other studies' steps live beside their code: each module has add_commands(subparsers).
    import importlib

    for module in ("hepad.calo.commands", "hepad.io.commands"):
        importlib.import_module(module).add_commands(sub)
    return p


def _limit_threads(n: int | None) -> None:
    if n is None:
        return
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(n)
    threadpool_limits(n)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s", stream=sys.stderr)
    _limit_threads(args.threads)
    try:
        args.func(args)
    except (InputError, TrainingDiverged) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
