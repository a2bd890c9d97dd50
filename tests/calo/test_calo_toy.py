"""Toy shower generator: calorimeter response, resolution, shower depth, chi topologies, seeds."""

import numpy as np
import pytest

from hepad.calo import toy
from hepad.calo.lifetimes import decay_length_m
from hepad.calo.showers import deposited_energy, flat_voxels, layer_energies

ENERGIES = (2.0, 8.0, 32.0, 100.0)


@pytest.fixture(scope="module")
def photons():
    rng = np.random.default_rng(11)
    return {e: toy.simulate_photons(np.full(1500, e), rng) for e in ENERGIES}


def test_response_constant_in_energy(photons):
    ratio = np.array([deposited_energy(photons[e]).mean() / (1000 * e) for e in ENERGIES])
    assert np.all((ratio > 0.9) & (ratio < 1.0)), ratio  # containment below 1: leakage and overflow
    assert ratio.max() - ratio.min() < 0.02, ratio


def test_stochastic_resolution(photons):
    e = np.array(ENERGIES)
    rel = np.array([deposited_energy(photons[x]).std() / deposited_energy(photons[x]).mean() for x in ENERGIES])
    # fit (sigma/E)^2 = a^2 / E + c^2
    (a2, c2), *_ = np.linalg.lstsq(np.stack([1 / e, np.ones_like(e)], 1), rel**2, rcond=None)
    assert 0.085 < np.sqrt(a2) < 0.115, (a2, c2)
    assert c2 < 0.015**2
    assert rel[0] > 3 * rel[-1]  # resolution improves with energy


def test_shower_maximum_moves_deeper_with_energy(photons):
    frac = np.array([layer_energies(photons[e]).mean(0) / deposited_energy(photons[e]).mean() for e in ENERGIES])
    assert np.all(np.diff(frac[:, 0]) < 0) and np.all(np.diff(frac[:, 2]) > 0), frac
    assert frac[0, 0] > 0.2 and frac[-1, 0] < 0.1  # layer 0 is 5.8 X0 deep


def _layer1_blobs(showers, min_share=0.02):
    """Per shower: does layer 1 have two local maxima (each > min_share of E1) more than a cell apart?"""
    l1 = showers.layers[1].astype(float)
    pad = np.pad(l1, ((0, 0), (1, 1), (1, 1)), constant_values=-1)
    nb = np.stack([pad[:, 1 + dx:13 + dx, 1 + dy:13 + dy] for dx in (-1, 0, 1) for dy in (-1, 0, 1) if dx or dy])
    peak = (l1 > nb.max(0)) & (l1 > min_share * l1.sum((1, 2), keepdims=True))
    out = []
    for p in peak:
        ij = np.argwhere(p)
        d = np.abs(ij[:, None] - ij[None]).max(-1) if len(ij) > 1 else np.zeros((1, 1))
        out.append(d.max() >= 2)
    return np.array(out)


def _spread(showers):
    """Energy-weighted transverse RMS in layer 1 (cells)."""
    l1 = showers.layers[1].astype(float)
    w = l1 / l1.sum((1, 2), keepdims=True)
    c = np.arange(12.0)
    mx, my = (w.sum(2) * c).sum(1), (w.sum(1) * c).sum(1)
    return np.sqrt((w.sum(2) * c**2).sum(1) - mx**2 + (w.sum(1) * c**2).sum(1) - my**2)


def test_heavy_chi_upstream_makes_two_blobs():
    rng = np.random.default_rng(3)
    gam = toy.simulate_photons(np.full(400, 50.0), rng)
    heavy = toy.simulate_chi(400, 5.0, 0.33, rng)
    light = toy.simulate_chi(400, 5e-3, 0.33, rng)
    # ~15 % of the decays are so asymmetric that the soft photon lands outside the 480 mm window
    assert _layer1_blobs(heavy).mean() > 0.7
    assert _layer1_blobs(gam).mean() < 0.1 and _layer1_blobs(light).mean() < 0.1
    assert np.median(_spread(heavy)) > 1.5 * np.median(_spread(gam))
    assert np.median(_spread(light)) == pytest.approx(np.median(_spread(gam)), rel=0.1)  # looks like a photon


