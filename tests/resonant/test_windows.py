"""Windows, sidebands, injection and the fixed sample partition."""

import numpy as np
import pytest

from hepad.errors import InputError
from hepad.resonant.formats.table import Dijets
from hepad.resonant.windows import PRESETS, check_window, inject, resolve_windows, short_sidebands, split_pools


def sample(n, label, lo=2.5, hi=4.5, seed=0):
    rng = np.random.default_rng(seed)
    return Dijets(rng.uniform(lo, hi, n), rng.normal(size=(n, 4)), np.full(n, label, dtype=np.int8))


def test_lhco_preset_is_the_literature_scan():
    w = resolve_windows("lhco9")
    assert len(w) == 9 and w[0] == (2.9, 3.3) and w[4] == (3.3, 3.7) and w[-1] == (3.7, 4.1)
    assert all(round(hi - lo, 6) == 0.4 for lo, hi in w)
    assert resolve_windows([[3.3, 3.7]]) == PRESETS["standard"]


@pytest.mark.parametrize("spec,match", [("lhco10", "unknown preset"), ([[3.7, 3.3]], "lo >= hi")])
def test_bad_windows(spec, match):
    with pytest.raises(InputError, match=match):
        resolve_windows(spec)


def test_short_sidebands():
    (a, b), (c, d) = short_sidebands(3.3, 3.7, 0.2)
    assert (a, b, c, d) == pytest.approx((3.1, 3.3, 3.7, 3.9))


def test_window_outside_range_or_empty():
    d = sample(1000, 0, 3.0, 4.0)
    with pytest.raises(InputError, match=r"outside the m_jj range"):
        check_window(d, 4.1, 4.5, "f.h5")
    gap = d[~d.in_range(3.4, 3.6)]
    with pytest.raises(InputError, match=r"holds 0 events"):
        check_window(gap, 3.4, 3.6, "f.h5")
    check_window(d, 3.3, 3.7, "f.h5")


def test_split_pools_is_a_disjoint_partition_and_fixed():
    events = Dijets.concat([sample(5000, 0), sample(1000, 1, seed=1)])
    extra = sample(2000, -1, seed=2)
    f = {"inject": 0.5, "train": 0.3, "test": 0.2}
    p = split_pools(events, extra, f, 0.5, seed=7)
    assert [len(p[k]) for k in ("signal_inject", "signal_train", "signal_test")] == [500, 300, 200]
    sig = np.concatenate([p[k].mjj for k in ("signal_inject", "signal_train", "signal_test")])
    assert np.array_equal(np.sort(sig), np.sort(events.mjj[events.label == 1]))
    assert len(p["extra_train"]) + len(p["extra_test"]) == 2000
    assert not np.intersect1d(p["extra_train"].mjj, p["extra_test"].mjj).size
    assert (p["extra_test"].label == 0).all()  # the extra file is background by construction
    q = split_pools(events, extra, f, 0.5, seed=7)
    assert np.array_equal(p["signal_test"].mjj, q["signal_test"].mjj)


def test_inject_draws_n_sig_by_seed_and_refuses_too_many():
    bkg, pool = sample(3000, 0), sample(100, 1, seed=1)
    a, b, c = inject(bkg, pool, 40, seed=1), inject(bkg, pool, 40, seed=1), inject(bkg, pool, 40, seed=2)
    assert (a.label == 1).sum() == 40 and len(a) == 3040
    assert np.array_equal(a.mjj, b.mjj) and not np.array_equal(np.sort(a.mjj), np.sort(c.mjj))
    assert len(inject(bkg, pool, 0, seed=1)) == 3000
    with pytest.raises(InputError, match="n_sig = 101 exceeds the 100 signal events"):
        inject(bkg, pool, 101, seed=1)
