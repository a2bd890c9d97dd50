import os
from pathlib import Path

import h5py
import numpy as np
import pytest

from hepad.errors import InputError
from hepad.resonant.formats.features import lhco_to_dijets
from hepad.resonant.formats.lhco import LHCO_COLUMNS, read_lhco_arrays, read_lhco_features, read_lhco_raw, write_lhco_features

pd = pytest.importorskip("pandas")
pytest.importorskip("tables")

LHCO_SR = Path(os.environ.get("HEPAD_LHCO_SR", Path(__file__).parents[2] / ".." / "shared" / "data" / "lhco-sr")).resolve()


@pytest.fixture
def raw15():
    rng = np.random.default_rng(4)
    a = rng.normal(0, 800, (50, 15))
    a[:, [3, 10]] = rng.uniform(20, 700, (50, 2))  # jet masses
    a[:, [4, 5, 6, 11, 12, 13]] = rng.uniform(0.01, 0.9, (50, 6))  # taus
    a[:, 14] = rng.integers(0, 2, 50)
    return a


def frame(a, columns=LHCO_COLUMNS):
    return pd.DataFrame(a, columns=list(columns))


def assert_same_events(d, raw15):
    ref = lhco_to_dijets(raw15[:, :14], raw15[:, 14])
    np.testing.assert_array_equal(d.mjj, ref.mjj)
    np.testing.assert_array_equal(d.x, ref.x)
    np.testing.assert_array_equal(d.label, ref.label)


@pytest.mark.parametrize(
    "options",
    [{}, {"format": "table"}, {"format": "table", "data_columns": ["mj2", "label"]}],
    ids=["fixed", "table", "table-data-columns"],
)
def test_pandas_files_read_like_the_array(tmp_path, raw15, options):
    key = "k" + np.random.default_rng().bytes(4).hex()  # the reader must not rely on the key
    path = tmp_path / "events.h5"
    frame(raw15).to_hdf(path, key=key, **options)
    assert_same_events(read_lhco_features(path), raw15)


def test_column_order_and_integer_label_do_not_matter(tmp_path, raw15):
    df = frame(raw15).astype({"label": int})[list(LHCO_COLUMNS[::-1])]
    df.to_hdf(tmp_path / "e.h5", key="df")
    assert_same_events(read_lhco_features(tmp_path / "e.h5"), raw15)


def test_file_without_label_column(tmp_path, raw15):
    frame(raw15[:, :14], LHCO_COLUMNS[:14]).to_hdf(tmp_path / "qcd.h5", key="df")
    d = read_lhco_features(tmp_path / "qcd.h5")
    np.testing.assert_array_equal(d.label, np.full(len(raw15), -1))
    np.testing.assert_array_equal(d.mjj, lhco_to_dijets(raw15[:, :14], None).mjj)


def test_missing_column_is_named(tmp_path, raw15):
    frame(raw15).drop(columns=["tau2j1"]).to_hdf(tmp_path / "e.h5", key="df")
    with pytest.raises(InputError, match=r"tau2j1; expected pxj1 .* label") as err:
        read_lhco_features(tmp_path / "e.h5")
    assert "\n" not in str(err.value)


def test_nan_rows_are_counted(tmp_path, raw15):
    raw15[[3, 7], [0, 12]] = [np.nan, np.inf]
    frame(raw15).to_hdf(tmp_path / "e.h5", key="df", format="table")
    with pytest.raises(InputError, match="2 of 50 rows contain NaN or inf"):
        read_lhco_features(tmp_path / "e.h5")


def test_two_tables_are_refused(tmp_path, raw15):
    frame(raw15).to_hdf(tmp_path / "e.h5", key="first")
    frame(raw15).to_hdf(tmp_path / "e.h5", key="second", format="table")
    with pytest.raises(InputError, match=r"2 pandas tables \(/first, /second\)"):
        read_lhco_features(tmp_path / "e.h5")


def test_no_table_missing_file_and_not_hdf5(tmp_path):
    with h5py.File(tmp_path / "empty.h5", "w") as f:
        f["data"] = np.zeros(3)
    with pytest.raises(InputError, match=r"no pandas table, keys \['data'\]"):
        read_lhco_features(tmp_path / "empty.h5")
    with pytest.raises(InputError, match="file not found"):
        read_lhco_features(tmp_path / "absent.h5")
    (tmp_path / "text.h5").write_text("not hdf5")
    with pytest.raises(InputError, match="not a readable HDF5 file"):
        read_lhco_features(tmp_path / "text.h5")


def test_bad_labels_are_refused(tmp_path, raw15):
    raw15[0, 14] = 2
    frame(raw15).to_hdf(tmp_path / "e.h5", key="df")
    with pytest.raises(InputError, match="1 labels outside"):
        read_lhco_features(tmp_path / "e.h5")


@pytest.mark.parametrize("key", ["df", "deep/path/x"])
def test_our_writer_is_read_by_pandas(tmp_path, raw15, key):
    path = tmp_path / "out" / "events.h5"
    write_lhco_features(path, raw15, key=key)
    pd.testing.assert_frame_equal(pd.read_hdf(path), frame(raw15), check_index_type=False)
    assert pd.read_hdf(path).index.tolist() == list(range(len(raw15)))
    raw, label = read_lhco_raw(path)
    np.testing.assert_array_equal(raw, raw15[:, :14])
    np.testing.assert_array_equal(label, raw15[:, 14])
    assert [p.name for p in path.parent.iterdir()] == ["events.h5"]  # no temporary left behind


# ---------------------------------------------------------------- preprocessed .npy layout


def test_npy_reader_on_real_signal_region_files():
    if not LHCO_SR.is_dir():
        pytest.skip(f"{LHCO_SR} absent (set HEPAD_LHCO_SR)")
    a = np.load(LHCO_SR / "innerdata_train.npy")
    d = read_lhco_arrays(LHCO_SR / "innerdata_train.npy")
    assert len(d) == 60_000 and d.x.shape == (60_000, 4)
    np.testing.assert_array_equal(d.mjj, a[:, 0])
    np.testing.assert_array_equal(d.x, a[:, 1:5])
    assert int((d.label == 1).sum()) == 395 and set(np.unique(d.label)) == {0, 1}
    assert d.in_range(3.3, 3.7).all()
    sig = read_lhco_arrays(LHCO_SR / "innerdata_extrasig_val.npy")
    assert len(sig) == 27_264 and (sig.label == 1).all()
    assert 0.47 < np.median(sig.x[:, 0] + sig.x[:, 1]) < 0.53  # X(500 GeV) is the heavier jet


def test_npy_reader_errors(tmp_path):
    np.save(tmp_path / "five.npy", np.zeros((4, 5)))
    with pytest.raises(InputError, match=r"shape \(4, 5\); expected \(N, 6\)"):
        read_lhco_arrays(tmp_path / "five.npy")
    np.save(tmp_path / "flat.npy", np.zeros(6))
    with pytest.raises(InputError, match=r"shape \(6,\)"):
        read_lhco_arrays(tmp_path / "flat.npy")
    a = np.zeros((4, 6))
    a[2, 3] = np.nan
    np.save(tmp_path / "nan.npy", a)
    with pytest.raises(InputError, match="1 of 4 rows contain NaN"):
        read_lhco_arrays(tmp_path / "nan.npy")
    with pytest.raises(InputError, match="file not found"):
        read_lhco_arrays(tmp_path / "absent.npy")
