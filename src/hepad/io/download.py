"""Fetch the public input files: resume, retry, verify, and only then move them into place.

Standard library only (urllib). A download goes to `<dest>.part` next to `dest`; an interrupted
transfer is resumed with an HTTP Range request; the finished file is checked against its size
and sha256 (and md5 where published) and renamed onto `dest`. A failed or corrupt download
therefore never leaves a file at `dest`.

Checksums not published in the manifest are recorded at the first successful download in a
small JSON `checksum_store` ({url: {"sha256", "size", "name"}}) and enforced afterwards. A file
without a known checksum is kept (and recorded) only if it opens as its format (`format`, else
implied by the name: .h5/.hdf5 HDF5, .zip zip) and has at least `min_size` bytes (default 1 MiB),
so an error page served with status 200 is neither kept nor recorded.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import logging
import os
import shlex
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import yaml

from hepad.errors import InputError
from hepad.io.atomic import atomic_path

DEFAULT_MANIFEST = Path(__file__).resolve().parents[3] / "resources" / "datasets.yaml"

log = logging.getLogger(__name__)

MANIFEST_KEYS = ("name", "url", "size", "sha256", "md5", "format", "min_size", "description", "members")
FORMATS = {".h5": "hdf5", ".hdf5": "hdf5", ".zip": "zip"}  # implied by the file name
DEFAULT_MIN_SIZE = 1 << 20  # bytes: every public file is far larger; an error page far smaller
_RETRY_HTTP = {408, 425, 429, 500, 502, 503, 504}
_MAX_BACKOFF = 60.0


class _Retry(Exception):
    """A transient failure (connection, timeout, 5xx, short read): try again."""


# ---------------------------------------------------------------- manifest


def load_manifest(manifest) -> dict[str, dict]:
    """name -> entry, from a YAML/JSON manifest path (or an already loaded dict)."""
    if isinstance(manifest, dict) and "files" not in manifest:
        return manifest  # already name -> entry
    src = "manifest"
    if not isinstance(manifest, dict):
        src = str(manifest)
        try:
            manifest = yaml.safe_load(Path(manifest).read_text())
        except (OSError, yaml.YAMLError) as e:
            raise InputError(f"{src}: unreadable dataset manifest ({e}); expected YAML with a `files` list") from None
    files = (manifest or {}).get("files")
    if not isinstance(files, list):
        raise InputError(f"{src}: no `files` list; expected entries with {', '.join(MANIFEST_KEYS)}")
    out = {}
    for e in files:
        if not isinstance(e, dict) or not e.get("name") or not e.get("url"):
            raise InputError(f"{src}: entry {e!r} lacks name or url; expected {', '.join(MANIFEST_KEYS)}")
        if e.get("format") not in (None, *FORMATS.values()):
            kinds = ", ".join(sorted(set(FORMATS.values())))
            raise InputError(f"{src}: {e['name']}: format {e['format']!r}; expected one of {kinds}")
        if e.get("min_size") is not None and (not isinstance(e["min_size"], int) or e["min_size"] < 0):
            raise InputError(f"{src}: {e['name']}: min_size {e['min_size']!r}; expected a number of bytes >= 0")
        out[e["name"]] = {k: e.get(k) for k in MANIFEST_KEYS}
    return out


def _entry(name: str, manifest) -> dict:
    files = load_manifest(manifest)
    if name not in files:
        raise InputError(f"unknown dataset file {name!r}; expected one of {', '.join(files)}")
    return files[name]


# ---------------------------------------------------------------- checksum store


@contextlib.contextmanager
def _locked(path: Path):
    """Exclusive lock on `path.lock` (POSIX) so parallel downloads do not lose each other's records."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        try:
            import fcntl

            fcntl.flock(lock, fcntl.LOCK_EX)
        except ImportError:  # not POSIX: no lock
            pass
        yield


def _read_store(store: Path) -> dict:
    if not store.is_file():
        return {}
    try:
        data = json.loads(store.read_text() or "{}")
    except (OSError, ValueError) as e:
        raise InputError(f"{store}: unreadable checksum store ({e}); expected JSON {{url: {{sha256, size}}}}") from None
    return data if isinstance(data, dict) else {}


def recorded_checksum(store, url: str) -> dict | None:
    return _read_store(Path(store)).get(url) if store else None


def _record(store: Path, url: str, name: str, sha256: str, size: int) -> None:
    with _locked(store):
        data = _read_store(store)
        data[url] = {"name": name, "sha256": sha256, "size": size}
        with atomic_path(store) as tmp:
            tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


# ---------------------------------------------------------------- download


