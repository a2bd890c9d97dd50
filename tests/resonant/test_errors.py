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


def test_a_window_outside_the_data_is_reported_when_the_samples_are_split(tmp_path, capsys):
    """Before any training job: split_samples checks every window of the scan against the events."""
    events = Dijets.concat([Dijets(np.linspace(3.0, 4.0, 2000), np.zeros((2000, 4)), np.zeros(2000, np.int8)),
                            Dijets(np.linspace(3.3, 3.7, 500), np.zeros((500, 4)), np.ones(500, np.int8))])
    write_table(tmp_path / "events.h5", events)
    out = tmp_path / "pools" / "background.h5"
    argv = ["split-samples", "--events", str(tmp_path / "events.h5"), "--extra", table(tmp_path / "x.h5"),
            "--outdir", str(out.parent), "--signal-fractions", "0.5", "0.3", "0.2", "--extra-test-fraction", "0.5",
            "--seed", "1", "--windows", "3.3", "3.7", "3.9", "4.3"]
    msg = run_error(capsys, argv, out)
    assert "events.h5 (background): window [3.9, 4.3] TeV lies outside the m_jj range [3.000, 4.000] TeV" in msg
    assert main(argv[:-2]) == 0 and out.exists()  # the windows inside the range pass


def corrupt_first_chunk(path, key):
    """Overwrite bytes in the middle of the first (compressed) chunk of dataset `key`."""
    with h5py.File(path, "r") as f:
        assert f[key].compression == "gzip"
        info = f[key].id.get_chunk_info(0)
    with open(path, "r+b") as fh:
        fh.seek(info.byte_offset + info.size // 2)
        fh.write(b"\xff" * 16)
    return str(path)


def lhco_raw(n, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.normal(0, 900, (n, 15))
    a[:, [3, 10]] = rng.uniform(20, 600, (n, 2))
    a[:, [4, 5, 6, 11, 12, 13]] = rng.uniform(0.05, 0.9, (n, 6))
    a[:, 14] = 0
    return a


def prepare(tmp_path, src, fmt):
    out = tmp_path / "out" / "events.h5"
    return ["prepare-dijets", "--input", str(src), "--format", fmt, "--out", str(out)], out


def test_empty_npy_file(tmp_path, capsys):
    (tmp_path / "ev.npy").write_bytes(b"")
    msg = run_error(capsys, *prepare(tmp_path, tmp_path / "ev.npy", "arrays"))
    assert "ev.npy: empty file (0 bytes); expected a .npy array of shape (N, 6)" in msg


def test_truncated_npy_file(tmp_path, capsys):
    np.save(tmp_path / "ev.npy", np.ones((100, 6)))
    data = (tmp_path / "ev.npy").read_bytes()
    (tmp_path / "ev.npy").write_bytes(data[: len(data) // 2])
    msg = run_error(capsys, *prepare(tmp_path, tmp_path / "ev.npy", "arrays"))
    assert "ev.npy: not a numeric .npy array" in msg and "expected shape (N, 6)" in msg


@pytest.mark.parametrize("fmt", ["arrays", "lhco"])
def test_events_file_without_events(tmp_path, capsys, fmt):
    from hepad.resonant.formats.lhco import write_lhco_features

    src = tmp_path / ("ev.npy" if fmt == "arrays" else "ev.h5")
    np.save(src, np.zeros((0, 6))) if fmt == "arrays" else write_lhco_features(src, lhco_raw(0))
    msg = run_error(capsys, *prepare(tmp_path, src, fmt))
    assert f"{src}: no events (0 rows) in this {fmt} file; expected at least one event" in msg


def test_root_file_without_dijet_events(tmp_path, capsys):
    ak, uproot = pytest.importorskip("awkward"), pytest.importorskip("uproot")
    njet = np.array([1, 0, 1])
    jets = ak.zip({f: ak.unflatten(np.ones(2), njet) for f in ("pt", "eta", "phi", "m", "tau1", "tau2", "tau3")})
    with uproot.recreate(tmp_path / "ev.root") as f:
        f.mktree("events", {"jet": jets.type.content})
        f["events"].extend({"jet": jets})
    msg = run_error(capsys, *prepare(tmp_path, tmp_path / "ev.root", "root"))
    assert f"{tmp_path / 'ev.root'}: no events with two or more jets in this root file" in msg


def test_corrupt_chunk_in_lhco_features_file(tmp_path, capsys):
    from hepad.resonant.formats.lhco import write_lhco_features

    src = tmp_path / "ev.h5"
    write_lhco_features(src, lhco_raw(5000))
    with h5py.File(src, "r+") as f:  # the same frame, its values block gzip-compressed as pandas can write it
        g = f["df"]
        values, attrs = g["block0_values"][()], dict(g["block0_values"].attrs)
        del g["block0_values"]
        ds = g.create_dataset("block0_values", data=values, compression="gzip", chunks=(1000, 15))
        ds.attrs.update(attrs)
    corrupt_first_chunk(src, "df/block0_values")
    msg = run_error(capsys, *prepare(tmp_path, src, "lhco"))
    assert f"{src}: dataset /df/block0_values is unreadable (" in msg and "expected an intact HDF5 file" in msg


def test_corrupt_chunk_in_dijet_table(tmp_path, capsys):
    bad = tmp_path / "bkg.h5"
    rng = np.random.default_rng(0)
    with h5py.File(bad, "w") as f:  # the canonical table, gzip-compressed
        for c in ("mjj", "mj1", "dmj", "tau21_1", "tau21_2"):
            f.create_dataset(c, data=rng.uniform(3, 4, 20000).astype(np.float32), compression="gzip")
        f.create_dataset("label", data=np.zeros(20000, np.int8), compression="gzip")
    corrupt_first_chunk(bad, "tau21_1")
    out = tmp_path / "out" / "data.h5"
    msg = run_error(capsys, ["inject", "--background", str(bad), "--signal", table(tmp_path / "s.h5", label=1),
                             "--n-sig", "5", "--seed", "0", "--out", str(out)], out)
    assert f"{bad}: dataset /tau21_1 is unreadable" in msg


def test_output_folder_cannot_be_made(tmp_path, capsys):
    """The output's folder would have to be made under a file (chmod does not stop root): one line naming it."""
    np.save(tmp_path / "ev.npy", np.c_[np.full(10, 3.5), np.full((10, 4), 0.1), np.zeros(10)])
    (tmp_path / "afile").write_text("a file, not a folder")
    out = tmp_path / "afile" / "events.h5"
    argv = ["prepare-dijets", "--input", str(tmp_path / "ev.npy"), "--format", "arrays", "--out", str(out)]
    msg = run_error(capsys, argv, tmp_path / "afile")  # nothing new in tmp_path either
    assert f"{out}: cannot write this output ({tmp_path / 'afile'} is a file, not a folder)" in msg


def test_options_not_json(tmp_path, capsys):
    out = tmp_path / "out" / "model.pt"
    msg = run_error(capsys, ["train", "--method", "iad", "--window", "3.3", "3.7", "--window-index", "0", "--options",
                             "{epochs: 3", "--seed", "0", "--kfold", "2", "--fit-width", "0.4", "--model", str(out),
                             "--info", str(out.with_suffix(".json")), "--checkpoint", str(out) + ".ckpt"], out)
    assert "--options '{epochs: 3': not valid JSON" in msg and "expected a JSON object" in msg
