"""Shared models trained as one stack equal the same models trained one by one (hepad.flows.stacked)."""

import numpy as np
import pytest
from toy_dijets_fixtures import TINY_FLOW, events

from hepad.resonant.background import sideband, sigma
from hepad.resonant.formats.table import Dijets

# members: (window, data seed, run seed), different sideband sizes
MEMBERS = [((3.3, 3.7), 0, 0), ((3.1, 3.5), 1, 1), ((3.5, 3.9), 0, 2)]
FLOW = dict(TINY_FLOW, epochs=3, batch_size=256, lr_schedule="cosine")


def data(seed):
    return Dijets.concat([events(3000 + 500 * seed, seed, 0), events(100, seed + 10, 1, shift=0.3, lo=3.4, hi=3.6)])


@pytest.mark.parametrize("kind", ["affine", "rqs"])
def test_stacked_sideband_flows_equal_separate_ones(kind):
    opts = dict(FLOW, kind=kind, batch_norm=kind == "affine")
    names = [f"bkg_flow SR {w} seed {s}" for w, _, s in MEMBERS]
    stacked = sideband.train_stack([data(d) for _, d, _ in MEMBERS], [w for w, _, _ in MEMBERS], opts,
                                   [s for _, _, s in MEMBERS], "cpu", names)
    probe = events(500, 99, 0)
    for (window, d, seed), (model, result), name in zip(MEMBERS, stacked, names):
        alone, alone_result = sideband.train(data(d), *window, opts, seed, "cpu", name)
        np.testing.assert_allclose([h["val_loss"] for h in result.history],
                                   [h["val_loss"] for h in alone_result.history], rtol=1e-5)
        # float32 training: batched vs single matmuls differ in rounding only (tests/shared/test_stacked.py)
        np.testing.assert_allclose(model.log_prob(probe.x, probe.mjj), alone.log_prob(probe.x, probe.mjj),
                                   rtol=1e-4, atol=1e-4)


def test_stacked_sigma_models_equal_separate_ones():
    """SIGMA's model: each member with its own m_jj embedding over its own data's range."""
    opts = dict(FLOW, embedding={"n_freq": 3, "hidden": 8, "out": 4})
    datas, seeds = [data(0), data(1)], [0, 5]
    names = [f"sigma all windows seed {s}" for s in seeds]
    stacked = sigma.train_stack(datas, None, opts, seeds, "cpu", names)
    probe = events(500, 99, 0)
    for d, seed, (model, result), name in zip(datas, seeds, stacked, names):
        alone, alone_result = sigma.train(d, None, None, opts, seed, "cpu", name)
        np.testing.assert_allclose([h["val_loss"] for h in result.history],
                                   [h["val_loss"] for h in alone_result.history], rtol=1e-5)
        np.testing.assert_allclose(model.log_prob(probe.x, probe.mjj), alone.log_prob(probe.x, probe.mjj),
                                   rtol=1e-4, atol=1e-4)
