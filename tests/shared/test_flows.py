"""Flows: preprocessing Jacobian, normalisation, sampling vs log_prob, conditioning, save/load, seeds."""

import math

import numpy as np
import pytest
import torch

from hepad.errors import InputError
from hepad.flows import DensityModel, FlowConfig, Preprocessor, build_flow, log_prob, nll_loss, sample
from hepad.training import TrainConfig, ensemble, fit, seed_everything

SMALL = dict(num_blocks=3, hidden_features=32)
TRAIN = TrainConfig(epochs=4, batch_size=256, lr=3e-3, keep_best=2, device="cpu")



def _bimodal(n, rng, d=1):
    """Context m ~ U(-1, 1); x | m: two Gaussians whose positions move with m (not a Gaussian)."""
    m = rng.uniform(-1, 1, (n, 1))
    sign = np.where(rng.random((n, 1)) < 0.4, -1.0, 1.0)
    x = sign * (1.0 + 0.5 * m) + 0.4 * rng.standard_normal((n, d))
    return x.astype(np.float32), m.astype(np.float32)


def _train_flow(kind, d, context, n=6000, seed=0):
    rng = np.random.default_rng(seed)
    x, m = _bimodal(n, rng, d)
    data = [torch.from_numpy(x)] + ([torch.from_numpy(m)] if context else [])
    seed_everything(seed)
    flow = build_flow(FlowConfig(kind=kind, tail_bound=5.0, **SMALL), d, 1 if context else 0)
    res = fit(flow, nll_loss(flow), [t[:5000] for t in data], [t[5000:] for t in data], TRAIN)
    # it learned something (a 1-D affine MAF is Gaussian at fixed m: nothing much to learn)
    gauss = 0.5 * d * math.log(2 * math.pi * math.e) + 0.5 * np.log(np.linalg.det(np.atleast_2d(np.cov(x.T))))
    if kind == "rqs" or d > 1:
        assert res.best_losses[0] < gauss - 0.05
    return ensemble(flow, res.best_states[:1])[0]


# ---------------------------------------------------------------- preprocessing


def test_preprocessing_roundtrip_logdet_and_range():
    rng = np.random.default_rng(1)
    x = np.column_stack([rng.uniform(3.0, 4.0, 2000), rng.exponential(0.1, 2000), rng.normal(50, 10, 2000)])
    p = Preprocessor(alpha=1e-6, margin=0.01).fit(x)
    z, logdet = p.transform(x)
    assert z.dtype == torch.float64 and logdet.shape == (2000,)
    assert np.allclose(z.mean(0).numpy(), 0, atol=1e-9) and np.allclose(z.std(0).numpy(), 1, atol=1e-9)
    assert np.allclose(p.inverse(z).numpy(), x, rtol=1e-10, atol=1e-10)
    # log-Jacobian = sum over features of log dz_j/dx_j (elementwise map: central differences)
    xs = torch.as_tensor(x[:200])
    num = torch.zeros(200, dtype=torch.float64)
    for j in range(3):
        h = 1e-6 * (p.hi[j] - p.lo[j])
        dx = torch.zeros(3, dtype=torch.float64)
        dx[j] = h
        dz = (p.transform(xs + dx)[0] - p.transform(xs - dx)[0]) / (2 * h)
        assert torch.allclose(dz[:, [k for k in range(3) if k != j]], torch.zeros(1, dtype=torch.float64))
        num += torch.log(dz[:, j])
    assert torch.allclose(p.transform(xs)[1], num, atol=1e-5)
    # range: training events inside, events beyond the margin outside
    assert p.inside(x).all()
    out = x[:3].copy()
    out[0, 0], out[1, 1], out[2, 2] = 4.1, -0.01, np.nan
    assert not p.inside(out).any()
    assert p.inside(x[:1] + np.array([[0.005, 0, 0]])).all() == (x[0, 0] + 0.005 <= p.hi[0].item())
    # float32 in, float32 out; state round trip
    assert p.transform(x.astype(np.float32))[0].dtype == torch.float32
    q = Preprocessor.from_state({k: v for k, v in p.state_dict().items()})
    assert torch.equal(q.transform(x)[0], z)


def test_preprocessing_rejects_bad_input():
    with pytest.raises(InputError):
        Preprocessor().fit(np.ones((10, 2)))
    with pytest.raises(InputError):
        Preprocessor(alpha=0.0).fit(np.random.default_rng(0).random((10, 2)))  # logit(0) = -inf
    with pytest.raises(InputError):
        Preprocessor().fit(np.random.default_rng(0).random((10, 2))).transform(np.zeros((3, 3)))


# ---------------------------------------------------------------- flow normalisation


