"""Opening and reading HDF5 inputs with the promised one-line errors."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from hepad.errors import InputError


def open_hdf5(path: str | Path, expected: str, label: str | None = None) -> h5py.File:
    """Open `path` read-only; a missing or non-HDF5 file is an InputError saying what was `expected`.

    `label` names the file in messages where `path` is not what the user gave (e.g. an extracted zip member).
    """
    path = Path(path)
    label = label or str(path)
    if not path.is_file():
        raise InputError(f"{label}: file not found; expected {expected}")
    try:
        return h5py.File(path, "r")
    except OSError as e:
        raise InputError(f"{label}: not a readable HDF5 file ({e}); expected {expected}") from None


def require_keys(f: h5py.File, keys, path, what: str = "key") -> None:
    missing = [k for k in keys if k not in f]
    if missing:
        raise InputError(f"{path}: missing {what}(s) {', '.join(missing)}; expected {', '.join(keys)}")


def read(ds: h5py.Dataset, path=None, sel=()) -> np.ndarray:
    """`ds[sel]`; a read that fails (e.g. a corrupt compressed chunk) is an InputError naming the file
    (`path`, default the dataset's file) and the dataset."""
    path = path or ds.file.filename
    try:
        return ds[sel]
    except OSError as e:  # h5py reports failed filters / truncated files as OSError
        raise InputError(f"{path}: dataset {ds.name} is unreadable ({e}); expected an intact HDF5 file") from None
