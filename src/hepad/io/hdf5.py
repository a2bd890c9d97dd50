"""Opening HDF5 inputs with the promised one-line errors."""

from __future__ import annotations

from pathlib import Path

import h5py

from hepad.errors import InputError


def open_hdf5(path: str | Path, expected: str) -> h5py.File:
    """Open `path` read-only; a missing or non-HDF5 file is an InputError saying what was `expected`."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found; expected {expected}")
    try:
        return h5py.File(path, "r")
    except OSError as e:
        raise InputError(f"{path}: not a readable HDF5 file ({e}); expected {expected}") from None


def require_keys(f: h5py.File, keys, path, what: str = "key") -> None:
    missing = [k for k in keys if k not in f]
    if missing:
        raise InputError(f"{path}: missing {what}(s) {', '.join(missing)}; expected {', '.join(keys)}")
