"""Input adapters for the LHC Olympics 2020 R&D data set (and the toy that mimics it).

The published features file is a pandas DataFrame written with `DataFrame.to_hdf` under an
undocumented key. We read it with h5py alone by recognising the two layouts pandas writes:
  'fixed': a group with axis0 (column names), axis1 (index), blockN_items / blockN_values (rows x items)
  'table': a group with a compound dataset `table` (fields `index`, `values_block_N`, data columns);
           the column names of field F are a protocol-0 pickled list in the attribute `F_kind`.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import h5py
import numpy as np

from hepad.errors import InputError
from hepad.resonant.formats.features import KINEMATIC_COLUMNS, lhco_to_dijets
from hepad.io.atomic import atomic_path
from hepad.io.hdf5 import open_hdf5, read
from hepad.resonant.formats.table import COLUMNS, Dijets

LHCO_COLUMNS = KINEMATIC_COLUMNS + ("label",)
ALLOWED_LABELS = (-1, 0, 1)


# ---------------------------------------------------------------- pandas HDF5 layouts (h5py only)


class _NamesUnpickler(pickle.Unpickler):
    """Unpickles plain lists/tuples of strings only: any class or function reference is refused."""

    def find_class(self, module, name):
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def _names(attr) -> list[str]:
    raw = attr.tobytes() if isinstance(attr, np.ndarray) else bytes(attr)
    return [str(n) for n in _NamesUnpickler(io.BytesIO(raw), encoding="utf-8").load()]


def _decode(values) -> list[str]:
    return [v.decode() if isinstance(v, bytes) else str(v) for v in values]


def _is_fixed_frame(g: h5py.Group) -> bool:
    return "axis0" in g and "block0_items" in g and "block0_values" in g


def _is_table_frame(g: h5py.Group) -> bool:
    t = g.get("table")
    return isinstance(t, h5py.Dataset) and t.dtype.names is not None and "index" in t.dtype.names


def _find_frames(f: h5py.File) -> list[str]:
    found = []
    f.visititems(
        lambda name, obj: found.append("/" + name)
        if isinstance(obj, h5py.Group) and (_is_fixed_frame(obj) or _is_table_frame(obj))
        else None
    )
    return found


def _fixed_columns(g: h5py.Group) -> dict[str, tuple[str, int]]:
    """name -> (values dataset, position) for a 'fixed' frame; blocks are (rows, items) on disk."""
    cols, i = {}, 0
    while f"block{i}_items" in g:
        for j, name in enumerate(_decode(read(g[f"block{i}_items"]))):
            cols[name] = (f"block{i}_values", j)
        i += 1
    return cols


def _table_columns(g: h5py.Group) -> dict[str, tuple[str, int | None]]:
    """name -> (field of `table`, position or None for a scalar data column) for a 'table' frame."""
    t = g["table"]
    cols = {}
    for field in t.dtype.names:
        if field == "index":
            continue
        kind = t.attrs.get(f"{field}_kind")
        names = _names(kind) if kind is not None else [field]
        for j, name in enumerate(names):
            cols[name] = (field, j if t.dtype[field].shape else None)
    return cols


def _read_block(ds: h5py.Dataset) -> np.ndarray:
    """(rows, items): pandas stores blocks transposed and says so in the `transposed` attribute."""
    return read(ds) if ds.attrs.get("transposed", False) else read(ds).T


def _read_frame(g: h5py.Group, wanted: list[str]) -> dict[str, np.ndarray]:
    fixed = _is_fixed_frame(g)
    where = _fixed_columns(g) if fixed else _table_columns(g)
    sources = {where[c][0] for c in wanted}  # each block / field read once
    data = {s: _read_block(g[s]) if fixed else read(g["table"], sel=s) for s in sources}
    return {c: data[s] if j is None else data[s][:, j] for c, (s, j) in ((c, where[c]) for c in wanted)}


def _frame_column_names(g: h5py.Group) -> list[str]:
    return list(_fixed_columns(g) if _is_fixed_frame(g) else _table_columns(g))


# ---------------------------------------------------------------- public readers


def _check_finite_rows(values: np.ndarray, path: Path) -> None:
    bad = ~np.isfinite(values).all(axis=1)
    if bad.any():
        raise InputError(f"{path}: {int(bad.sum())} of {len(values)} rows contain NaN or inf; expected finite values")


def _check_labels(label: np.ndarray, path: Path) -> None:
    bad = ~np.isin(label, ALLOWED_LABELS)
    if bad.any():
        raise InputError(
            f"{path}: {int(bad.sum())} labels outside {ALLOWED_LABELS} (e.g. {label[bad][0]}); "
            "expected 1 signal, 0 background, -1 unknown"
        )


def read_lhco_raw(path: str | Path) -> tuple[np.ndarray, np.ndarray | None]:
    """The 14 kinematic columns (N, 14) in GeV and the label column (None if absent)."""
    path = Path(path)
    with open_hdf5(path, "the LHCO R&D features file (pandas HDF5)") as f:
        frames = _find_frames(f)
        if len(frames) != 1:
            what = f"{len(frames)} pandas tables ({', '.join(frames)})" if frames else "no pandas table"
            raise InputError(f"{path}: found {what}, keys {list(f.keys())}; expected exactly one DataFrame")
        g = f[frames[0]]
        try:
            present = _frame_column_names(g)
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as e:
            raise InputError(f"{path}: unreadable column names in {frames[0]} ({e})") from None
        missing = [c for c in KINEMATIC_COLUMNS if c not in present]
        if missing:
            raise InputError(
                f"{path}: table {frames[0]} lacks column(s) {', '.join(missing)}; "
                f"expected {' '.join(LHCO_COLUMNS)} (label optional)"
            )
        wanted = list(KINEMATIC_COLUMNS) + (["label"] if "label" in present else [])
        cols = _read_frame(g, wanted)
    values = np.stack([np.asarray(cols[c], dtype=np.float64) for c in wanted], axis=1)
    _check_finite_rows(values, path)
    label = values[:, 14] if "label" in cols else None
    if label is not None:
        _check_labels(label, path)
    return values[:, :14], label


def read_lhco_features(path: str | Path) -> Dijets:
    """Dijet features (mjj, [mj1, dmj, tau21_1, tau21_2], label) of an LHCO R&D features file."""
    raw, label = read_lhco_raw(path)
    return lhco_to_dijets(raw, label)


def read_lhco_arrays(path: str | Path) -> Dijets:
    """Preprocessed .npy events: (N, 6) = [mjj (TeV), mj1, mj2 - mj1, tau21_1, tau21_2, label]."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found; expected a .npy array of shape (N, 6)")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: empty file (0 bytes); expected a .npy array of shape (N, 6)")
    try:
        a = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise InputError(f"{path}: not a numeric .npy array ({e}); expected shape (N, 6)") from None
    if a.ndim != 2 or a.shape[1] != len(COLUMNS):
        raise InputError(f"{path}: array of shape {a.shape}; expected (N, 6) = {', '.join(COLUMNS)}")
    a = a.astype(np.float64)
    _check_finite_rows(a, path)
    _check_labels(a[:, -1], path)
    return Dijets(a[:, 0].copy(), a[:, 1:5].copy(), a[:, 5].astype(np.int8))


