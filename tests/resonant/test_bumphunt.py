"""Statistics of the bump hunt on toys where the answer is known (fast: numbers, no training)."""

import dataclasses

import numpy as np
import pytest
from scipy import optimize, stats

from bumphunt_toys import SIGNAL_MASS, SIGNAL_WIDTH, as_data, background_in, data_scores, write
from hepad.errors import InputError
from hepad.resonant import toy
from hepad.resonant.bumphunt import fit
from hepad.resonant.bumphunt.calibration import effective_windows
from hepad.resonant.bumphunt.hunt import apply_systematics, estimates, fit_estimate, template_counts, template_finish
from hepad.resonant.bumphunt.ratio import fit_fraction
from hepad.resonant.bumphunt.scores import DataScores, read_data_scores
from hepad.resonant.bumphunt.significance import non_closure, z_counting

# toys >= 200 asked; the mean's statistical error is then 0.05 (fit, 400) and 0.02 (template, 2000)
N_BKG, EPS, SR, MARGIN = 10000, 0.1, (3.3, 3.7), 0.6


def test_counting_significance_limits_and_likelihood():
    # sigma_b = 0: the Poisson likelihood ratio; large b: (n - b) / sqrt(b + sigma_b^2); sign of a deficit
    assert z_counting(130, 100) == pytest.approx(np.sqrt(2 * (130 * np.log(1.3) - 30)))
    assert z_counting(1e6 + 3e3, 1e6, 2e3) == pytest.approx(3e3 / np.sqrt(1e6 + 4e6), rel=1e-3)
    assert z_counting(70, 100, 5) < 0 and z_counting(0, 5, 1) < 0 and z_counting(100, 100, 5) == 0
    assert z_counting(130, 100, 1e-7) == pytest.approx(z_counting(130, 100), rel=1e-6)
    # the formula is the profile-likelihood ratio of the on/off model n ~ Pois(s + b), m ~ Pois(tau b)
    for n, b, sb in ((130, 100, 10), (12, 4, 1.5), (60, 100, 20)):
        tau = b / sb**2
        nll = lambda s, bb: (s + bb) - n * np.log(s + bb) + tau * bb - tau * b * np.log(tau * bb)  # noqa: E731
        cond = optimize.minimize_scalar(lambda bb: nll(0, bb), bounds=(1e-6, 10 * b + 10 * n), method="bounded")
        q0 = 2 * (cond.fun - nll(n - b, b))
        assert z_counting(n, b, sb) == pytest.approx(np.sign(n - b) * np.sqrt(q0), rel=1e-4)


def _toys(route, n_toys, seed, n_sig=0, estimate=None):
    rng = np.random.default_rng(seed)
    return [as_data(data_scores(rng, sr=SR, margin=MARGIN, n_bkg_mean=N_BKG, n_sig=n_sig, route=route))
            for _ in range(n_toys)]


def _z_fit(d):
    return fit_estimate(d, EPS)[0]["z_local"]


def _z_template(d):
    row = template_counts(d, EPS)
    template_finish(row)
    return row["z_local"]


@pytest.mark.parametrize("route,z_of,n_toys", [("fit", _z_fit, 400), ("template", _z_template, 2000)])
def test_background_only_toys_are_calibrated(route, z_of, n_toys):
    """Z ~ N(0, 1). Expected for the template: mean -0.02, std 0.95 (direct simulation of the binomial
    selection; the counting formula takes the selected count as Poisson, which overestimates its
    variance by 1 / (1 - eps))."""
    z = np.array([z_of(d) for d in _toys(route, n_toys, seed=1)])
    print(f"{route}: {len(z)} background-only toys, mean Z {z.mean():+.3f}, std {z.std(ddof=1):.3f}, "
          f"KS p {stats.kstest(z, 'norm').pvalue:.2f}")
    assert abs(z.mean()) < 0.1 and abs(z.std(ddof=1) - 1) < 0.15