def _hashes(path: Path, chunk: int) -> tuple[str, str]:
    sha, md5 = hashlib.sha256(), hashlib.md5()
    with open(path, "rb") as f:
        while buf := f.read(chunk):
            sha.update(buf)
            md5.update(buf)
    return sha.hexdigest(), md5.hexdigest()


def _transfer(url: str, part: Path, size: int | None, timeout: float, chunk: int) -> None:
    """One request: append to `part` from where it ends (Range), or restart if the server ignores that."""
    have = part.stat().st_size if part.exists() else 0
    if size is not None and have > size:  # longer than the file can be: start again
        part.unlink()
        have = 0
    headers = {"User-Agent": "hepad-download", "Accept-Encoding": "identity"}
    if have:
        headers["Range"] = f"bytes={have}-"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout) as r:
            if have and r.status != 206:  # Range ignored: the body is the whole file
                log.info("%s: server ignored the Range request; restarting", url)
                have = 0
            elif have and not (r.headers.get("Content-Range") or "").startswith(f"bytes {have}-"):
                part.unlink()
                raise _Retry(f"unexpected Content-Range {r.headers.get('Content-Range')!r}")
            length = r.headers.get("Content-Length")
            expected = int(length) if length and length.isdigit() else None
            got = 0
            with open(part, "ab" if have else "wb") as f:
                while buf := r.read(chunk):
                    f.write(buf)
                    got += len(buf)
            if expected is not None and got < expected:
                raise _Retry(f"connection closed after {have + got} of {have + expected} bytes")
    except urllib.error.HTTPError as e:
        if e.code == 416 and have:  # the .part cannot be resumed (complete or stale): start over
            part.unlink()
            raise _Retry("HTTP 416 on resume") from None
        if e.code in _RETRY_HTTP:
            raise _Retry(f"HTTP {e.code} {e.reason}") from None
        raise
    except (urllib.error.URLError, http.client.HTTPException, TimeoutError, ConnectionError) as e:
        raise _Retry(str(getattr(e, "reason", e)) or type(e).__name__) from None


def _verify(part: Path, dest: Path, size, sha256, md5, origin: str, chunk: int, recover: str = "") -> str:
    """Size and checksums of the finished `.part`; a mismatch deletes it. Returns its sha256."""
    n = part.stat().st_size
    if size is not None and n != int(size):
        part.unlink()
        raise InputError(
            f"size mismatch for {dest}: {n} bytes != {size} expected ({origin}); the download was discarded{recover}"
        )
    got_sha, got_md5 = _hashes(part, chunk)
    for kind, got, want in (("sha256", got_sha, sha256), ("md5", got_md5, md5)):
        if want and got != str(want).lower():
            part.unlink()
            raise InputError(
                f"checksum mismatch for {dest}: {kind} {got} != {want} ({origin}); the download was discarded{recover}"
            )
    return got_sha


def _opens_as(path: Path, fmt: str | None) -> str | None:
    """Why `path` does not open as `fmt` (None if it does, or if the format is unknown)."""
    if fmt == "hdf5":
        import h5py

        if not h5py.is_hdf5(path):
            return "no HDF5 signature"
        try:
            with h5py.File(path, "r") as f:
                f.keys()
        except OSError as e:
            return f"h5py cannot open it: {e}"
    elif fmt == "zip":
        if not zipfile.is_zipfile(path):
            return "no zip directory"
        try:
            with zipfile.ZipFile(path) as z:
                bad = z.testzip()
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, RuntimeError) as e:
            return f"unreadable zip: {e}"
        if bad:
            return f"bad CRC in member {bad}"
    return None


def _check_received(part: Path, dest: Path, url: str, fmt: str | None, min_size: int) -> None:
    """An unverified download must open as `fmt` and hold at least `min_size` bytes, else it is deleted."""
    n = part.stat().st_size
    why = f"fewer than {min_size} bytes" if n < min_size else _opens_as(part, fmt)
    if why is None:
        return
    with open(part, "rb") as f:
        head = f.read(64)
    part.unlink()
    first = head.split(b"\n")[0].strip()[:40].decode("latin-1")
    html = b"<html" in head.lower() or head.lstrip().lower().startswith(b"<!doctype")
    what = {"hdf5": "an HDF5 file", "zip": "a zip archive"}.get(fmt, "a file")
    raise InputError(
        f"download of {url} into {dest}: received {n} bytes starting with {first!r}"
        f"{' (an HTML page?)' if html else ''} ({why}); expected {what} of at least {min_size} bytes "
        "(manifest keys format, min_size); nothing was kept or recorded"
    )


