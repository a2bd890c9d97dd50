import numpy as np
import pytest

from hepad.features import TAU21_EPS, lhco_to_dijets


def jet(px, py, pz, m, taus=(0.4, 0.2, 0.1)):
    return [px, py, pz, m, *taus]


def test_mjj_of_hand_computed_events():
    raw = np.array(
        [
            jet(500, 0, 0, 1200) + jet(-500, 0, 0, 0),  # E = 1300 + 500 at rest: mjj = 1800 GeV
            jet(0, 300, 400, 1200) + jet(0, -300, -400, 0),  # same, rotated
            jet(600, 0, 800, 0) + jet(-600, 0, 800, 0),  # E = 2000, P = 1600: mjj = 1200 GeV
        ]
    )
    d = lhco_to_dijets(raw, None)
    np.testing.assert_allclose(d.mjj, [1.8, 1.8, 1.2], rtol=1e-12)
    np.testing.assert_array_equal(d.label, [-1, -1, -1])


def test_mjj_is_computed_in_float64_from_float32_input():
    # nearly massless, very energetic jets: the mass comes from a large cancellation
    raw = np.array([jet(1500, 0, 3000, 30) + jet(-1499, 1, 2990, 20)], dtype=np.float32)
    p1, p2 = np.array([1500.0, 0, 3000]), np.array([-1499.0, 1, 2990])
    e = np.sqrt(p1 @ p1 + 30.0**2) + np.sqrt(p2 @ p2 + 20.0**2)
    expected = np.sqrt(e**2 - (p1 + p2) @ (p1 + p2)) / 1000
    assert lhco_to_dijets(raw, None).mjj[0] == pytest.approx(expected, rel=1e-12)


def test_jets_ordered_by_mass_and_taus_follow():
    heavy_first = jet(1000, 0, 0, 500, (0.5, 0.1, 0.05)) + jet(-1000, 0, 0, 100, (0.3, 0.24, 0.2))
    light_first = heavy_first[7:] + heavy_first[:7]
    d = lhco_to_dijets(np.array([heavy_first, light_first]), np.array([1, 0]))
    for x in d.x:  # same event either way: j1 = the 100 GeV jet with tau21 = 0.8
        np.testing.assert_allclose(x, [0.1, 0.4, 0.24 / (0.3 + TAU21_EPS), 0.1 / (0.5 + TAU21_EPS)])
    np.testing.assert_array_equal(d.label, [1, 0])
    assert d.label.dtype == np.int8


def test_tau21_regulator():
    raw = np.array([jet(1000, 0, 0, 100, (0.0, 0.0, 0.0)) + jet(-1000, 0, 0, 200, (0.0, 2e-5, 0.0))])
    x = lhco_to_dijets(raw, None).x[0]
    assert x[2] == 0.0  # 0 / (0 + eps)
    assert x[3] == pytest.approx(2.0)  # 2e-5 / 1e-5


def test_wrong_shape_is_rejected():
    with pytest.raises(ValueError, match="14"):
        lhco_to_dijets(np.zeros((3, 15)), None)