def _expected_counts(edges, n_bkg_sel, s):
    """Asimov spectrum: selected background per bin + the Gaussian bump's s events."""
    lo, hi = SR[0] - MARGIN, SR[1] + MARGIN
    b = np.array([background_in(a, c) for a, c in zip(edges[:-1], edges[1:])]) / background_in(lo, hi) * n_bkg_sel
    return b + s * np.diff(stats.norm.cdf(edges, SIGNAL_MASS, SIGNAL_WIDTH))


def test_fit_route_bump_matches_asimov():
    """Median Z of toys with a bump of s = 40 events against Z on the Asimov data set (expected counts);
    tolerance 0.3: the median's statistical error is ~0.11 with 200 toys and the Asimov median is
    asymptotic (measured: toys 0.1-0.2 above it at b ~ 90). Ignoring the fit's uncertainty on b would
    give Z_A ~ 3.9, a background off by 10 % about 2."""
    s = 40
    edges, in_sr = fit.binning(SR[0], SR[1], SR[0] - MARGIN, SR[1] + MARGIN)
    spec = fit.spectrum(np.array([]), edges, in_sr)
    asimov = fit.bump_fit(dataclasses.replace(spec, counts=_expected_counts(edges, EPS * N_BKG, s)))
    s_sr = s * (stats.norm.cdf(SR[1], SIGNAL_MASS, SIGNAL_WIDTH) - stats.norm.cdf(SR[0], SIGNAL_MASS, SIGNAL_WIDTH))
    cowan = z_counting(asimov.b_sr + s_sr, asimov.b_sr, asimov.sigma_b)
    z = np.array([_z_fit(d) for d in _toys("fit", 200, seed=2, n_sig=s)])
    print(f"fit route, s = {s}: Asimov Z {asimov.z:.2f} (counting formula {cowan:.2f}), toys median {np.median(z):.2f}")
    # (2.9 with a 3-parameter minimum; 4 parameters widen sigma_b: fit.py's docstring)
    assert 2.0 < asimov.z < 4.5 and asimov.z == pytest.approx(cowan, abs=0.3)
    assert abs(np.median(z) - asimov.z) < 0.3


def test_template_route_bump_matches_asimov():
    """As above for the template route (tolerance 0.25 with 200 toys)."""
    s, m = 40, 20000
    toys = _toys("template", 200, seed=3, n_sig=s)
    z = np.array([_z_template(d) for d in toys])
    n_sr_bkg = N_BKG * background_in(*SR) / background_in(SR[0] - MARGIN, SR[1] + MARGIN)
    s_sr = np.mean([(d.is_signal & d.in_sr).sum() for d in toys])
    n_sr = n_sr_bkg + s_sr
    z_a = z_counting(EPS * n_sr_bkg + s_sr, EPS * n_sr, np.sqrt(n_sr**2 * EPS * (1 - EPS) / m))
    print(f"template route, s = {s}: Asimov Z {z_a:.2f}, toys median {np.median(z):.2f}")
    assert 2.5 < z_a < 4.5 and abs(np.median(z) - z_a) < 0.25


def test_non_closure_recovers_a_known_bias_and_spread():
    rng = np.random.default_rng(4)
    b = 2000.0
    for spread in (0.0, 0.08):
        runs = {w: [(rng.poisson(b * (1 + bias + spread * rng.standard_normal())), b, 0.0) for _ in range(40)]
                for w, bias in enumerate((0.3, -0.1))}
        nc = non_closure(runs, 1)
        assert nc.c == pytest.approx(-0.1, abs=0.04) and nc.dof == 78 and nc.n_runs == 40
        assert np.sqrt(nc.s2) == pytest.approx(spread, abs=0.02)
        assert nc.var_c == pytest.approx((nc.s2 + 1 / b) / 40)
    assert non_closure({0: [(500, 500.0, 0.0)], 1: [(510, 500.0, 0.0)]}, 0) is None  # no degree of freedom


