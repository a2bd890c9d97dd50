"""fit_mlp_stack: K MLPClassifiers trained as one stack are K MLPClassifier.fit runs.

Tolerances. A stack of one is MLPClassifier.fit bit for bit on the CPU (its Linear layers make
nn.Linear's gemm calls, forward and backward; Adam steps views laid out as the single MLP's
parameters), so that comparison is exact. With K > 1 the batched gemm of the 64 -> 1 output layer is
not the matrix-vector kernel one MLP gets (measured: ulp differences, up to 2e-7 in weights, losses
and predictions after 4 epochs); allowed 1e-5, as for the stacked flows.
"""

import numpy as np
import pytest
import torch

from hepad.classifiers.mlp import MLPClassifier
from hepad.classifiers.stacked import MLPMember, fit_mlp_stack
from hepad.errors import InputError, TrainingDiverged

OPTS = dict(epochs=4, batch_size=128, lr=3e-3, keep_best=2, device="cpu")



def _data(n, seed, shift=0.0):
    """x (n, 4) with class 1 (30%) shifted, per-event weights."""
    r = np.random.default_rng(seed)
    y = (r.random(n) < 0.3).astype(np.float64)
    x = r.normal(size=(n, 4)) + 0.8 * y[:, None] + shift
    return x, y, r.uniform(0.5, 1.5, n)


def _members(sizes, seeds, opts=OPTS, val_shift=()):
    return [MLPMember(*_data(n, 10 + j), *_data(n // 3, 20 + j, 2.0 if j in val_shift else 0.0), opts, s,
                      f"cwola SR [3.3, 3.7] TeV seed {s}") for j, (n, s) in enumerate(zip(sizes, seeds))]


def _single(m: MLPMember) -> MLPClassifier:
    return MLPClassifier(seed=m.seed, **m.options).fit(m.x, m.y, m.w, m.x_val, m.y_val, m.w_val, name=m.name)


def _assert_same_classifier(c, ref, x, tol=0.0):
    assert [h["epoch"] for h in c.history] == [h["epoch"] for h in ref.history]
    for key in ("train_loss", "val_loss"):
        np.testing.assert_allclose([h[key] for h in c.history], [h[key] for h in ref.history], rtol=0, atol=tol)
    np.testing.assert_allclose(c.best_losses, ref.best_losses, rtol=0, atol=tol)
    for a, b in zip(c.states, ref.states, strict=True):
        assert a.keys() == b.keys()
        for k in a:
            torch.testing.assert_close(a[k], b[k], rtol=0, atol=tol)
    np.testing.assert_allclose(c.predict(x), ref.predict(x), rtol=0, atol=tol)
    np.testing.assert_array_equal([c.mean, c.std], [ref.mean, ref.std])


def test_stack_of_one_is_mlp_classifier_fit():
    (m,) = _members([700], [5])  # 6 batches, the last one partial
    (c,) = fit_mlp_stack([m])
    assert type(c) is MLPClassifier and c.history[-1]["train_loss"] < c.history[0]["train_loss"]
    _assert_same_classifier(c, _single(m), _data(300, 99)[0])


def test_four_members_with_own_data_seeds_and_early_stopping(tmp_path):
    """Different event counts, seeds; member 2 is validated on shifted events: it stops early (patience 1)."""
    members = _members([700, 450, 300, 520], [0, 7, 3, 11], {**OPTS, "patience": 1}, val_shift=(2,))
    files = [tmp_path / f"loss{j}.csv" for j in range(4)]
    clfs = fit_mlp_stack(members, loss_files=files)
    assert [len(c.history) for c in clfs] == [4, 4, 2, 4]
    assert len(files[2].read_text().splitlines()) == 1 + 2
    for m, c in zip(members, clfs):
        _assert_same_classifier(c, _single(m), _data(300, 99)[0], tol=1e-5)


def test_nan_in_one_member_names_it():
    members = _members([300, 300, 300], [0, 1, 2])
    members[1].x[17, 2] = np.nan
    with pytest.raises(TrainingDiverged) as err:
        fit_mlp_stack(members)
    assert str(err.value).startswith(f"{members[1].name}: loss is not finite at epoch 0")
    assert members[0].name not in str(err.value) and members[2].name not in str(err.value)


def test_members_need_one_architecture_and_options():
    members = _members([300, 300], [0, 1])
    with pytest.raises(InputError, match="other options"):
        fit_mlp_stack([members[0], members[1]._replace(options={**OPTS, "lr": 1e-3})])


def test_resume_after_kill_matches_uninterrupted_run(tmp_path, monkeypatch):
    """Killed in the validation of epoch 2 (after the checkpoint of epoch 1), rerun: the same classifiers."""
    import hepad.stacking as stacked

    class Killed(Exception):
        pass

    members = _members([400, 250], [2, 3], {**OPTS, "epochs": 3})
    full = fit_mlp_stack(members)
    evaluate, calls = stacked._evaluate, []

    def dies_in_epoch_2(*args):
        calls.append(1)
        if len(calls) == 3:
            raise Killed
        return evaluate(*args)

    monkeypatch.setattr(stacked, "_evaluate", dies_in_epoch_2)
    with pytest.raises(Killed):
        fit_mlp_stack(members, checkpoint=tmp_path / "mlps.pt")
    resumed = fit_mlp_stack(members, checkpoint=tmp_path / "mlps.pt")
    assert len(calls) == 3 + 1  # the rerun trained epoch 2 only
    for c, ref in zip(resumed, full, strict=True):
        _assert_same_classifier(c, ref, _data(100, 99)[0])