def test_decays_inside_calorimeter_leave_upstream_layers_empty():
    rng = np.random.default_rng(4)
    gam = layer_energies(toy.simulate_photons(np.full(300, 50.0), rng))
    at_140 = layer_energies(toy.simulate_chi(300, 5.0, 1.40, rng))  # layer 1 ends at 1.437 m
    at_144 = layer_energies(toy.simulate_chi(300, 5e-3, 1.44, rng))  # inside layer 2
    assert (gam[:, 0] == 0).mean() < 0.05  # photons converting behind layer 0: exp(-90/20) = 1 %
    assert gam[:, 1].mean() > 0.8 * 50_000
    assert np.all(at_140[:, 0] == 0)
    assert at_140[:, 1].mean() < 0.01 * 50_000  # only the 37 mm of layer 1 behind the decay
    assert np.all(at_144[:, :2] == 0)
    assert (at_144[:, 2] > 0).mean() > 0.9  # both photons cross the last 40 mm unconverted: 2 %
    assert at_144[:, 2].mean() < 0.05 * 50_000  # 2.6 X0 of material left: most energy leaks out


def test_front_face_decay_looks_like_photons():
    """Dead zone: two collinear photons of ~25 GeV at the front face sit between 25 and 50 GeV photons."""
    rng = np.random.default_rng(5)
    f = {k: layer_energies(s).mean(0) / deposited_energy(s).mean() for k, s in {
        "g25": toy.simulate_photons(np.full(800, 25.0), rng),
        "g50": toy.simulate_photons(np.full(800, 50.0), rng),
        "chi": toy.simulate_chi(800, 0.5, 1.00, rng),
        "deep": toy.simulate_chi(800, 0.5, 1.08, rng),
    }.items()}
    assert f["g50"][0] < f["chi"][0] < f["g25"][0]
    assert f["deep"][0] < 0.2 * f["g50"][0]  # a decay 80 mm inside skips most of layer 0


def test_seed_reproducibility_and_thread_independence():
    a = toy.simulate_chi(1500, 5.0, 0.66, np.random.default_rng(7), n_threads=1)
    b = toy.simulate_chi(1500, 5.0, 0.66, np.random.default_rng(7), n_threads=2)
    c = toy.simulate_chi(1500, 5.0, 0.66, np.random.default_rng(8), n_threads=1)
    np.testing.assert_array_equal(flat_voxels(a), flat_voxels(b))
    np.testing.assert_array_equal(a.overflow, b.overflow)
    assert not np.array_equal(flat_voxels(a), flat_voxels(c))
    assert np.allclose(a.energy, 45.0)  # stored energy is kinetic: E - m


def test_background_and_lifetime_samples():
    rng = np.random.default_rng(9)
    bkg = toy.simulate_background(500, rng)
    assert bkg.energy.min() >= 1 and bkg.energy.max() <= 100 and bkg.energy.std() > 20
    sig = toy.simulate_chi_lifetime(300, 5.0, 1.0, rng)
    assert sig.energy.min() >= 1 and sig.energy.max() <= 100
    assert np.all(flat_voxels(sig) >= 0) and deposited_energy(sig).mean() > 0
    # decay positions: exponential with mean c tau beta gamma, truncated at the back face
    e = np.full(200_000, 50.0)
    z = toy.sample_decay_z(e, 5.0, 0.01, rng)
    assert z.max() < toy.Z_BACK_M and z.mean() == pytest.approx(decay_length_m(5.0, 0.01, 50.0), rel=0.02)
    z_light = toy.sample_decay_z(e, 5e-3, 1.0, rng)  # 3 km decay length: nearly uniform in [0, 1.48]
    assert z_light.max() < toy.Z_BACK_M and z_light.mean() == pytest.approx(toy.Z_BACK_M / 2, rel=0.02)