def _template_rows(rng, biases, n_seeds, spread, b, nsig_rows=()):
    """Template rows (before Z) of n_seeds independent n_sig = 0 runs per window, each window's
    template off by its bias and by a run-to-run spread; plus rows with n_sig injected (nsig, s)."""
    rows = []
    for w, bias in enumerate(biases):
        for seed, (nsig, s) in enumerate([(0, 0)] * n_seeds + list(nsig_rows)):
            n = rng.poisson(b * (1 + bias + spread * rng.standard_normal()) + s)
            rows.append({"window": w, "method": "cathode", "nsig": nsig, "seed": seed, "eps": EPS,
                         "estimate": "template", "n_selected_sr": n, "n_expected_sr": b, "var_stat": 0.0,
                         "message": ""})
    return rows


@pytest.mark.parametrize("n_seeds", [3, 6])
def test_template_calibration_with_a_biased_template(n_seeds):
    """n_sig = 0 rows judged by the other seeds (leave one out) follow N(0, 1) although every window's
    template is off by up to 30 % (8 % run-to-run): the non-closure correction and the Student-t
    widening for a spread measured on few runs. 5 windows as in config/config.yaml."""
    rng = np.random.default_rng(6)
    z = []
    for _ in range(300):
        rows = _template_rows(rng, (0.3, -0.1, 0.05, 0.2, 0.0), n_seeds, 0.08, 2000.0)
        apply_systematics(rows)
        z += [r["z_local"] for r in rows]
    z = np.array(z)
    print(f"{n_seeds} seeds: Z mean {z.mean():.3f}, std {z.std():.3f}, n {len(z)}")
    assert np.isfinite(z).all()
    assert abs(z.mean()) < 0.1 and abs(z.std() - 1) < 0.15


def test_template_signal_run_is_corrected_for_the_non_closure():
    """A run with 400 signal events over a template 30 % low: Z near the corrected expectation, while
    the raw template would call the background alone a 13 sigma excess."""
    rng = np.random.default_rng(7)
    rows = _template_rows(rng, (0.3, 0.3, 0.3), 6, 0.02, 2000.0, nsig_rows=[(400, 400)])
    apply_systematics(rows)
    sig = [r for r in rows if r["nsig"] == 400]
    expected = z_counting(2600 + 400, 2600, np.sqrt(2600 + (2000 * 0.02) ** 2))
    assert [r["non_closure"] for r in sig] == pytest.approx([0.3] * 3, abs=0.03)
    assert np.median([r["z_local"] for r in sig]) == pytest.approx(expected, abs=1.5)
    assert z_counting(2600, 2000) > 12


def test_template_without_enough_null_runs_is_a_nan_row_with_a_message():
    rows = _template_rows(np.random.default_rng(8), (0.1, 0.1), 2, 0.05, 2000.0)
    apply_systematics(rows)  # leave one out: 1 other run per window, no degree of freedom
    assert all(np.isnan(r["z_local"]) for r in rows)
    assert "degree(s) of freedom" in rows[0]["message"] and "other seeds" in rows[0]["message"]


def test_effective_number_of_windows():
    rng = np.random.default_rng(5)
    independent = rng.random((400, 6)).min(axis=1)  # 6 independent windows
    assert effective_windows(independent, 6)[0] == pytest.approx(6, rel=0.15)
    assert effective_windows(rng.random(400), 6)[0] == pytest.approx(1, rel=0.15)  # fully correlated windows
    n_eff, msg = effective_windows(independent[:3], 6)
    assert n_eff == 6 and "expected at least" in msg


