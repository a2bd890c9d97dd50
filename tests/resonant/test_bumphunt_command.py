"""`hepad bumphunt` end to end on constructed data-scores files: the scan, failures, bad input."""

import csv

import numpy as np
import pytest

from bumphunt_toys import background_in, data_scores, write
from hepad.cli import main

WINDOWS = [(2.9, 3.3), (3.3, 3.7), (3.7, 4.1)]  # the toy's bump (3.5 TeV) lies in window 1
N_TOTAL, MARGIN = 400_000, 0.6  # background events on [2, 5] TeV


def _file(folder, rng, w, nsig, seed, route="both", n_total=N_TOTAL):
    lo, hi = WINDOWS[w]
    n_bkg = n_total * background_in(lo - MARGIN, hi + MARGIN)
    a = data_scores(rng, sr=(lo, hi), margin=MARGIN, n_bkg_mean=n_bkg, n_sig=nsig, route=route, window=w, seed=seed)
    return write(folder / f"w{w}_n{nsig}_s{seed}.npz", a)


def _read(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def _argv(files, out, eps=("0.1", "0.01"), extra=()):
    return ["bumphunt", "--scores", *files, "--eps", *eps, "--out", str(out / "bumphunt.csv"),
            "--calibration", str(out / "bumphunt_calibration.csv"), "--summary", str(out / "bumphunt_summary.csv"),
            "--figures", str(out / "figures"), *extra]


@pytest.fixture(scope="module")
def scan(tmp_path_factory):
    """A perfect classifier on a toy with a 300-event bump in window 1; n_sig = 0 and 300, 6 seeds."""
    tmp = tmp_path_factory.mktemp("bumphunt")
    rng = np.random.default_rng(7)
    files = [_file(tmp, rng, w, n, s) for w in range(3) for n in (0, 300) for s in range(6)]
    out = tmp / "out"
    assert main(_argv(files, out, extra=["--signal-window", "1", "--fit-min-mjj", "2.0"])) == 0  # no turn-on here
    return out


def test_scan_finds_the_bump_and_only_it(scan):
    rows = _read(scan / "bumphunt.csv")
    assert list(rows[0])[:15] == ["window", "sr_lo", "sr_hi", "method", "nsig", "seed", "eps", "estimate",
                                  "n_selected_sr", "n_expected_sr", "uncertainty", "z_local", "p_local",
                                  "fit_chi2_ndf", "n_sig_selected"]
    assert len(rows) == 3 * 2 * 6 * 2 * 2 and all(r["message"] == "" for r in rows)
    z = lambda **k: np.array([float(r["z_local"]) for r in rows if all(r[a] == v for a, v in k.items())])  # noqa: E731
    for est in ("fit", "template"):
        assert (z(window="1", nsig="300", estimate=est) > 5).all()
        assert (np.abs(z(nsig="0", estimate=est)) < 3.5).all()
        sig = [r for r in rows if r["window"] == "1" and r["nsig"] == "300" and r["estimate"] == est]
        assert all(float(r["n_sig_selected"]) > 250 for r in sig) and all(float(r["z_global_scan"]) > 4 for r in sig)
    fits = [r for r in rows if r["estimate"] == "fit" and r["nsig"] == "0"]
    # sideband chi2 / ndf with ~11 dof: below 0.2 has probability ~0.2 % a fit (0.3: ~1.4 %, and one
    # of these 36 fits, with 5 parameters, reads 0.27); the 4-parameter minimum of fit.py
    assert all(0.2 < float(r["fit_chi2_ndf"]) < 2.5 and int(r["fit_n_params"]) in (4, 5) for r in fits)
    p = [float(r["p_local"]) for r in rows]
    assert all(0 <= v <= 1 for v in p)


def test_calibration_and_figures(scan):
    cal = _read(scan / "bumphunt_calibration.csv")
    assert {(r["estimate"], r["eps"]) for r in cal} == {(e, x) for e in ("fit", "template") for x in ("0.1", "0.01")}
    for r in cal:
        assert int(r["n"]) == 18 and int(r["n_null_scans"]) == 6 and 1 <= float(r["n_windows_eff"]) <= 3
        assert abs(float(r["mean_z"])) < 1 and 0.3 < float(r["std_z"]) < 2 and r["message"] == ""
    names = {p.name for p in (scan / "figures").iterdir()}
    for stem in ("bumphunt_summary", "bumphunt_scan_fit", "bumphunt_scan_template", "bumphunt_vs_nsig", "bumphunt_calibration",
                 "bumphunt_spectrum_w0", "bumphunt_spectrum_w1", "bumphunt_spectrum_w2"):
        assert {f"{stem}.png", f"{stem}.pdf"} <= names


def test_the_summary_is_the_best_window_per_method_route_and_nsig(scan):
    rows = {(r["estimate"], r["nsig"]): r for r in _read(scan / "bumphunt_summary.csv")}
    assert set(rows) == {(e, n) for e in ("fit", "template") for n in ("0", "300")}
    for est in ("fit", "template"):
        best = rows[(est, "300")]
        assert best["best_window"] == "1" and float(best["z_local_median"]) > 5 and best["n_seeds"] == "6"
        assert float(best["z_global_median"]) > 4 and best["calibration"] in ("calibrated", "untested")
        assert float(rows[(est, "0")]["z_local_median"]) < 3.5  # no signal: the best of 6 cells is a fluctuation


def test_failures_are_nan_rows_with_a_message(tmp_path, caplog):
    rng = np.random.default_rng(8)
    good = _file(tmp_path, rng, 1, 0, 0, route="fit")
    tiny = _file(tmp_path, rng, 1, 0, 1, route="fit", n_total=100)  # a handful of events in the SR
    out = tmp_path / "out"
    assert main(_argv([good, tiny], out, eps=("0.1", "0.0001"))) == 0
    rows = {(r["seed"], r["eps"]): r for r in _read(out / "bumphunt.csv")}
    assert np.isfinite(float(rows[("0", "0.1")]["z_local"])) and rows[("0", "0.1")]["message"] == ""
    assert "selected events in the sidebands; expected at least 20" in rows[("0", "0.0001")]["message"]
    assert "data events in the SR; expected at least 10" in rows[("1", "0.1")]["message"]
    for key in (("0", "0.0001"), ("1", "0.1"), ("1", "0.0001")):
        assert np.isnan(float(rows[key]["z_local"])) and np.isnan(float(rows[key]["n_expected_sr"]))
    assert "window 1 [3.3, 3.7] TeV, perfect, n_sig 0, seed 1, eps 0.1" in caplog.text


@pytest.mark.parametrize("edit,match", [(lambda a: a.pop("nsig"), "missing key(s) nsig"),
                                        (lambda a: a.update(is_signal=a["is_signal"][:-2]), "key is_signal has")])
def test_bad_file_exits_2_with_one_line_and_no_output(tmp_path, capsys, edit, match):
    rng = np.random.default_rng(9)
    good = _file(tmp_path, rng, 1, 0, 0)
    a = data_scores(rng, n_bkg_mean=2000)
    edit(a)
    np.savez(tmp_path / "bad.npz", **a)
    out = tmp_path / "out"
    assert main(_argv([good, str(tmp_path / "bad.npz")], out)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and "bad.npz" in err[-1] and match in err[-1]
    assert not out.exists()


def test_bad_eps_exits_2(tmp_path, capsys):
    good = _file(tmp_path, np.random.default_rng(10), 1, 0, 0)
    assert main(_argv([good], tmp_path / "out", eps=("0.1", "1.5"))) == 2
    assert "--eps 1.5: expected a background efficiency in (0, 1)" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_every_declared_figure_is_written_even_without_an_estimate(tmp_path, caplog):
    """A window with a handful of events (no fit, no calibration) and a window without files: the
    figures the workflow declares are all written, those without an estimate saying why (issue 23)."""
    rng = np.random.default_rng(9)
    tiny = [_file(tmp_path, rng, 1, n, 0, route="fit", n_total=100) for n in (0, 300)]
    out = tmp_path / "out"
    names = ["bumphunt_summary", "bumphunt_scan_fit", "bumphunt_scan_template", "bumphunt_vs_nsig", "bumphunt_calibration",
             "bumphunt_spectrum_w0", "bumphunt_spectrum_w1"]
    with caplog.at_level("WARNING"):
        assert main(_argv(tiny, out, extra=["--expect", *names])) == 0
    for name in names:
        assert (out / "figures" / f"{name}.png").stat().st_size > 1000 and (out / "figures" / f"{name}.pdf").exists()
    said = {r.getMessage().split(": ")[1]: r.getMessage() for r in caplog.records if r.getMessage().startswith("bump hunt: ")
            and "bumphunt_" in r.getMessage()}
    assert said["bumphunt_scan_template"].endswith("no template background estimate in any row")
    assert "no sideband fit in window 0" in said["bumphunt_spectrum_w0"]
    assert "no sideband fit in window 1: " in said["bumphunt_spectrum_w1"]  # with the rows' reason
    assert "bumphunt_calibration" in said


def test_one_shared_background_sample_is_calibrated_on_fitted_background_toys(tmp_path):
    """Issue 22, item 3: real data has one background sample, so its n_sig = 0 runs (here 6 seeds of
    the same events and scores, as a deterministic classifier would give) are no pseudo-experiments.
    With --null-samples shared the fit route is judged on Poisson toys of each n_sig = 0 selection's
    background-only fit (200 per route, reproducible), the template route is simulation-only (flagged,
    out of the global significance) and N_eff is the number of windows; the table says which it used."""
    rng = np.random.default_rng(3)
    files = []
    for w in range(3):
        null = _file(tmp_path, rng, w, 0, 0)
        for s in range(1, 6):
            a = dict(np.load(null))
            a["seed"] = np.array(s)
            files.append(write(tmp_path / f"w{w}_n0_s{s}.npz", a))
        files += [null] + [_file(tmp_path, rng, w, 300, s) for s in range(6)]
    tables = []
    for run in ("a", "b"):
        out = tmp_path / run
        assert main(_argv(files, out, extra=["--null-samples", "shared"])) == 0
        tables.append(_read(out / "bumphunt_calibration.csv"))
    assert tables[0] == tables[1]  # same input, same toys
    cal = {(r["estimate"], r["eps"]): r for r in tables[0]}
    for eps in ("0.1", "0.01"):
        fit_row, template_row = cal[("fit", eps)], cal[("template", eps)]
        assert fit_row["pseudo_experiments"] == "fitted-background toys of the n_sig = 0 selections"
        assert int(fit_row["n"]) >= 190 and fit_row["verdict"] == "calibrated"  # 18 values if the shared runs were used
        assert abs(float(fit_row["mean_z"])) < 0.25 and 0.8 < float(fit_row["std_z"]) < 1.25
        assert float(fit_row["n_windows_eff"]) == 3 and "one shared background sample" in fit_row["message"]
        assert template_row["verdict"] == "simulation-only" and template_row["pseudo_experiments"] == "none"
        assert int(template_row["n"]) == 0 and template_row["mean_z"] == "nan"
    rows = _read(tmp_path / "a" / "bumphunt.csv")
    template = [r for r in rows if r["estimate"] == "template"]
    assert all(r["calibration"] == "simulation-only" and r["z_global_scan"] == "nan"
               and "left out of the global significance: simulation-only" in r["message"] for r in template)
    assert all(r["z_global_scan"] != "nan" for r in rows if r["estimate"] == "fit" and r["z_local"] != "nan")


def test_the_fit_range_floor_has_one_default():
    """fit.FIT_MIN_MJJ is the default of `hepad bumphunt --fit-min-mjj` and of the config's
    resonant.bumphunt.fit_min_mjj (which the workflow passes): one number, not three."""
    from pathlib import Path

    import yaml

    from hepad.cli import build_parser
    from hepad.resonant.bumphunt.fit import FIT_MIN_MJJ

    a = build_parser().parse_args(["bumphunt", "--scores", "s.npz", "--eps", "0.1", "--out", "o", "--calibration", "c",
                                   "--summary", "s", "--figures", "f"])
    schema = yaml.safe_load((Path(__file__).parents[2] / "workflow" / "schemas" / "config.schema.yaml").read_text())
    default = schema["properties"]["resonant"]["properties"]["bumphunt"]["properties"]["fit_min_mjj"]["default"]
    assert a.fit_min_mjj == default == FIT_MIN_MJJ
