"""StackedFlow / fit_stack: K flows in one module are K ConditionalFlows trained alone by training.fit.

Tolerances. A stack of one reproduces training.fit bit for bit on the CPU: the same kernels see the
same memory layout (baddbmm runs one gemm per member, the reductions run per member in the same order,
Adam steps per-member views laid out as the single flow's parameters), so those comparisons are exact.
With K > 1 a member's values sit at other positions of the tensors, and elementwise kernels treat
the last elements of a tensor with scalar instead of vectorised code, which can differ by one ulp
(softplus, sigmoid: measured). Observed after 5 epochs: affine still exact, rqs up to 2e-6 in the
losses and 3e-7 in the weights; the K > 1 training test allows 1e-5 (losses, weights) and 1e-4 (log_prob
of the trained flows), the round trip 1e-5 (log_prob of the same weights). Sampling vs log_prob: 1e-4,
the float32 error of inverting 3 blocks. With SIGMA's context embedding (FourierEmbedding) the same:
a stack of one is exact (its Linear layers run nn.Linear's gemm calls, backward included), three
members with their own lo/hi: affine exact, rqs up to 1e-6 after 3 epochs; allowed 1e-5 as above.
"""

import logging
from dataclasses import replace

import numpy as np
import pytest
import torch

import hepad.stacking as stacking
from hepad.errors import InputError, TrainingDiverged
from hepad.flows import DensityModel, FlowConfig, log_prob, nll_loss
from hepad.flows.embedding import FourierEmbedding
from hepad.flows.maf import ConditionalFlow
from hepad.flows.stacked import StackedFlow, fit_stack
from hepad.training import TrainConfig, ensemble, fit, seed_everything

SMALL = FlowConfig(num_blocks=3, hidden_features=16)
EMB = dict(n_freq=4, hidden=16, out=4)  # a small FourierEmbedding
TRAIN = TrainConfig(epochs=4, batch_size=128, lr=3e-3, weight_decay=1e-3, keep_best=2, lr_schedule="cosine",
                    device="cpu")



def _events(n, seed, shift=0.0):
    """[x (n, 3), m (n, 1)]: x depends on m and is not Gaussian."""
    g = torch.Generator().manual_seed(seed)
    m = torch.rand(n, 1, generator=g)
    x = 0.5 * torch.randn(n, 3, generator=g) + m * torch.tensor([1.0, -0.5, 0.0])
    x[:, 2] += x[:, 0] ** 2
    return [x + shift, m]


def _sigma_events(n, seed, lo, hi, shift=0.0):
    """_events with m in [lo, hi] (TeV-like, as SIGMA's raw m_jj context)."""
    x, m = _events(n, seed, shift)
    return [x, lo + (hi - lo) * m]


def _built(cfg, embedding=None):
    """The flow DensityModel builds (with a fresh, reset copy of the embedding template)."""
    model = DensityModel(cfg, embedding=embedding)
    model.features, model.context_features = 3, 1
    return model._build()


def _single(cfg, tc, seed, train, val, embedding=None):
    seed_everything(seed)
    flow = _built(cfg, embedding)
    return flow, fit(flow, nll_loss(flow), train, val, replace(tc, seed=seed))


def _assert_same_fit(single, res, events, tol=0.0):
    """History, best epochs and their states, the best-epoch ensemble's log_prob: equal within `tol`
    (10 tol for log_prob)."""
    flow, ref = single
    assert [h["epoch"] for h in res.history] == [h["epoch"] for h in ref.history]
    for key in ("train_loss", "val_loss"):
        np.testing.assert_allclose([h[key] for h in res.history], [h[key] for h in ref.history], rtol=0, atol=tol)
    np.testing.assert_allclose(res.best_losses, ref.best_losses, rtol=0, atol=tol)
    for a, b in zip(res.best_states, ref.best_states, strict=True):
        assert a.keys() == b.keys()
        for k in a:
            torch.testing.assert_close(a[k], b[k], rtol=0, atol=tol)
    lp = [log_prob(f, *events) for f in ensemble(flow, res.best_states)]
    lp_ref = [log_prob(f, *events) for f in ensemble(flow, ref.best_states)]
    np.testing.assert_allclose(lp, lp_ref, rtol=0, atol=10 * tol)
    assert np.isfinite(lp).all()


