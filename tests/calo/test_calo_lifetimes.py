"""Lifetime reweighting: P_d(z), displacement weights, mixing of fixed-displacement samples."""

import math

import numpy as np
import pytest

from hepad.calo.lifetimes import decay_probability, displacement_weights, lifetime_sample
from hepad.calo.showers import Showers
from hepad.errors import InputError

ZS = [0.33, 0.66, 1.00, 1.04, 1.08, 1.16, 1.24, 1.32, 1.40, 1.44]


def test_decay_probability_by_hand():
    # m = 0.5 GeV, tau = 0.1 ns, E = 50 GeV: gamma = 100, c tau beta gamma = 0.0299792458 * sqrt(9999) m
    lam = 0.299792458 * 0.1 * math.sqrt(100**2 - 1)
    assert decay_probability(0.66, 0.5, 0.1, 50.0) == pytest.approx(1 - math.exp(-0.66 / lam), rel=1e-12)


def test_displacement_weights_by_hand():
    m, tau, e = 5.0, 1.0, 50.0
    lam = 0.299792458 * tau * math.sqrt((e / m) ** 2 - 1)  # 2.98 m
    p = [1 - math.exp(-z / lam) for z in ZS]
    hand = [p[0]] + [p[i] - p[i - 1] for i in range(1, len(p))]
    hand = [w / p[-1] for w in hand]
    w = displacement_weights(ZS, m, tau, e)
    np.testing.assert_allclose(w, hand, rtol=1e-12)
    assert w.sum() == pytest.approx(1.0)
    # the first point carries the decays in [0, 0.33]: far more than the 0.04 m bin at 1.04
    assert w[0] > 5 * w[3]


def test_shorter_lifetime_moves_weight_upstream():
    short, long_ = displacement_weights(ZS, 5.0, 0.01, 50.0), displacement_weights(ZS, 5.0, 1.0, 50.0)
    assert short[0] > 0.99 and long_[0] < 0.3


def test_weights_reject_unsorted():
    with pytest.raises(InputError, match="increasing"):
        displacement_weights([0.66, 0.33], 5.0, 1.0, 50.0)


def _fake(z, n):  # showers whose energy records the displacement they came from
    return Showers((np.zeros((n, 3, 96)), np.zeros((n, 12, 12)), np.zeros((n, 12, 6))), np.zeros((n, 3)),
                   z + np.arange(n) * 1e-6)


def test_lifetime_sample_proportions():
    zs = [0.33, 0.66, 1.40]
    samples = {z: _fake(z, 500) for z in zs}
    w = displacement_weights(zs, 5.0, 1.0, 50.0)
    mix = lifetime_sample(samples, w, n_total=1000, rng=np.random.default_rng(0))
    assert len(mix) == 1000
    src = np.round(mix.energy, 2)
    counts = [int((src == z).sum()) for z in zs]
    assert sum(counts) == 1000
    np.testing.assert_allclose(counts, w * 1000, atol=1)
    assert len(np.unique(mix.energy)) == 1000  # drawn without replacement
    same = lifetime_sample(samples, dict(zip(zs, w)), n_total=1000, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(same.energy, mix.energy)


def test_lifetime_sample_too_few_showers():
    samples = {0.33: _fake(0.33, 10), 0.66: _fake(0.66, 10)}
    with pytest.raises(InputError, match="0.33"):
        lifetime_sample(samples, [0.9, 0.1], n_total=100, rng=np.random.default_rng(0))