def test_wilks_adds_parameters_only_when_needed():
    edges, in_sr = fit.binning(3.3, 3.7, 2.7, 4.3)
    x = 0.5 * (edges[1:] + edges[:-1]) / fit.SQRT_S
    spec = fit.spectrum(np.array([]), edges, in_sr)
    three = 1e5 * (1 - x) ** 10 * x**-5
    assert fit.MIN_PARAMS == 4  # the minimum (fit.py's docstring): ln^2 x is always in
    assert fit.select_fit(dataclasses.replace(spec, counts=three / three.sum() * 5e4)).n_params == 4
    curved = three * np.exp(-3 * np.log(x / x.mean()) ** 2 * 10)  # a ln^2 x term: within 4 parameters
    assert fit.select_fit(dataclasses.replace(spec, counts=curved / curved.sum() * 5e4)).n_params == 4
    cubic = three * np.exp(300 * np.log(x / x.mean()) ** 3)  # a strong ln^3 x term, 5e4 events
    assert fit.select_fit(dataclasses.replace(spec, counts=cubic / cubic.sum() * 5e4)).n_params == 5


def test_scores_contract(tmp_path):
    rng = np.random.default_rng(6)
    a = data_scores(rng, n_bkg_mean=500, n_ref=100)
    d = read_data_scores(write(tmp_path / "ok.npz", a))
    assert d.method == "perfect" and d.route == "both" and len(d.score) == len(a["score"])
    with pytest.raises(InputError, match="missing key.*reference_score"):
        write(tmp_path / "x.npz", {k: v for k, v in a.items() if k != "reference_score"})
    with pytest.raises(InputError, match=r"x\.npz: key mjj has \d+ entries; expected \d+"):
        write(tmp_path / "x.npz", {**a, "mjj": a["mjj"][:-1]})
    bad = a["score"].copy()
    bad[3] = np.nan
    with pytest.raises(InputError, match=r"x\.npz: key score has 1 NaN"):
        write(tmp_path / "x.npz", {**a, "score": bad})
    with pytest.raises(InputError, match="key route = 'cut'"):
        write(tmp_path / "x.npz", {**a, "route": np.array("cut")})
    assert not (tmp_path / "x.npz").exists()


def test_a_cut_inside_tied_scores_is_no_estimate():
    """Scores that tie where the cut falls (R-ANODE's sidebands all at its lowest score) give no cut."""
    from hepad.resonant.bumphunt.hunt import NoEstimate, cut

    assert cut(np.r_[np.zeros(90), np.arange(1.0, 11.0)], 0.1) == 0.5  # 10 distinct above the tie: fine
    # a few events tied at the cut (discrete scores, e.g. reference-CDF values): a small excess, fine
    assert cut(np.r_[np.arange(1.0, 898.0), [950.0] * 5, np.arange(1000.0, 1098.0)], 0.1) == 950.0
    with pytest.raises(NoEstimate, match="95 of 100 events share the score 0 at the cut"):
        cut(np.r_[np.zeros(95), np.arange(1.0, 6.0)], 0.1)


def _ratio_toy(rng, n, w):
    """SR scores log p_S / p_B with p_B = N(0, 1), p_S = N(2, 0.5) and a signal fraction w."""
    ns = rng.binomial(n, w)
    x = np.concatenate([rng.normal(0, 1, n - ns), rng.normal(2, 0.5, ns)])
    return stats.norm.logpdf(x, 2, 0.5) - stats.norm.logpdf(x)


def test_ratio_route_background_only_is_standard_normal():
    rng = np.random.default_rng(11)
    z = np.array([fit_fraction(_ratio_toy(rng, 5000, 0.0)).z for _ in range(400)])
    print(f"ratio route: 400 background-only toys, mean Z {z.mean():+.3f}, std {z.std():.3f}")
    assert abs(z.mean()) < 0.1 and abs(z.std() - 1) < 0.15