@pytest.mark.parametrize("embedding", [False, True])
@pytest.mark.parametrize("kind, batch_norm, optimizer", [("affine", True, "adam"), ("rqs", False, "adamw")])
def test_stack_of_one_is_training_fit(kind, batch_norm, optimizer, embedding):
    cfg = replace(SMALL, kind=kind, batch_norm=batch_norm, tail_bound=5.0)
    tc = replace(TRAIN, epochs=3, optimizer=optimizer)
    train, val = _events(700, 0), _events(300, 1)  # 6 batches, the last one partial
    emb = FourierEmbedding(0.0, 1.0, **EMB) if embedding else None
    single = _single(cfg, tc, 5, train, val, emb)
    stack = StackedFlow(cfg, 3, 1, 1, emb).init_from_seeds([5])
    (res,) = fit_stack(stack, [train], [val], tc, seeds=[5])
    assert res.history[-1]["train_loss"] < res.history[0]["train_loss"]  # it trained
    _assert_same_fit(single, res, _events(200, 9))


@pytest.mark.parametrize("kind", ["affine", "rqs"])
def test_four_members_with_own_data_seeds_and_early_stopping(kind, tmp_path):
    """Different event counts (batches run out at different steps), seeds and stopping epochs; member 2
    is validated on shifted events, so its validation loss rises and it stops early (patience 1)."""
    cfg = replace(SMALL, kind=kind, tail_bound=5.0)
    tc = replace(TRAIN, epochs=5, patience=1)
    sizes, seeds = [700, 450, 300, 520], [0, 7, 3, 11]
    train = [_events(n, 10 + j) for j, n in enumerate(sizes)]
    val = [_events(n // 3, 20 + j, shift=3.0 if j == 2 else 0.0) for j, n in enumerate(sizes)]
    stack = StackedFlow(cfg, 3, 1, 4).init_from_seeds(seeds)
    files = [tmp_path / f"loss{j}.csv" for j in range(4)]
    results = fit_stack(stack, train, val, tc, seeds, loss_files=files)
    assert [len(r.history) for r in results] == [5, 5, 2, 5]
    assert len(files[2].read_text().splitlines()) == 1 + 2
    for j in range(4):
        _assert_same_fit(_single(cfg, tc, seeds[j], train[j], val[j]), results[j], _events(200, 9), tol=1e-5)
    # the stopped member is frozen: the stack's final weights of member 2 are its epoch-1 weights
    last = stack.member_state(2)
    epoch1 = results[2].best_states[results[2].best_losses.index(results[2].history[1]["val_loss"])]
    assert all(torch.equal(last[k], epoch1[k]) for k in last)


@pytest.mark.parametrize("kind", ["affine", "rqs"])
def test_members_with_embeddings_of_their_own_mass_range(kind):
    """SIGMA: three members with their own m_jj range (their embeddings' lo, hi), event counts and seeds."""
    cfg = replace(SMALL, kind=kind, tail_bound=5.0)
    tc = replace(TRAIN, epochs=3)
    ranges, sizes, seeds = [(2.5, 4.0), (3.0, 5.0), (2.0, 6.5)], [700, 450, 520], [0, 7, 3]
    train = [_sigma_events(n, 10 + j, *r) for j, (n, r) in enumerate(zip(sizes, ranges))]
    val = [_sigma_events(n // 3, 20 + j, *r) for j, (n, r) in enumerate(zip(sizes, ranges))]
    embs = [FourierEmbedding(*r, **EMB) for r in ranges]
    stack = StackedFlow(cfg, 3, 1, 3, embs).init_from_seeds(seeds)
    results = fit_stack(stack, train, val, tc, seeds)
    for j, r in enumerate(ranges):
        assert (float(stack.member(j)._embedding_net.lo), float(stack.member(j)._embedding_net.hi)) == r
        _assert_same_fit(_single(cfg, tc, seeds[j], train[j], val[j], embs[j]), results[j], _sigma_events(200, 9, *r),
                         tol=1e-5)


@pytest.mark.parametrize("embedding", [False, True])
@pytest.mark.parametrize("kind", ["affine", "rqs"])
def test_from_members_and_member_round_trip(kind, embedding):
    cfg = replace(SMALL, kind=kind)
    flows = []
    for s in range(3):
        torch.manual_seed(s)
        f = ConditionalFlow(cfg, 3, 1, FourierEmbedding(-s, 1 + s, **EMB) if embedding else None)
        for b in f._transform._transforms:  # non-trivial batch-norm statistics
            b.running_mean.normal_()
            b.running_var.uniform_(0.5, 2.0)
        flows.append(f)
    stack = StackedFlow.from_members(flows)
    x, m = torch.randn(3, 100, 3), torch.rand(3, 100, 1)
    for train_mode in (False, True):  # eval: running statistics; train: batch statistics, updated
        stack.train(train_mode)
        lp = stack.log_prob(x, m)
        for j, f in enumerate(flows):
            torch.testing.assert_close(lp[j], f.train(train_mode).log_prob(x[j], m[j]), rtol=0, atol=1e-5)
    for j, f in enumerate(flows):
        back = stack.member(j)
        assert type(back) is ConditionalFlow and back.state_dict().keys() == f.state_dict().keys()
        assert all(torch.equal(back.state_dict()[k], v) for k, v in f.state_dict().items())
    assert ("_embedding_net.net.0.weight" in stack.member_state(0)) == embedding
    # subsets of members, as in the last steps of an epoch
    stack.eval()
    lp = stack.log_prob(x[[2, 0]], m[[2, 0]], members=torch.tensor([2, 0]))
    torch.testing.assert_close(lp[0], flows[2].eval().log_prob(x[2], m[2]), rtol=0, atol=1e-5)
    with torch.no_grad():  # the inverse (sampling) embeds the context too
        f = flows[1].eval()
        torch.testing.assert_close(stack.inverse(x, m)[0][1], f._transform.inverse(x[1], f.embed(m[1]))[0], rtol=0,
                                   atol=1e-5)
    # init_from_seeds: the weights DensityModel._build gives after the same seed (embedding reset first)
    stack.init_from_seeds([4, 0, 8])
    seed_everything(8)
    ref = _built(cfg, flows[2]._embedding_net if embedding else None).state_dict()
    assert all(torch.equal(stack.member_state(2)[k], v) for k, v in ref.items())


def test_other_embeddings_are_refused():
    with pytest.raises(InputError, match="FourierEmbedding"):
        StackedFlow(SMALL, 3, 1, 2, torch.nn.Linear(1, 4))
    with pytest.raises(InputError, match="one architecture"):  # members with other Fourier frequencies
        StackedFlow(SMALL, 3, 1, 2, [FourierEmbedding(0, 1, **EMB), FourierEmbedding(0, 1, **{**EMB, "n_freq": 5})])


@pytest.mark.parametrize("kind", ["affine", "rqs"])
def test_sampling_inverts_log_prob(kind):
    torch.manual_seed(1)
    stack = StackedFlow(replace(SMALL, kind=kind, tail_bound=3.0), 3, 1, 2)
    stack.running_mean.normal_()
    stack.running_var.uniform_(0.5, 2.0)
    m = torch.rand(2, 500, 1)
    xs = stack.sample(m, generator=torch.Generator().manual_seed(3))
    noise = torch.randn(2, 500, 3, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        z, logdet = stack(xs, m)
        _, logdet_inv = stack.inverse(noise, m)
        torch.testing.assert_close(z, noise, rtol=0, atol=1e-4)
        torch.testing.assert_close(logdet, -logdet_inv, rtol=0, atol=1e-4)
        lp = stack.log_prob(xs, m)
        torch.testing.assert_close(lp, -0.5 * (noise**2).sum(-1) - 1.5 * np.log(2 * np.pi) + logdet, rtol=0, atol=1e-4)
        assert not torch.allclose(xs, noise, atol=0.1)  # the flow is not the identity
        # member 1's sample is its single flow's inverse of the same noise
        x1 = stack.member(1).eval()._transform.inverse(noise[1], m[1])[0]
        torch.testing.assert_close(xs[1], x1, rtol=0, atol=1e-5)


def test_nan_in_one_member_names_it():
    names = [f"bkg_flow SR [3.3, 3.7] TeV n_sig 600 seed {s}" for s in range(3)]
    train = [_events(300, j) for j in range(3)]
    train[1][0][17, 1] = float("nan")
    stack = StackedFlow(SMALL, 3, 1, 3).init_from_seeds([0, 1, 2])
    with pytest.raises(TrainingDiverged) as err:
        fit_stack(stack, train, [_events(100, 5)] * 3, TRAIN, [0, 1, 2], names=names)
    assert str(err.value).startswith(f"{names[1]}: loss is not finite at epoch 0")
    assert names[0] not in str(err.value) and names[2] not in str(err.value)


class Killed(Exception):
    pass


def _killed_in_validation(monkeypatch, n):
    """fit_stack raises Killed in its n-th validation pass (so after the checkpoint of epoch n - 2);
    returns the list of validation passes started."""
    evaluate, calls = stacking._evaluate, []

    def dies(*args):
        calls.append(1)
        if len(calls) == n:
            raise Killed
        return evaluate(*args)

    monkeypatch.setattr(stacking, "_evaluate", dies)
    return calls


def _assert_same_results(results, ref):
    for a, b in zip(results, ref, strict=True):
        assert [(h["epoch"], h["train_loss"], h["val_loss"]) for h in a.history] == \
            [(h["epoch"], h["train_loss"], h["val_loss"]) for h in b.history]
        assert a.best_losses == b.best_losses
        for s, t in zip(a.best_states, b.best_states, strict=True):
            assert all(torch.equal(s[k], t[k]) for k in s)


@pytest.mark.parametrize("embedding", [False, True])
def test_resume_after_kill_matches_uninterrupted_run(tmp_path, monkeypatch, embedding):
    """Killed in the validation of epoch 2 (after the checkpoint of epoch 1), rerun: the same result.
    Member 1 stops early (patience 1, shifted validation events) before the kill."""
    tc = replace(TRAIN, epochs=4, patience=1)
    seeds = [2, 3]
    train = [_events(400, 30), _events(250, 31)]
    val = [_events(150, 32), _events(100, 33, shift=3.0)]
    emb = FourierEmbedding(0.0, 1.0, **EMB) if embedding else None
    full = fit_stack(StackedFlow(SMALL, 3, 1, 2, emb).init_from_seeds(seeds), train, val, tc, seeds)
    assert [len(r.history) for r in full] == [4, 2]
    ckpt = tmp_path / "stack.pt"
    calls = _killed_in_validation(monkeypatch, 3)
    with pytest.raises(Killed):
        fit_stack(StackedFlow(SMALL, 3, 1, 2, emb).init_from_seeds(seeds), train, val, tc, seeds, checkpoint=ckpt)
    resumed = fit_stack(StackedFlow(SMALL, 3, 1, 2, emb).init_from_seeds(seeds), train, val, tc, seeds,
                        checkpoint=ckpt)
    assert len(calls) == 3 + 2  # the rerun trained epochs 2 and 3 only
    _assert_same_results(resumed, full)


@pytest.mark.parametrize("change", ["options", "precision", "data"])
def test_checkpoint_of_other_inputs_is_discarded(tmp_path, monkeypatch, caplog, change):
    """Killed after the checkpoint of epoch 1, rerun with another learning rate, another precision or
    other events for one member: the checkpoint is discarded, a log line names what differs, the
    result is a fresh run's."""
    tc, seeds = replace(TRAIN, epochs=3), [2, 3]
    train, val = [_events(400, 30), _events(250, 31)], [_events(150, 32), _events(100, 33)]
    tc2, train2 = {"options": (replace(tc, lr=1e-3), train), "precision": (replace(tc, precision="bfloat16"), train),
                   "data": (tc, [train[0], _events(250, 34)])}[change]
    fresh = fit_stack(StackedFlow(SMALL, 3, 1, 2).init_from_seeds(seeds), train2, val, tc2, seeds)
    ckpt = tmp_path / "stack.pt"
    calls = _killed_in_validation(monkeypatch, 3)
    with pytest.raises(Killed):
        fit_stack(StackedFlow(SMALL, 3, 1, 2).init_from_seeds(seeds), train, val, tc, seeds, checkpoint=ckpt)
    with caplog.at_level(logging.INFO):
        rerun = fit_stack(StackedFlow(SMALL, 3, 1, 2).init_from_seeds(seeds), train2, val, tc2, seeds,
                          checkpoint=ckpt)
    assert f"checkpoint {ckpt} was made from another {'data' if change == 'data' else 'options'}; discarded" in caplog.text
    assert len(calls) == 3 + 3  # the rerun trained all 3 epochs
    _assert_same_results(rerun, fresh)


@pytest.mark.parametrize("kind, embedding", [("affine", False), ("rqs", False), ("affine", True)])
def test_bfloat16_training_is_reproducible_and_as_good(kind, embedding):
    """precision bfloat16 (the default config's): the same seeds give the same members bit for bit, the
    option acts (other weights than float32's), the best validation losses stay within 0.01 nats of
    float32's, and the trained flows evaluate in float32. With SIGMA's m_jj embedding too."""
    cfg = replace(SMALL, kind=kind, tail_bound=5.0)
    seeds, train, val = [2, 3], [_events(600, 40), _events(500, 41)], [_events(300, 42), _events(300, 43)]
    emb = FourierEmbedding(0.0, 1.0, **EMB) if embedding else None

    def trained(precision):
        stack = StackedFlow(cfg, 3, 1, 2, emb).init_from_seeds(seeds)
        return stack, fit_stack(stack, train, val, replace(TRAIN, precision=precision), seeds)

    stack, bf = trained("bfloat16")
    _, again = trained("bfloat16")
    _, fp = trained("float32")
    _assert_same_results(again, bf)
    assert any(not torch.equal(a.best_states[0][k], b.best_states[0][k]) for a, b in zip(bf, fp) for k in a.best_states[0])
    np.testing.assert_allclose([r.best_losses[0] for r in bf], [r.best_losses[0] for r in fp], rtol=0, atol=0.01)
    assert all(r.history[-1]["train_loss"] < r.history[0]["train_loss"] for r in bf)  # it trained
    stack.eval()
    assert stack.log_prob(torch.stack([v[0][:50] for v in val]), torch.stack([v[1][:50] for v in val])).dtype == torch.float32


def test_bfloat16_without_bfloat16_units_warns_and_bad_precision_is_refused(monkeypatch, caplog):
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    with caplog.at_level(logging.WARNING):
        fit_stack(StackedFlow(SMALL, 3, 1, 1).init_from_seeds([0]), [_events(200, 0)], [_events(100, 1)],
                  replace(TRAIN, epochs=1, precision="bfloat16"), [0])
    assert "stack of 1: precision bfloat16 on a CPU without bfloat16 matmul units" in caplog.text
    with pytest.raises(InputError, match="precision 'float16': expected float32 or bfloat16"):
        replace(TRAIN, precision="float16")