@pytest.mark.parametrize("kind", ["affine", "rqs"])
def test_flow_1d_conditional_integrates_to_one(kind):
    flow = _train_flow(kind, 1, context=True)
    grid = np.linspace(-12, 12, 24001, dtype=np.float32)[:, None]
    for m in (-0.8, 0.0, 0.7):
        lp = log_prob(flow, grid, np.full((len(grid), 1), m, np.float32))
        assert abs(np.trapezoid(np.exp(lp), grid[:, 0]) - 1) < 0.01
    if kind == "rqs":  # a trained spline flow is bimodal at fixed m (the affine 1-D MAF is Gaussian)
        lp = log_prob(flow, np.array([[-1.0], [0.0], [1.0]], np.float32), np.zeros((3, 1), np.float32))
        assert lp[1] < min(lp[0], lp[2])


@pytest.mark.parametrize("kind", ["affine", "rqs"])
def test_flow_2d_integrates_to_one(kind):
    flow = _train_flow(kind, 2, context=True)
    g = np.linspace(-7, 7, 281, dtype=np.float32)
    xx, yy = np.meshgrid(g, g, indexing="ij")
    pts = np.column_stack([xx.ravel(), yy.ravel()])
    for m in (-0.5, 0.5):
        p = np.exp(log_prob(flow, pts, np.full((len(pts), 1), m, np.float32))).reshape(len(g), len(g))
        assert abs(np.trapezoid(np.trapezoid(p, g, axis=1), g) - 1) < 0.02


# ---------------------------------------------------------------- sampling vs log_prob


def test_sampling_matches_log_prob_on_gaussian():
    """Flow fitted to N(mu, Sigma) in 2-D: samples and log_prob belong to the same density q."""
    rng = np.random.default_rng(3)
    mu, cov = np.array([1.0, -0.5]), np.array([[1.0, 0.6], [0.6, 0.5]])
    x = rng.multivariate_normal(mu, cov, 12000).astype(np.float32)
    seed_everything(0)
    flow = build_flow(FlowConfig(**SMALL), 2)
    res = fit(flow, nll_loss(flow), [torch.from_numpy(x[:10000])], [torch.from_numpy(x[10000:])],
              TrainConfig(epochs=8, lr=3e-3, keep_best=1, device="cpu"))
    flow = ensemble(flow, res.best_states)[0]
    g = torch.Generator().manual_seed(0)
    xs = sample(flow, num_samples=40000, generator=g).numpy().astype(np.float64)
    lq = log_prob(flow, xs)
    inv = np.linalg.inv(cov)
    d = xs - mu
    lp = -0.5 * np.einsum("ni,ij,nj->n", d, inv, d) - 0.5 * np.log((2 * np.pi) ** 2 * np.linalg.det(cov))
    h_true = 0.5 * np.log((2 * np.pi * np.e) ** 2 * np.linalg.det(cov))
    # entropy of q from its own samples and log_prob matches the Gaussian's (q fitted to it)
    assert abs(-lq.mean() - h_true) < 0.05
    # importance check: E_q[p/q] = 1 only if xs ~ q as evaluated by log_prob
    w = np.exp(lp - lq)
    assert abs(w.mean() - 1) < 0.03
    # KL(q||p) = E_q[log q - log p] >= 0 and small
    assert -0.01 < (lq - lp).mean() < 0.05
    # and the reverse direction: E_p[q/p] = 1 tests the normalisation of q
    xp = rng.multivariate_normal(mu, cov, 40000)
    dp = xp - mu
    lpp = -0.5 * np.einsum("ni,ij,nj->n", dp, inv, dp) - 0.5 * np.log((2 * np.pi) ** 2 * np.linalg.det(cov))
    assert abs(np.exp(log_prob(flow, xp) - lpp).mean() - 1) < 0.03


def test_samples_follow_log_prob_cdf_1d():
    """KS distance between conditional samples and the CDF integrated from log_prob."""
    flow = _train_flow("rqs", 1, context=True)
    g = torch.Generator().manual_seed(1)
    m = 0.3
    xs = np.sort(sample(flow, np.full((20000, 1), m, np.float32), generator=g).numpy()[:, 0])
    grid = np.linspace(-12, 12, 24001, dtype=np.float32)
    pdf = np.exp(log_prob(flow, grid[:, None], np.full((len(grid), 1), m, np.float32)))
    cdf = np.concatenate([[0], np.cumsum(0.5 * (pdf[1:] + pdf[:-1]) * np.diff(grid))])
    ks = np.abs(np.interp(xs, grid, cdf) - (np.arange(1, len(xs) + 1) - 0.5) / len(xs)).max()
    assert ks < 0.015  # 1.36/sqrt(20000) = 0.0096 at 95 % CL, plus quadrature error


