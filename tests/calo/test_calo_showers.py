"""CaloGAN shower files: validation errors, round trip, helpers."""

import h5py
import numpy as np
import pytest

from hepad.calo.showers import (
    CELL_MM, N_VOXELS, Showers, deposited_energy, flat_voxels, layer_energies, read_showers, write_showers,
)
from hepad.errors import InputError


def _raw(n=4, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "layer_0": rng.exponential(10, (n, 3, 96)),
        "layer_1": rng.exponential(100, (n, 12, 12)),
        "layer_2": rng.exponential(1, (n, 12, 6)),
        "overflow": rng.exponential(1, (n, 3)),
        "energy": rng.uniform(1, 100, (n, 1)),
    }


def _write_raw(path, arrays):
    with h5py.File(path, "w") as f:
        for k, v in arrays.items():
            f.create_dataset(k, data=v)
    return path


def test_geometry_constants():
    assert N_VOXELS == 504
    assert CELL_MM == ((160.0, 5.0), (40.0, 40.0), (40.0, 80.0))


def test_round_trip(tmp_path):
    raw = _raw()
    s = read_showers(_write_raw(tmp_path / "in.h5", raw))
    write_showers(tmp_path / "out.h5", s, attrs={"seed": 7})
    back = read_showers(tmp_path / "out.h5")
    for a, b in zip(s.layers + (s.overflow,), back.layers + (back.overflow,)):
        assert a.dtype == b.dtype == np.float32
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(back.energy, raw["energy"][:, 0])
    with h5py.File(tmp_path / "out.h5") as f:
        assert f["energy"].shape == (4, 1) and f["layer_1"].attrs["unit"] == "MeV" and f.attrs["seed"] == 7
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.h5", "out.h5"]  # no temp file left


def test_helpers_consistent():
    raw = _raw(n=3)
    sh = Showers((raw["layer_0"], raw["layer_1"], raw["layer_2"]), raw["overflow"], raw["energy"][:, 0])
    flat = flat_voxels(sh)
    assert flat.shape == (3, 504)
    np.testing.assert_array_equal(flat[:, 288 + 5 * 12 + 7], raw["layer_1"][:, 5, 7])  # x-major order
    e = layer_energies(sh)
    np.testing.assert_allclose(e[:, 2], raw["layer_2"].sum(axis=(1, 2)))
    np.testing.assert_allclose(deposited_energy(sh), flat.sum(axis=1))
    np.testing.assert_allclose(deposited_energy(sh, with_overflow=True), flat.sum(axis=1) + raw["overflow"].sum(axis=1))
    again = Showers.from_flat(flat, sh.overflow, sh.energy)
    np.testing.assert_array_equal(again.layers[0], raw["layer_0"])
    both = Showers.concat([sh, sh[1:]])
    assert len(both) == 5 and both.layers[2].shape == (5, 12, 6)


@pytest.mark.parametrize(
    "key, value, words",
    [
        ("layer_1", None, ["layer_1", "missing"]),
        ("layer_1", np.ones((4, 12, 11)), ["layer_1", "(N,12,12)"]),
        ("energy", np.ones((4, 2)), ["energy", "(N,1)"]),
        ("overflow", np.ones((5, 3)), ["overflow", "5", "equal N"]),
        ("layer_2", -np.ones((4, 12, 6)), ["layer_2", "negative"]),
        ("layer_0", np.full((4, 3, 96), np.nan), ["layer_0", "NaN"]),
        ("energy", np.zeros((4, 1)), ["energy", "> 0"]),
    ],
)
def test_reader_errors_name_key(tmp_path, key, value, words):
    raw = _raw()
    if value is None:
        del raw[key]
    else:
        raw[key] = value
    with pytest.raises(InputError) as e:
        read_showers(_write_raw(tmp_path / "bad.h5", raw))
    msg = str(e.value)
    assert "bad.h5" in msg and all(w in msg for w in words), msg


def test_tiny_negative_round_off_clipped(tmp_path):
    raw = _raw()
    raw["layer_1"][0, 0, 0] = -1e-5  # MeV, below the documented 1 keV tolerance
    s = read_showers(_write_raw(tmp_path / "ok.h5", raw))
    assert s.layers[1][0, 0, 0] == 0.0


def test_missing_file_and_not_hdf5(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_showers(tmp_path / "nope.h5")
    (tmp_path / "text.h5").write_text("hello")
    with pytest.raises(InputError, match="HDF5"):
        read_showers(tmp_path / "text.h5")


def test_write_rejects_bad_showers_and_leaves_no_file(tmp_path):
    raw = _raw()
    raw["layer_0"][1, 2, 3] = np.nan
    s = Showers((raw["layer_0"], raw["layer_1"], raw["layer_2"]), raw["overflow"], raw["energy"][:, 0])
    with pytest.raises(InputError, match="layer_0"):
        write_showers(tmp_path / "x.h5", s)
    assert list(tmp_path.iterdir()) == []


def cli_error(capsys, argv, out):
    """`hepad argv` fails: exit 2, one `error:` line (returned), and the output's folder gains no file."""
    from hepad.cli import main

    out.parent.mkdir(parents=True, exist_ok=True)
    before = set(out.parent.iterdir())
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert set(out.parent.iterdir()) == before, "a failed step must leave nothing behind"
    assert err and err[-1].startswith("error: ")
    return err[-1]


def test_corrupt_compressed_chunk_is_one_line(tmp_path, capsys):
    raw = _raw(n=50)
    s = Showers((raw["layer_0"], raw["layer_1"], raw["layer_2"]), raw["overflow"], raw["energy"][:, 0])
    src = tmp_path / "f.hdf5"
    write_showers(src, s)  # gzip-compressed voxels
    with h5py.File(src, "r") as f:
        assert f["layer_0"].compression == "gzip"
        info = f["layer_0"].id.get_chunk_info(0)
    with open(src, "r+b") as fh:  # damage the compressed bytes of the first chunk
        fh.seek(info.byte_offset + info.size // 2)
        fh.write(b"\xff" * 16)
    with pytest.raises(InputError, match=r"f.hdf5: dataset /layer_0 is unreadable \(.*\); expected an intact HDF5"):
        read_showers(src)
    out = tmp_path / "out" / "o.h5"
    msg = cli_error(capsys, ["calo-prepare", "--input", str(src), "--out", str(out)], out)
    assert f"{src}: dataset /layer_0 is unreadable" in msg