def test_ratio_route_recovers_the_signal_fraction_and_the_asimov_z():
    rng = np.random.default_rng(12)
    fits = [fit_fraction(_ratio_toy(rng, 5000, 0.02)) for _ in range(200)]
    w = np.array([f.w for f in fits])
    # Asimov: q0 = 2 n E_mix[ln(1 + w (p_S/p_B - 1))], the expectation from a large sample
    u = np.expm1(_ratio_toy(rng, 2_000_000, 0.02))
    z_a = np.sqrt(2 * 5000 * np.log1p(0.02 * u).mean())
    print(f"ratio route, w = 0.02: mean w_hat {w.mean():.4f} +- {w.std():.4f} (sigma_w {np.mean([f.sigma_w for f in fits]):.4f}), "
          f"median Z {np.median([f.z for f in fits]):.2f}, Asimov {z_a:.2f}")
    assert w.mean() == pytest.approx(0.02, abs=0.001)
    assert np.mean([f.sigma_w for f in fits]) == pytest.approx(w.std(), rel=0.15)
    assert abs(np.median([f.z for f in fits]) - z_a) < 0.3


def test_ratio_route_is_one_row_without_a_cut():
    rng = np.random.default_rng(13)
    n = 3000
    d = DataScores(score=_ratio_toy(rng, n, 0.05), mjj=np.full(n, 3.5), is_signal=np.zeros(n, bool),
                   reference_score=np.zeros(0), window=1, sr_lo=3.3, sr_hi=3.7, fit_lo=2.9, fit_hi=4.1,
                   method="ranode", nsig=100, seed=0, route="ratio")
    rows, fits = estimates(d, [0.1, 0.01])
    assert len(rows) == 1 and not fits
    r = rows[0]
    assert (r["estimate"], r["eps"], r["n_selected_sr"]) == ("ratio", 1.0, n) and r["z_local"] > 3
    assert r["n_expected_sr"] == pytest.approx(0.95 * n, abs=3 * r["uncertainty"])


def test_a_biased_route_is_flagged_and_left_out_of_the_global_significance(tmp_path):
    """Issue 22: a route whose n_sig = 0 Z are N(1.5, 1) fails the stated calibration test: every row
    of it says so, its global significance is NaN with the reason, its calibration row holds the
    verdict; a route with N(0, 1) null Z is calibrated and keeps its global Z; one with 6 is untested."""
    from hepad.resonant.bumphunt import calibration, plots

    rng = np.random.default_rng(11)
    rows = []
    for method, shift, seeds in (("good", 0.0, 8), ("biased", 1.5, 8), ("few", 0.0, 2)):
        for nsig in (0, 300):
            for seed in range(seeds):
                for w in range(3):
                    z = rng.normal(shift + (6.0 if nsig and w == 1 else 0.0), 1.0)
                    rows.append(dict(window=w, sr_lo=3.0 + 0.2 * w, sr_hi=3.4 + 0.2 * w, method=method, nsig=nsig,
                                     seed=seed, eps=0.01, estimate="fit", z_local=z, p_local=stats.norm.sf(z),
                                     message=""))
    verdicts = calibration.verdicts(rows)
    assert verdicts[("good", "fit", 0.01)] == "calibrated"
    assert verdicts[("biased", "fit", 0.01)].startswith("uncalibrated: |mean| 1.")
    assert verdicts[("few", "fit", 0.01)].startswith("untested: 6 n_sig = 0 Z value(s)")
    info = calibration.global_significance(rows, verdicts)
    by = lambda m: [r for r in rows if r["method"] == m]  # noqa: E731
    assert all(r["calibration"] == "uncalibrated" and np.isnan(r["z_global_scan"])
               and "left out of the global significance: uncalibrated" in r["message"] for r in by("biased"))
    assert all(np.isfinite(r["z_global_scan"]) and r["message"] == "" for r in by("good") + by("few"))
    assert {r["calibration"] for r in by("good")} == {"calibrated"} and {r["calibration"] for r in by("few")} == {"untested"}
    table = {r["method"]: r for r in calibration.calibration_table(rows, info, False, verdicts)}
    assert table["biased"]["verdict"] == "uncalibrated" and "|mean|" in table["biased"]["message"]
    assert table["good"]["verdict"] == "calibrated" and table["few"]["verdict"] == "untested"
    plots.scan(rows, "fit", tmp_path / "scan")  # the flagged route drawn faded, labelled UNCALIBRATED
    assert (tmp_path / "scan.png").stat().st_size > 1000