# ---------------------------------------------------------------- DensityModel


def _density_toy(n, rng):
    """x in [2, 5] (beta-distributed, sharp lower edge), x | m shifts with m."""
    m = rng.uniform(3.3, 3.7, n)
    x = 2.0 + 3.0 * rng.beta(2.0 + 5 * (m - 3.3), 5.0, n)
    return x[:, None], m


@pytest.fixture(scope="module")
def density_model():
    rng = np.random.default_rng(4)
    x, m = _density_toy(8000, rng)
    dm = DensityModel(FlowConfig(kind="rqs", tail_bound=5.0, **SMALL))
    dm.fit(x[:6000], m[:6000], x[6000:], m[6000:], TrainConfig(epochs=5, lr=3e-3, keep_best=3, device="cpu"))
    return dm


def test_density_model_integrates_to_one_in_original_coordinates(density_model):
    dm = density_model
    lo, hi = dm.prep.lo.item(), dm.prep.hi.item()
    grid = np.linspace(lo, hi, 60001)
    for m in (3.35, 3.6):
        lp = dm.log_prob(grid, np.full(len(grid), m))
        assert np.isfinite(lp).all()
        assert abs(np.trapezoid(np.exp(lp), grid) - 1) < 0.01
    # outside the fitted range: -inf, inside finite
    lp = dm.log_prob(np.array([lo - 1e-3, hi + 1e-3, 0.5 * (lo + hi)]), np.full(3, 3.5))
    assert lp[0] == lp[1] == -np.inf and np.isfinite(lp[2])


def test_density_model_is_the_mean_of_its_members(density_model):
    dm = density_model
    assert len(dm.members) == 3
    x, m = _density_toy(500, np.random.default_rng(5))
    z, logdet = dm.prep.transform(x)
    each = np.stack([log_prob(f, z.float(), m[:, None]) for f in dm.members])
    expect = np.log(np.exp(each).mean(0)) + logdet.numpy()
    assert np.allclose(dm.log_prob(x, m), expect, atol=1e-6)
    assert not np.allclose(each[0], each[1])  # the members differ: the average is not trivial


def test_density_model_save_load_and_sample(density_model, tmp_path):
    dm = density_model
    dm.save(tmp_path / "flow.pt")
    dl = DensityModel.load(tmp_path / "flow.pt")
    x, m = _density_toy(1000, np.random.default_rng(6))
    assert np.array_equal(dm.log_prob(x, m), dl.log_prob(x, m))
    s1, s2 = dm.sample(m, seed=7), dl.sample(m, seed=7)
    assert np.array_equal(s1, s2) and s1.shape == (1000, 1)
    assert not np.array_equal(s1, dm.sample(m, seed=8))
    assert dm.inside(s1).all()  # samples map back into the fitted range
    # sample moments at fixed m agree with those of exp(log_prob) in the original coordinates
    grid = np.linspace(dm.prep.lo.item(), dm.prep.hi.item(), 20001)
    for mv in (3.32, 3.68):
        p = np.exp(dm.log_prob(grid, np.full(len(grid), mv)))
        mean = np.trapezoid(grid * p, grid)
        sd = math.sqrt(np.trapezoid((grid - mean) ** 2 * p, grid))
        xs = dm.sample(np.full(20000, mv), seed=1)
        assert abs(xs.mean() - mean) < 4 * sd / math.sqrt(20000) and abs(xs.std() / sd - 1) < 0.03
    with pytest.raises(InputError):
        dm.log_prob(x, m[:10])
    with pytest.raises(InputError):
        dm.sample(None)


@pytest.mark.parametrize("standardize_context", [False, True])
def test_conditional_gaussian_mean_shift(standardize_context, tmp_path):
    """x1 | m ~ N(m, 0.1), x2 ~ N(0, 1): the fitted DensityModel moves x1 with m at the right width."""
    rng = np.random.default_rng(7)
    m = rng.uniform(3.0, 4.0, 20000)
    x = np.column_stack([m + 0.1 * rng.standard_normal(20000), rng.standard_normal(20000)])
    dm = DensityModel(FlowConfig(**SMALL), standardize_context=standardize_context)
    dm.fit(x[:16000], m[:16000], x[16000:], m[16000:], TrainConfig(epochs=8, lr=1e-3, keep_best=1, device="cpu"))
    grid = np.linspace(2.5, 4.5, 4001)
    means = []
    for mv in (3.2, 3.5, 3.8):
        p = np.exp(dm.log_prob(np.column_stack([grid, np.zeros_like(grid)]), np.full(len(grid), mv)))
        p /= np.trapezoid(p, grid)
        means.append(np.trapezoid(grid * p, grid))
        sd = math.sqrt(np.trapezoid((grid - means[-1]) ** 2 * p, grid))
        assert abs(means[-1] - mv) < 0.025 and abs(sd - 0.1) < 0.03
        xs = dm.sample(np.full(5000, mv), seed=0)
        # x2 ignores m; with raw m (3..4) 8 epochs leave a spurious shift of up to ~0.2 sd
        assert abs(xs[:, 0].mean() - mv) < 0.03 and abs(xs[:, 1].mean()) < 0.3 and abs(xs[:, 1].std() - 1) < 0.15
    assert abs((means[2] - means[0]) / 0.6 - 1) < 0.1  # slope d<x1>/dm = 1 (0 if m were ignored)
    dm.save(tmp_path / "m.pt")
    loaded = DensityModel.load(tmp_path / "m.pt")
    assert np.array_equal(loaded.log_prob(x[:100], m[:100]), dm.log_prob(x[:100], m[:100]))


