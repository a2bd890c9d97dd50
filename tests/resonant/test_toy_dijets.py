import numpy as np
import pytest

from hepad.resonant.formats.features import dijet_mass, lhco_to_dijets
from hepad.resonant import toy

SR = (3.3, 3.7)


def features(raw):
    return lhco_to_dijets(raw[:, :14], raw[:, 14])


def jet_pt_eta(raw, j):
    px, py, pz = (raw[:, 7 * j + i] for i in range(3))
    pt = np.hypot(px, py)
    return pt, np.arcsinh(pz / pt)


@pytest.fixture(scope="module")
def bkg_raw():
    return toy.generate_background(200_000, seed=11)


@pytest.fixture(scope="module")
def sig():
    return features(toy.generate_signal(40_000, seed=11))


def test_signal_region_fractions(bkg_raw, sig):
    assert features(bkg_raw).in_range(*SR).mean() == pytest.approx(0.11, abs=0.02)
    assert sig.in_range(*SR).mean() == pytest.approx(0.77, abs=0.05)


def test_four_vectors_reproduce_the_generated_mjj():
    rng = np.random.default_rng(0)
    n = 1000
    k = dict(
        mjj=rng.uniform(2, 6, n), cos=rng.uniform(-1, 1, n), phi=rng.uniform(0, 6.3, n),
        y_b=rng.normal(0, 1, n), kt=rng.exponential(0.1, n), phi_kt=rng.uniform(0, 6.3, n),
    )  # fmt: skip
    m_a, m_b = rng.uniform(0, 0.6, n), rng.uniform(0, 0.6, n)
    p_a, p_b = toy._lab_jets(k, m_a, m_b)
    np.testing.assert_allclose(p_a[:, 0] ** 2 - np.sum(p_a[:, 1:] ** 2, 1), m_a**2, atol=1e-9)
    np.testing.assert_allclose(dijet_mass(p_a[:, 1:], m_a, p_b[:, 1:], m_b), k["mjj"], rtol=1e-10)
    total_pt = np.hypot(*(p_a[:, 1:3] + p_b[:, 1:3]).T)
    np.testing.assert_allclose(total_pt, k["kt"], atol=1e-9)  # the ISR recoil


def test_trigger_and_turn_on(bkg_raw):
    pt1, eta1 = jet_pt_eta(bkg_raw, 0)
    pt2, eta2 = jet_pt_eta(bkg_raw, 1)
    assert (pt1 >= pt2).all() and (pt1 > 1200).all()  # jet 1 is the leading jet and fired
    assert (np.abs(eta1) < 2.5).all() and (np.abs(eta2) < 2.5).all()
    mjj = features(bkg_raw).mjj
    counts, edges = np.histogram(mjj, bins=np.arange(2.0, 4.01, 0.1))
    peak = edges[np.argmax(counts)]
    assert 2.4 <= peak <= 2.9  # turn-on below, falling spectrum above
    assert (mjj < 2.3).mean() < 0.01 and counts[3] < counts[6] / 3  # 2.3-2.4 TeV well below 2.6-2.7
    assert np.all(np.diff(counts[edges[:-1] >= 2.95]) < 0)


def test_correlated_variant_shifts_masses_with_mjj_on_the_same_events():
    plain = features(toy.generate_background(40_000, seed=5))
    corr = features(toy.generate_background(40_000, seed=5, mass_mjj_slope=toy.STRONGLY_CORRELATED))
    np.testing.assert_allclose(corr.mjj, plain.mjj, rtol=1e-9)  # same events, mjj kept exactly

    def slope(d, col):
        return np.polyfit(d.mjj, d.x[:, col], 1)[0]

    assert slope(corr, 0) == pytest.approx(slope(plain, 0) + 0.1, abs=1e-6)  # CATHODE Eq. 3
    assert slope(corr, 1) == pytest.approx(slope(plain, 1) + 0.1, abs=1e-6)
    assert abs(slope(plain, 0)) < 0.03  # the natural toy: only a mild correlation through pT
    with pytest.raises(ValueError, match="mass_mjj_slope"):
        toy.generate_background(10, seed=1, mass_mjj_slope=0.5)


def test_signal_looks_like_w_prime_to_x_y(bkg_raw, sig):
    s = sig[sig.in_range(*SR)]
    b = features(bkg_raw)
    assert 0.095 < np.median(s.x[:, 0]) < 0.125  # Y(100 GeV), lighter
    assert 0.48 < np.median(s.x[:, 0] + s.x[:, 1]) < 0.52  # X(500 GeV)
    assert np.median(s.x[:, 3]) < 0.3 < np.median(b.x[:, 3])  # two-prong vs QCD tau21
    # not trivially separable: a fair share of QCD lies in the signal's tau21 range
    assert 0.05 < (b.x[:, 3] < np.quantile(s.x[:, 3], 0.75)).mean() < 0.5


def test_seed_reproducibility_and_exact_counts():
    a = toy.generate_events(3000, 200, seed=3)
    assert a.shape == (3200, 15)
    np.testing.assert_array_equal(a[:, 14], np.r_[np.zeros(3000), np.ones(200)])
    np.testing.assert_array_equal(a, toy.generate_events(3000, 200, seed=3))
    assert not np.array_equal(a, toy.generate_events(3000, 200, seed=4))
    assert toy.generate_events(0, 0, seed=3).shape == (0, 15)


def test_restricted_range_generation():
    raw = toy.generate_background(20_000, seed=2, mjj_range=(2.8, 4.2))
    d = features(raw)
    assert len(d) == 20_000 and (d.label == 0).all()
    assert d.mjj.min() >= 2.8 - 1e-9 and d.mjj.max() <= 4.2 + 1e-9
    # same spectrum as the full generation, restricted
    full = features(toy.generate_background(100_000, seed=9)).mjj
    full = full[(full >= 2.8) & (full <= 4.2)]
    assert np.mean(d.mjj < 3.5) == pytest.approx(np.mean(full < 3.5), abs=0.015)
    with pytest.raises(ValueError, match="mjj_range"):
        toy.generate_background(10, seed=1, mjj_range=(4.0, 3.0))
