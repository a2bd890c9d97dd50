"""Inputs of the study from the public CaloGAN-layout files (Zenodo record 10393540): the photon
files are validated and copied; a fixed-displacement (or lifetime) signal is one member of
files_fixed_disp.zip, named by the member map (hepad.calo.plan.member_names: the authors' names
from the dataset manifest, overridable per sample)."""

from __future__ import annotations

import shutil
import tempfile
import zipfile
import zlib
from pathlib import Path

from hepad.calo.showers import read_showers, write_showers
from hepad.errors import InputError


def archive_members(zip_path) -> list[str]:
    """The member paths of a zip archive (folders left out)."""
    try:
        with zipfile.ZipFile(zip_path) as zf:
            return [n for n in zf.namelist() if not n.endswith("/")]
    except (OSError, zipfile.BadZipFile) as e:
        raise InputError(f"{zip_path}: not a readable zip archive ({e}); expected files_fixed_disp.zip") from None


def find_member(names: list[str], wanted: str, zip_path, key: str, required: bool = True) -> str | None:
    """The one member called `wanted`, as a full path or a base name (a folder prefix is allowed).
    None if absent and not `required`; else a one-line InputError naming `key` and listing the members."""
    hits = [n for n in names if n == wanted or n.rsplit("/", 1)[-1] == wanted]
    if len(hits) == 1 or (not hits and not required):
        return hits[0] if hits else None
    listed = ", ".join(names[:60]) + (f" ... ({len(names)} in all)" if len(names) > 60 else "")
    raise InputError(f"{zip_path}: {len(hits)} members named {wanted!r} ({key}); expected exactly 1; "
                     f"members: {listed or 'none'}")


def convert(src, out, attrs: dict | None = None, label: str | None = None) -> int:
    """Validate a CaloGAN-layout file and write it to `out` (atomically); returns the shower count.
    `label` names the source in errors and in the `source` attribute (default: `src`)."""
    label = label or str(src)
    s = read_showers(src, label)
    write_showers(out, s, attrs=dict(source=label) | (attrs or {}))
    return len(s)


def extract_signal(zip_path, member: str, out, key: str = "--member") -> int:
    """Extract `member` (full path or base name) from the archive, validate it, write it to `out`."""
    names = archive_members(zip_path)
    name = find_member(names, member, zip_path, key)
    with zipfile.ZipFile(zip_path) as zf, tempfile.TemporaryDirectory(
            dir=Path(out).parent if Path(out).parent.exists() else None) as tmp:
        local = Path(tmp) / "member.hdf5"
        label = f"{zip_path} (member {name})"  # errors name the archive and member, not the temporary copy
        try:
            with zf.open(name) as src, open(local, "wb") as dst:
                shutil.copyfileobj(src, dst)  # the CRC is checked when the member's end is read
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as e:
            raise InputError(f"{label}: corrupt or unreadable member ({e}); "
                             "expected an intact CaloGAN-layout HDF5 file") from None
        return convert(local, out, attrs=dict(archive=str(zip_path), member=name), label=label)
