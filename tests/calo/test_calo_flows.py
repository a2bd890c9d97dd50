"""CaloFlow: the preprocessing inverts with the right log-Jacobian; Flow-I and Flow-II log_prob are
normalised densities (numerical checks on small models); scoring does not depend on the batch size."""

import numpy as np
import pytest
import torch

from hepad.calo import preprocessing as pp
from hepad.calo import toy
from hepad.calo.caloflow import (
    PAPER,
    load_flow,
    make_flow,
    n_parameters,
    score,
    train_flow,
)
from hepad.flows.maf import log_prob, sample


@pytest.fixture(scope="module")
def photons():
    return toy.simulate_background(1500, np.random.default_rng(5))


def test_flow1_transform_inverts_and_log_jacobian_matches_numerical_derivative():
    e = np.array([[1e-7, 0.3, 12.0], [2.5, 40.0, 1e-3]])  # GeV, down to below the 1 keV offset
    x, jac = pp.flow1_transform(e)
    np.testing.assert_allclose(pp.flow1_inverse(x), e, rtol=1e-9, atol=1e-12)
    h = 1e-6 * (e + pp.EPS_GEV)
    num = (pp.flow1_transform(e + h)[0] - pp.flow1_transform(e - h)[0]) / (2 * h)
    np.testing.assert_allclose(jac, np.log(num).sum(1), rtol=1e-6)
    assert pp.flow1_transform(np.zeros((1, 3)))[0].min() == pytest.approx(-14.0)  # the tail bound


def test_flow2_transform_inverts_and_log_jacobian_matches_numerical_derivative(photons):
    vox = pp.noisy_voxels(photons[:20], np.random.default_rng(0))
    u = pp.normalised_voxels(vox)
    np.testing.assert_allclose(pp.layer_sums_gev(u * 1000.0), 1.0, rtol=1e-12)  # each layer sums to 1
    y, jac = pp.flow2_transform(vox)
    np.testing.assert_allclose(pp.flow2_inverse(y), u, rtol=1e-6, atol=1e-12)
    h = 1e-7 * np.minimum(u, 1 - u) + 1e-13
    num = (pp.logit_transform(u + h)[0] - pp.logit_transform(u - h)[0]) / (2 * h)
    np.testing.assert_allclose(jac, np.log(num).sum(1), rtol=1e-5)
    assert np.abs(y).max() <= 14.0  # logit(alpha) = -13.8: inside the tail bound


def test_noise_is_uniform_below_one_kev_and_seeded(photons):
    s = photons[:50]
    a = pp.noisy_voxels(s, np.random.default_rng(1)) - pp.noisy_voxels(s, np.random.default_rng(1))
    assert np.all(a == 0)
    d = pp.noisy_voxels(s, np.random.default_rng(1)) - np.concatenate([l.reshape(50, -1) for l in s.layers], 1)
    assert d.min() >= 0 and d.max() <= 1e-3 and d.mean() == pytest.approx(5e-4, rel=0.05)


def test_paper_sizes():
    assert n_parameters(make_flow(2, PAPER[2]))[0] == pytest.approx(37.8e6, rel=0.01)  # the paper's 37.8M


def test_flow1_is_normalised(photons, tmp_path):
    """The trained Flow-I density integrates to 1 at fixed E_inc: E_q[p/q] over a broad Gaussian q
    around the flow's samples; and its samples look like the training photons at that energy."""
    info = train_flow(1, photons, dict(kind="rqs", num_blocks=3, hidden_features=32, made_layers=2, tail_bound=14.0),
                      dict(epochs=4, lr=3e-3), seed=0, out=tmp_path / "f1.pt", device="cpu")
    flow, d = load_flow(tmp_path / "f1.pt", 1)
    assert d["calibration_lambda"] == info["calibration_lambda"] and 1.0 < info["calibration_lambda"] < 1.02
    ctx = np.full((20000, 1), np.log10(50 / 10))
    x = sample(flow, ctx[:4000], generator=torch.Generator().manual_seed(0)).double().numpy()
    rng = np.random.default_rng(0)
    mu, cov = x.mean(0), 9.0 * np.cov(x.T)  # 3x the flow's spread
    y = rng.multivariate_normal(mu, cov, len(ctx))
    r = y - mu
    lq = -0.5 * np.einsum("ni,ij,nj->n", r, np.linalg.inv(cov), r) - 0.5 * np.log(np.linalg.det(2 * np.pi * cov))
    ratio = np.exp(log_prob(flow, y, ctx) - lq)
    assert ratio.mean() == pytest.approx(1.0, abs=4 * ratio.std() / np.sqrt(len(ratio)) + 0.01)
    assert ratio.std() / np.sqrt(len(ratio)) < 0.05
    near = np.abs(photons.energy - 50) < 10  # the flow's E0 + E1 + E2 ~ the photons' near 50 GeV
    e_data = pp.features(photons[near], np.random.default_rng(1))["e"].sum(1)
    e_flow = pp.flow1_inverse(x).sum(1)
    assert np.median(e_flow) == pytest.approx(np.median(e_data) * 50 / photons.energy[near].mean(), rel=0.05)


def test_flow2_log_prob_is_change_of_variables(photons):
    """log p(x) = log N(f(x)) + log|det df/dx| with the 504 x 504 Jacobian from autograd."""
    torch.manual_seed(0)
    flow = make_flow(2, dict(kind="rqs", num_blocks=2, hidden_features=16, made_layers=1, tail_bound=14.0)).double().eval()
    f = pp.features(photons[:2], np.random.default_rng(0))
    x, c = torch.as_tensor(f["x2"]), torch.as_tensor(f["c2"])
    x, c = x[:1], c[:1]

    def fwd(v):
        return flow._transform(v[None], c)[0][0]

    z = fwd(x[0])
    jac = torch.autograd.functional.jacobian(fwd, x[0], vectorize=True)
    expected = -0.5 * (z**2).sum() - 252 * np.log(2 * np.pi) + torch.linalg.slogdet(jac)[1]
    assert float(flow.log_prob(x, c).detach()) == pytest.approx(float(expected.detach()), rel=1e-9, abs=1e-6)


def test_score_does_not_depend_on_batch_size(photons, tmp_path):
    torch.manual_seed(0)
    f1 = make_flow(1, dict(kind="rqs", num_blocks=2, hidden_features=8, made_layers=1, tail_bound=14.0)).eval()
    f2 = make_flow(2, dict(kind="rqs", num_blocks=1, hidden_features=8, made_layers=1, tail_bound=14.0)).eval()
    a = score(f1, f2, 1.005, photons[:300], np.random.default_rng(3), batch_size=300)
    b = score(f1, f2, 1.005, photons[:300], np.random.default_rng(3), batch_size=70)
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-5, atol=1e-4)
    assert np.all(np.isfinite(a["log_p2"])) and a["einc_rec"].mean() == pytest.approx(photons[:300].energy.mean(), rel=0.05)