@pytest.mark.parametrize("sr,n_sel,sculpt", [((3.3, 3.7), 4000, False), ((3.3, 3.7), 40000, False),
                                              ((3.3, 3.7), 40000, True), ((2.9, 3.3), 4000, True)])
def test_fit_route_is_unbiased_on_the_toy_spectrum(sr, n_sel, sculpt):
    """Background-only pseudo-experiments of the toy generator's own m_jj density (toy.qcd_mjj_density)
    at the selected counts of the default run (fit range 414k events at 3.3-3.7 TeV: eps 0.01 and 0.1), optionally sculpted
    as a classifier cut does (efficiency rising linearly 10.5 % -> 15.9 % over the fit range, as a top-10 %
    cut on m_j1 in the toy): mean Z within 0.15 of 0, std within 0.9-1.1 (issue 22's goal).
    With 3 parameters at least: mean -0.35 (Asimov) at 3.3-3.7 and 40k events."""
    edges, in_sr = fit.binning(sr[0], sr[1], sr[0] - 0.4, sr[1] + 0.4)
    fine = np.linspace(edges[0], edges[-1], 20001)
    rho = toy.qcd_mjj_density(fine)  # the toy's spectrum: not in the dijet family (fit.py's docstring)
    if sculpt:
        rho = rho * np.interp(fine, [edges[0], edges[-1]], [0.105, 0.159])
    cum = np.concatenate([[0], np.cumsum(0.5 * (rho[1:] + rho[:-1]) * np.diff(fine))])
    mu = np.diff(np.interp(edges, fine, cum))
    mu *= n_sel / mu.sum()
    spec = fit.spectrum(np.array([]), edges, in_sr)
    rng = np.random.default_rng(11)
    z = np.array([fit.bump_fit(dataclasses.replace(spec, counts=rng.poisson(mu).astype(float))).z for _ in range(600)])
    print(f"SR {sr}, {n_sel} selected, sculpted {sculpt}: mean Z {z.mean():+.3f}, std {z.std(ddof=1):.3f}")
    assert abs(z.mean()) < 0.15 and 0.9 < z.std(ddof=1) < 1.1


@pytest.mark.slow
def test_the_fit_starts_above_the_trigger_turn_on():
    """Issue 22, item 1: the toy's triggered m_jj spectrum (2M events of the generator itself) rolls
    over below ~2.8 TeV, which no dijet function follows. Its histogram as the selected spectrum of
    the 2.9-3.3 TeV window (scaled to the default's eps 0.1 and 0.01: 25k and 2.5k SR events; the 2M
    events' own noise moves Z by ~0.2): fitted from lo - fit_width = 2.5 TeV the Asimov Z is +0.9
    with a 5th parameter (20 independent samples through the classifiers: mean +1.5, README); from
    fit.FIT_MIN_MJJ within 0.5 of 0."""
    from hepad.resonant.formats.features import lhco_to_dijets

    mjj = lhco_to_dijets(toy.generate_background(2_000_000, seed=5)[:, :14], None).mjj
    z = {}
    for lo in (2.5, fit.FIT_MIN_MJJ):
        edges, in_sr = fit.binning(2.9, 3.3, lo, 3.7)
        h = np.histogram(mjj, edges)[0].astype(float)
        z[lo] = [fit.bump_fit(dataclasses.replace(fit.spectrum(np.array([]), edges, in_sr), counts=h * f)).z
                 for f in (0.05, 0.005)]
    assert z[2.5][0] > 0.6, z
    assert all(abs(v) < 0.5 for v in z[fit.FIT_MIN_MJJ]), z
