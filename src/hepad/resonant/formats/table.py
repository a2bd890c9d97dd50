"""The canonical dijet table: HDF5 (h5py), one dataset per column, units in attributes.

Columns: mjj, mj1, dmj, tau21_1, tau21_2 (TeV for masses) and label (1 signal, 0 background,
-1 unknown). Every step after the input adapters reads only this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from hepad.errors import InputError
from hepad.io.atomic import atomic_path
from hepad.io.hdf5 import open_hdf5, read, require_keys

FEATURES = ("mj1", "dmj", "tau21_1", "tau21_2")  # what the classifiers and flows see
COLUMNS = ("mjj",) + FEATURES + ("label",)
UNITS = {"mjj": "TeV", "mj1": "TeV", "dmj": "TeV", "tau21_1": "", "tau21_2": "", "label": ""}


@dataclass
class Dijets:
    """Events of the canonical table as arrays: mjj (N,), x (N, 4) auxiliary features, label (N,)."""

    mjj: np.ndarray
    x: np.ndarray
    label: np.ndarray

    def __len__(self) -> int:
        return len(self.mjj)

    def __getitem__(self, idx) -> "Dijets":
        return Dijets(self.mjj[idx], self.x[idx], self.label[idx])

    @staticmethod
    def concat(parts: list["Dijets"]) -> "Dijets":
        return Dijets(
            np.concatenate([p.mjj for p in parts]),
            np.concatenate([p.x for p in parts]),
            np.concatenate([p.label for p in parts]),
        )

    def in_range(self, lo: float, hi: float) -> np.ndarray:
        """Boolean mask of lo <= mjj < hi (TeV)."""
        return (self.mjj >= lo) & (self.mjj < hi)


def check_finite(d: Dijets, source: str) -> None:
    for name, arr in (("mjj", d.mjj), ("features", d.x)):
        bad = ~np.isfinite(arr)
        if bad.any():
            n = int(bad.any(axis=1).sum()) if arr.ndim == 2 else int(bad.sum())
            raise InputError(f"{source}: {n} events have NaN or inf in {name}; expected finite values")


def write_table(path: str | Path, d: Dijets, attrs: dict | None = None) -> None:
    check_finite(d, str(path))
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        cols = {"mjj": d.mjj, **{n: d.x[:, i] for i, n in enumerate(FEATURES)}, "label": d.label}
        for name, values in cols.items():
            dtype = np.int8 if name == "label" else np.float32
            ds = f.create_dataset(name, data=np.asarray(values, dtype=dtype))
            ds.attrs["unit"] = UNITS[name]
        f.attrs["format"] = "hepad-dijets-v1"
        for k, v in (attrs or {}).items():
            f.attrs[k] = v


def read_table(path: str | Path) -> Dijets:
    with open_hdf5(path, "a canonical dijet table (HDF5)") as f:
        require_keys(f, COLUMNS, path, "column")
        n = {c: f[c].shape for c in COLUMNS}
        if len({s for s in n.values()}) != 1 or len(n["mjj"]) != 1:
            raise InputError(f"{path}: columns have shapes {n}; expected equal 1-d columns")
        d = Dijets(
            read(f["mjj"], path).astype(np.float64),
            np.stack([read(f[c], path) for c in FEATURES], axis=1).astype(np.float64),
            read(f["label"], path).astype(np.int8),
        )
    check_finite(d, str(path))
    return d