def fetch(
    url: str,
    dest,
    sha256: str | None = None,
    size: int | None = None,
    retries: int = 5,
    timeout: float = 60,
    chunk: int = 1 << 20,
    checksum_store=None,
    md5: str | None = None,
    backoff: float = 1.0,
    fmt: str | None = None,
    min_size: int | None = None,
) -> Path:
    """Download `url` to `dest` (resume, retry with backoff, verify, atomic rename); returns `dest`.

    An existing `dest` is verified against the known checksum and kept. `retries` bounds the
    tries that make no progress; a try that adds bytes to the `.part` does not count against
    it (a hard cap of 10 x retries tries bounds the loop). Without a known sha256/md5 the file
    must open as `fmt` (default: implied by the name of `dest`) and have >= `min_size` bytes
    (default DEFAULT_MIN_SIZE) before it is kept and its sha256 recorded.
    """
    dest = Path(dest)
    store = Path(checksum_store) if checksum_store else None
    origin, recover = "manifest", ""
    if sha256 is None and store and (rec := recorded_checksum(store, url)):
        sha256, origin = rec.get("sha256"), f"recorded in {store} at the first download"
        size = rec.get("size") if size is None else size
        recover = (f"; if the recorded checksum itself is wrong, delete the key {json.dumps(url)} from {store} "
                   "(or that whole file) and download again")
    if dest.is_file():
        if sha256 and _hashes(dest, chunk)[0] != sha256:
            raise InputError(
                f"checksum mismatch for existing {dest}: expected sha256 {sha256} ({origin}); "
                f"delete {dest} to download again{recover}"
            )
        return dest

    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    failures, tries, reason = 0, 0, ""
    while True:
        before = part.stat().st_size if part.exists() else 0
        tries += 1
        try:
            _transfer(url, part, size, timeout, chunk)
            break
        except _Retry as e:
            reason = str(e)
        except (urllib.error.HTTPError, ValueError) as e:
            why = f"HTTP {e.code} {e.reason}" if isinstance(e, urllib.error.HTTPError) else str(e)
            raise InputError(
                f"download of {url} failed ({why}); fetch it by hand into {dest} or set data_dir to a folder holding it"
            ) from None
        progressed = part.exists() and part.stat().st_size > before
        failures += 0 if progressed else 1
        if failures >= retries or tries >= 10 * max(retries, 1):
            raise InputError(
                f"download of {url} failed after {tries} tries ({reason}); fetch it by hand into {dest} "
                "or set data_dir to a folder holding it"
            )
        wait = 0.0 if progressed else min(backoff * 2 ** (failures - 1), _MAX_BACKOFF)
        log.warning("%s: %s; retrying in %.2g s (try %d)", url, reason, wait, tries + 1)
        time.sleep(wait)

    got_sha = _verify(part, dest, size, sha256, md5, origin, chunk, recover)
    if not sha256 and not md5:  # nothing vouches for these bytes: they must at least look like the file
        fmt = fmt or FORMATS.get(dest.suffix.lower())
        _check_received(part, dest, url, fmt, DEFAULT_MIN_SIZE if min_size is None else int(min_size))
    os.replace(part, dest)
    if store and origin == "manifest" and not sha256:  # first download of an unpublished checksum
        _record(store, url, dest.name, got_sha, dest.stat().st_size)
    return dest


# ---------------------------------------------------------------- entry points


def download_command(names, data_dir, manifest) -> str:
    """The `hepad download` line that fetches `names` into data_dir (--manifest only for another manifest)."""
    cmd = ["hepad", "download", *names, "--data-dir", str(data_dir)]
    if not isinstance(manifest, dict) and Path(manifest).resolve() != DEFAULT_MANIFEST:
        cmd += ["--manifest", str(manifest)]
    return shlex.join(cmd)


def locate(name: str, data_dir, manifest) -> Path:
    """Path of manifest file `name` already present in `data_dir` (no download), else InputError."""
    e = _entry(name, manifest)
    path = Path(data_dir) / name
    if not path.is_file():
        raise InputError(
            f"{name}: not found in data_dir {data_dir}; download {e['url']} into that folder "
            f"(or run `{download_command([name], data_dir, manifest)}`), or set the config key data_dir to a folder holding it"
        )
    if e.get("size") is not None and path.stat().st_size != int(e["size"]):
        raise InputError(
            f"{path}: {path.stat().st_size} bytes; expected {e['size']} (manifest): incomplete or a different file"
        )
    return path


def download(name: str, manifest_path, out, checksum_store=None, **fetch_kw) -> Path:
    """Fetch manifest file `name` to `out` (a file path, or an existing folder to put it in)."""
    e = _entry(name, manifest_path)
    out = Path(out)
    if out.is_dir():
        out = out / name
    kw = {"fmt": e.get("format"), "min_size": e.get("min_size"), **fetch_kw}
    return fetch(e["url"], out, sha256=e.get("sha256"), size=e.get("size"), md5=e.get("md5"),
                 checksum_store=checksum_store, **kw)  # fmt: skip
