"""Bad input: a one-line error naming what is wrong, exit status 2, and no output left behind."""

import h5py
import numpy as np
import pytest

from hepad.cli import main
from hepad.errors import InputError
from hepad.resonant.formats.table import Dijets, write_table

def run_error(capsys, argv, out):
    """Run a failing step whose output goes to `out` (its folder exists and is empty): exit 2, one
    line on stderr, and nothing left in the folder (neither the output nor a temporary file)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    before = set(out.parent.iterdir())
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert set(out.parent.iterdir()) == before, "a failed step must leave nothing behind"
    assert err and err[-1].startswith("error: ") and len(err[-1]) < 500
    return err[-1]


def table(path, n=2000, label=0, lo=3.0, hi=4.0, seed=0):
    rng = np.random.default_rng(seed)
    write_table(path, Dijets(rng.uniform(lo, hi, n), rng.random((n, 4)), np.full(n, label, np.int8)))
    return str(path)


def test_missing_file(tmp_path, capsys):
    out = tmp_path / "out" / "x.h5"
    msg = run_error(capsys, ["prepare-dijets", "--input", str(tmp_path / "nope.h5"), "--format", "lhco",
                             "--out", str(out)], out)
    assert msg.startswith("error: ") and "nope.h5" in msg and "not found" in msg


def test_table_without_expected_columns(tmp_path, capsys):
    bad = tmp_path / "bad.h5"
    with h5py.File(bad, "w") as f:
        f["mjj"] = np.ones(10)
    out = tmp_path / "out" / "data.h5"
    msg = run_error(capsys, ["inject", "--background", str(bad), "--signal", table(tmp_path / "s.h5", label=1),
                             "--n-sig", "5", "--seed", "0", "--out", str(out)], out)
    assert "bad.h5" in msg and "missing column(s) mj1, dmj, tau21_1, tau21_2, label" in msg


def test_nan_features(tmp_path, capsys):
    bad = tmp_path / "nan.h5"
    table(bad)
    with h5py.File(bad, "r+") as f:
        f["tau21_1"][3] = np.nan
    out = tmp_path / "out" / "data.h5"
    msg = run_error(capsys, ["inject", "--background", str(bad), "--signal", table(tmp_path / "s.h5", label=1),
                             "--n-sig", "5", "--seed", "0", "--out", str(out)], out)
    assert "nan.h5" in msg and "1 events have NaN or inf in features" in msg


@pytest.mark.parametrize("window,match", [(("4.5", "4.9"), "outside the m_jj range"),
                                          (("3.40", "3.41"), "holds 0 events")])
def test_window_outside_range_or_empty(tmp_path, capsys, window, match):
    extra = table(tmp_path / "e.h5", n=20000)
    sig = table(tmp_path / "s.h5", n=500, label=1, lo=3.3, hi=3.7)
    out = tmp_path / "out" / "test.h5"
    gap = Dijets(np.r_[np.linspace(3.0, 3.39, 100), np.linspace(3.42, 4.0, 100)], np.zeros((200, 4)),
                 np.zeros(200, np.int8))
    write_table(tmp_path / "gap.h5", gap)
    src = str(tmp_path / "gap.h5") if "0 events" in match else extra
    msg = run_error(capsys, ["make-testset", "--extra-test", src, "--signal-test", sig, "--window", *window,
                             "--out", str(out)], out)
    assert match in msg and window[0].rstrip("0") in msg


def test_nsig_larger_than_pool(tmp_path, capsys):
    out = tmp_path / "out" / "data.h5"
    msg = run_error(capsys, ["inject", "--background", table(tmp_path / "b.h5"), "--signal",
                             table(tmp_path / "s.h5", n=50, label=1), "--n-sig", "60", "--seed", "0",
                             "--out", str(out)], out)
    assert "n_sig = 60 exceeds the 50 signal events" in msg and "s.h5" in msg


def test_window_without_test_signal(tmp_path, capsys):
    """A window the signal pool does not reach cannot give a signal efficiency: say so, write nothing."""
    out = tmp_path / "out" / "test.h5"
    msg = run_error(capsys, ["make-testset", "--extra-test", table(tmp_path / "e.h5", n=20000), "--signal-test",
                             table(tmp_path / "s.h5", n=500, label=1, lo=3.3, hi=3.6), "--window", "3.6", "3.9",
                             "--out", str(out)], out)
    assert "s.h5: 0 signal events in the window [3.6, 3.9] TeV" in msg
