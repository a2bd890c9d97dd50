"""Inputs of the study from the public CaloGAN-layout files (Zenodo record 10393540): the photon
files are validated and copied; a fixed-displacement signal is one member of files_fixed_disp.zip,
picked by a configurable name pattern (the member names are not documented)."""

from __future__ import annotations

import fnmatch
import shutil
import tempfile
import zipfile
import zlib
from pathlib import Path

from hepad.calo.showers import read_showers, write_showers
from hepad.errors import InputError


def member_name(names: list[str], pattern: str, zip_path, **fields) -> str:
    """The one archive member matching `pattern` (a glob with {mass}/{z} fields) filled with `fields`."""
    try:
        glob = pattern.format(**fields)
    except (KeyError, IndexError, ValueError) as e:
        raise InputError(f"calo.calogan.member_pattern = {pattern!r}: bad field {e}; expected fields {{mass}}, {{z}}") from None
    hits = [n for n in names if fnmatch.fnmatch(n, glob) and not n.endswith("/")]
    if len(hits) != 1:
        listed = ", ".join(names[:60]) + (" ..." if len(names) > 60 else "")
        raise InputError(f"{zip_path}: {len(hits)} members match {glob!r} (calo.calogan.member_pattern = {pattern!r}); "
                         f"expected exactly 1; members: {listed}")
    return hits[0]


def convert(src, out, attrs: dict | None = None, label: str | None = None) -> int:
    """Validate a CaloGAN-layout file and write it to `out` (atomically); returns the shower count.
    `label` names the source in errors and in the `source` attribute (default: `src`)."""
    label = label or str(src)
    s = read_showers(src, label)
    write_showers(out, s, attrs=dict(source=label) | (attrs or {}))
    return len(s)


def extract_signal(zip_path, pattern: str, mass: str, z: str, out) -> int:
    """Extract the member for (mass, z) from the archive, validate it, write it to `out`."""
    try:
        zf = zipfile.ZipFile(zip_path)
    except (OSError, zipfile.BadZipFile) as e:
        raise InputError(f"{zip_path}: not a readable zip archive ({e}); expected files_fixed_disp.zip") from None
    with zf, tempfile.TemporaryDirectory(dir=Path(out).parent if Path(out).parent.exists() else None) as tmp:
        name = member_name(zf.namelist(), pattern, zip_path, mass=mass, z=z)
        local = Path(tmp) / "member.hdf5"
        label = f"{zip_path} (member {name})"  # errors name the archive and member, not the temporary copy
        try:
            with zf.open(name) as src, open(local, "wb") as dst:
                shutil.copyfileobj(src, dst)  # the CRC is checked when the member's end is read
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as e:
            raise InputError(f"{label}: corrupt or unreadable member ({e}); "
                             "expected an intact CaloGAN-layout HDF5 file") from None
        return convert(local, out, attrs=dict(archive=str(zip_path), member=name), label=label)
