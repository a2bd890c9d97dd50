"""`hepad` subcommands of the CaloFlow study (registered by hepad.cli); steps import lazily."""

from __future__ import annotations


def _toy(a):
    from hepad.calo.steps import generate

    generate(a.kind, a.n, a.seed, a.out, a.mass, a.z, a.tau, a.e_range)


def _prepare(a):
    from hepad.calo.sources import convert, extract_signal

    if a.member is None:
        convert(a.input, a.out)
    else:
        extract_signal(a.input, a.member, a.out)


def _train_flow(a):
    from hepad.calo.steps import load_json, train_flow

    train_flow(a.flow, a.photons, load_json(a.flow_config, "--flow-config"), load_json(a.train_config, "--train-config"),
               a.seed, a.device, a.model, a.losses, a.val_fraction)


def _score(a):
    from hepad.calo.steps import score

    score(a.flow1, a.flow2, a.showers, a.name, a.seed, a.batch_size, a.out)


def _train_supervised(a):
    from hepad.calo.steps import load_json, train_supervised

    train_supervised(a.signal, a.photons, a.flow1, load_json(a.options, "--options"), a.seed, a.device, a.model)


def _heatmap(a):
    from hepad.calo.steps import heatmap
    from hepad.calo.studies import parse_tagged

    heatmap(a.background, parse_tagged(a.signal, "mass:z:path"), a.min_bkg, a.jacobian, a.csv, a.figdir,
            a.background_showers, parse_tagged(a.signal_showers or [], "mass:z:path"),
            parse_tagged(a.supervised or [], "mass:path"), a.seed)


def _lifetimes(a):
    from hepad.calo.steps import lifetimes
    from hepad.calo.studies import parse_tagged

    lifetimes(a.background, a.background_showers, parse_tagged(a.signal, "mass:z:path"),
              parse_tagged(a.signal_showers, "mass:z:path"), parse_tagged(a.supervised or [], "mass:path"),
              a.taus, a.n_showers, a.seed, a.min_bkg, a.jacobian, a.csv, a.figdir,
              parse_tagged(a.lifetime_scores or [], "mass:z:path"), parse_tagged(a.lifetime_showers or [], "mass:z:path"))


def _example(a):
    from hepad.calo.steps import example_figure

    example_figure(a.photons, a.signal, a.stem)


def _positive_int(text: str) -> int:
    import argparse

    v = int(text)
    if v < 1:
        raise argparse.ArgumentTypeError(f"{v}: expected an integer >= 1")
    return v