def test_same_seed_same_result():
    rng = np.random.default_rng(8)
    x, m = _bimodal(3000, rng, 2)
    cfg = TrainConfig(epochs=2, lr=3e-3, keep_best=1, device="cpu", seed=3)

    def run(seed):
        dm = DensityModel(FlowConfig(**SMALL))
        dm.fit(x[:2500], m[:2500], x[2500:], m[2500:], TrainConfig(**{**cfg.__dict__, "seed": seed}))
        return dm.log_prob(x[2500:], m[2500:])

    a, b, c = run(3), run(3), run(4)
    assert np.array_equal(a, b)
    assert not np.allclose(a, c)


def test_flow_context_checks_and_embedding():
    flow = build_flow(FlowConfig(num_blocks=2, hidden_features=8), 3, 1)
    with pytest.raises(InputError):
        flow.log_prob(torch.zeros(4, 3))  # conditional flow without context
    with pytest.raises(InputError):
        flow.log_prob(torch.zeros(4, 3), torch.zeros(4, 2))
    # a learned context embedding (e.g. SIGMA's m_jj features) feeds the MADEs
    emb = torch.nn.Sequential(torch.nn.Linear(1, 6), torch.nn.Tanh())
    flow = build_flow(FlowConfig(num_blocks=2, hidden_features=8), 3, 1, embedding=emb)
    x, c = torch.randn(64, 3), torch.randn(64, 1)
    loss = nll_loss(flow)(flow, [x, c])
    loss.backward()
    assert emb[0].weight.grad is not None and emb[0].weight.grad.abs().sum() > 0
    assert flow.eval().sample_one(c).shape == (64, 3)


def test_density_model_unconditional_and_embedding(tmp_path):
    rng = np.random.default_rng(9)
    x = rng.gamma(3.0, 1.0, (4000, 2))
    dm = DensityModel(FlowConfig(num_blocks=2, hidden_features=16))
    dm.fit(x[:3000], None, x[3000:], None, TrainConfig(epochs=2, lr=3e-3, keep_best=2, device="cpu"))
    xs = dm.sample(num_samples=1000, seed=0)
    assert xs.shape == (1000, 2) and dm.inside(xs).all()
    xv = x[3000:][dm.inside(x[3000:])]
    assert np.isfinite(dm.log_prob(xv)).all()
    # a learned embedding of m feeds the MADEs (SIGMA); trained, saved and restored with the model
    m = rng.uniform(3, 4, 4000)
    emb = torch.nn.Sequential(torch.nn.Linear(1, 4), torch.nn.Tanh())
    template = emb[0].weight.detach().clone()
    de = DensityModel(FlowConfig(num_blocks=2, hidden_features=16), embedding=emb)
    de.fit(x[:3000], m[:3000], x[3000:], m[3000:], TrainConfig(epochs=2, lr=3e-3, keep_best=1, device="cpu"))
    assert torch.equal(emb[0].weight, template)  # the template is not trained in place
    assert not torch.equal(de.members[0]._embedding_net[0].weight, template)
    de.save(tmp_path / "e.pt")
    assert np.array_equal(DensityModel.load(tmp_path / "e.pt").log_prob(x[:50], m[:50]), de.log_prob(x[:50], m[:50]))


def test_flow_float64():
    f = build_flow(FlowConfig(num_blocks=2, hidden_features=16), 3, 1).eval()
    x, c = np.random.default_rng(0).standard_normal((100, 3)), np.ones((100, 1))
    a = log_prob(f, x, c)
    f64 = f.double()
    assert np.allclose(a, log_prob(f64, x, c), atol=1e-4)
    assert sample(f64, c).dtype == torch.float64