# ---------------------------------------------------------------- writer (pandas 'fixed' layout)


def _pytables_attrs(obj, cls: str, **extra) -> None:
    """The PyTables bookkeeping attributes pandas.read_hdf relies on.

    PyTables returns str only for UTF-8 fixed-length string attributes (plain bytes otherwise);
    `name="N."` is PyTables' pickled None, stored as ASCII like PyTables does.
    """
    attrs = {"CLASS": cls, "VERSION": "1.0" if cls == "GROUP" else "2.4", **extra}
    for k, v in attrs.items():
        if isinstance(v, str) and k != "name":
            v = np.array(v.encode(), dtype=h5py.string_dtype("utf-8", len(v.encode())))
        elif isinstance(v, str):
            v = np.bytes_(v)
        obj.attrs.create(k, v)


def write_lhco_features(path: str | Path, raw15: np.ndarray, key: str = "df") -> None:
    """Write (N, 15) events (GeV, LHCO_COLUMNS order, label last) as the DataFrame pandas would write.

    One float64 block in the 'fixed' layout, so `pandas.read_hdf(path)` returns the same frame.
    """
    raw15 = np.asarray(raw15, dtype=np.float64)
    if raw15.ndim != 2 or raw15.shape[1] != len(LHCO_COLUMNS):
        raise ValueError(f"expected raw15 of shape (N, {len(LHCO_COLUMNS)}), got {raw15.shape}")
    names = np.array([c.encode() for c in LHCO_COLUMNS])
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        _pytables_attrs(f, "GROUP", PYTABLES_FORMAT_VERSION="2.1")
        g = f.create_group(key)
        _pytables_attrs(
            g, "GROUP", pandas_type="frame", ndim=np.int64(2), nblocks=np.int64(1), encoding="UTF-8",
            errors="strict", axis0_variety="regular", axis1_variety="regular",
            block0_items_variety="regular",
        )  # fmt: skip
        for name, data, kind in (("axis0", names, "string"), ("block0_items", names, "string"),
                                 ("axis1", np.arange(len(raw15), dtype=np.int64), "integer")):  # fmt: skip
            _pytables_attrs(g.create_dataset(name, data=data), "ARRAY", FLAVOR="numpy", kind=kind,
                            name="N.", transposed=np.uint8(1))  # fmt: skip
        _pytables_attrs(g.create_dataset("block0_values", data=raw15), "ARRAY", FLAVOR="numpy",
                        transposed=np.uint8(1))  # fmt: skip