def add_commands(sub) -> None:
    """Add this subpackage's steps to the `hepad` parser's subparsers."""
    s = sub.add_parser("calo-toy", help="toy showers in the CaloGAN layout")
    s.add_argument("--kind", choices=["photons", "chi", "supervised"], required=True)
    s.add_argument("--n", type=_positive_int, required=True)
    s.add_argument("--mass", type=float, help="chi mass (GeV)")
    s.add_argument("--z", type=float, help="chi decay position (m from the detector centre)")
    s.add_argument("--tau", type=float, help="chi proper lifetime (ns), supervised signals")
    s.add_argument("--e-range", type=float, nargs=2, default=(1.0, 100.0), metavar=("LO", "HI"),
                   help="photon energy / chi kinetic energy range (GeV)")
    s.add_argument("--seed", type=int, required=True)
    s.add_argument("--out", required=True)
    s.set_defaults(func=_toy)

    s = sub.add_parser("calo-prepare", help="validate a CaloGAN-layout file (or a member of the signal zip)")
    s.add_argument("--input", required=True)
    s.add_argument("--member", help="member of the --input zip archive (full path or base name)")
    s.add_argument("--out", required=True)
    s.set_defaults(func=_prepare)

    s = sub.add_parser("calo-train-flow", help="train CaloFlow Flow-I or Flow-II on background photons")
    s.add_argument("--flow", type=int, choices=[1, 2], required=True)
    s.add_argument("--photons", required=True)
    s.add_argument("--flow-config", required=True, help="FlowConfig fields as JSON")
    s.add_argument("--train-config", default="{}", help="TrainConfig fields as JSON (epochs, lr, batch_size, ...)")
    s.add_argument("--val-fraction", type=float, default=0.3)
    s.add_argument("--seed", type=int, required=True)
    s.add_argument("--device", default="auto")
    s.add_argument("--model", required=True)
    s.add_argument("--losses", help="per-epoch loss file (csv)")
    s.set_defaults(func=_train_flow)

    s = sub.add_parser("calo-score", help="per-shower CaloFlow log-likelihoods of one sample (CPU, batched)")
    s.add_argument("--flow1", required=True)
    s.add_argument("--flow2", required=True)
    s.add_argument("--showers", required=True)
    s.add_argument("--name", required=True, help="sample name (seeds its voxel noise)")
    s.add_argument("--seed", type=int, required=True)
    s.add_argument("--batch-size", type=_positive_int, default=10_000)
    s.add_argument("--out", required=True)
    s.set_defaults(func=_score)

    s = sub.add_parser("calo-train-supervised", help="supervised 505-input MLP: one signal vs training photons")
    s.add_argument("--signal", required=True)
    s.add_argument("--photons", required=True)
    s.add_argument("--flow1", required=True, help="Flow-I model (its lambda gives E_inc_rec)")
    s.add_argument("--options", default="{}", help="MLP options as JSON (hidden, epochs, batch_size, lr, ...)")
    s.add_argument("--seed", type=int, required=True)
    s.add_argument("--device", default="auto")
    s.add_argument("--model", required=True)
    s.set_defaults(func=_train_supervised)

    s = sub.add_parser("calo-heatmap", help="max SIC over mass x displacement, log-likelihood figures")
    s.add_argument("--background", required=True, help="scores of the evaluation photons")
    s.add_argument("--signal", nargs="+", required=True, metavar="MASS:Z:SCORES")
    s.add_argument("--min-bkg", type=int, default=25)
    s.add_argument("--jacobian", action="store_true", help="score with the preprocessing's log-Jacobian")
    s.add_argument("--background-showers", help="the evaluation photons (for --supervised)")
    s.add_argument("--signal-showers", nargs="*", metavar="MASS:Z:SHOWERS", help="(for --supervised)")
    s.add_argument("--supervised", nargs="*", metavar="TRAIN_MASS:MODEL",
                   help="supervised MLPs: adds their rows and the combined tagger's (method sup, combined)")
    s.add_argument("--seed", type=int, default=0, help="seeds the combined tagger's calibration folds")
    s.add_argument("--csv", required=True)
    s.add_argument("--figdir", required=True)
    s.set_defaults(func=_heatmap)

    s = sub.add_parser("calo-lifetimes", help="lifetime samples: unsupervised and supervised SIC")
    s.add_argument("--background", required=True, help="scores of the evaluation photons")
    s.add_argument("--background-showers", required=True, help="the evaluation photons")
    s.add_argument("--signal", nargs="+", required=True, metavar="MASS:Z:SCORES")
    s.add_argument("--signal-showers", nargs="+", required=True, metavar="MASS:Z:SHOWERS")
    s.add_argument("--supervised", nargs="*", metavar="TRAIN_MASS:MODEL")
    s.add_argument("--lifetime-scores", nargs="*", metavar="MASS:TAU:SCORES",
                   help="scores of public lifetime samples (used instead of reweighting for that mass and tau)")
    s.add_argument("--lifetime-showers", nargs="*", metavar="MASS:TAU:SHOWERS", help="their showers")
    s.add_argument("--taus", type=float, nargs="+", required=True)
    s.add_argument("--n-showers", type=_positive_int, required=True, help="showers per lifetime sample")
    s.add_argument("--seed", type=int, required=True)
    s.add_argument("--min-bkg", type=int, default=25)
    s.add_argument("--jacobian", action="store_true")
    s.add_argument("--csv", required=True)
    s.add_argument("--figdir", required=True)
    s.set_defaults(func=_lifetimes)

    s = sub.add_parser("calo-example", help="example-shower figure: a two-blob signal shower vs a photon")
    s.add_argument("--photons", required=True)
    s.add_argument("--signal", required=True)
    s.add_argument("--stem", required=True, help="output path without extension (.pdf and .png)")
    s.set_defaults(func=_example)
