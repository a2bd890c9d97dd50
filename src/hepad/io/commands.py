"""`hepad` subcommands of this subpackage (registered by hepad.cli): fetching the public files."""

from __future__ import annotations

from pathlib import Path

from hepad.io.download import DEFAULT_MANIFEST  # the command layer points at the library, never back

STORE_NAME = ".hepad-checksums.json"  # beside the downloaded files: sha256 recorded at first download


def _download(a):
    from hepad.io.download import download, load_manifest

    from hepad.errors import InputError

    names = list(load_manifest(a.manifest)) if a.all else a.names
    if not names or (a.out and len(names) > 1):
        raise InputError(f"download: names {names}, --out {a.out}; expected one or more names (or --all), and one name with --out")
    for name in names:
        out = Path(a.out) if a.out else Path(a.data_dir) / name
        store = a.checksum_store or out.parent / STORE_NAME
        print(download(name, a.manifest, out, checksum_store=store, retries=a.retries, timeout=a.timeout))


def _list(a):
    from hepad.io.download import load_manifest

    for name, e in load_manifest(a.manifest).items():
        print(f"{name}\t{e['url']}")


def add_commands(sub) -> None:
    """Add this subpackage's steps to the `hepad` parser's subparsers."""
    s = sub.add_parser("download", help="fetch public input files of the dataset manifest (verified)")
    s.add_argument("names", nargs="*", help="file names as in the manifest")
    s.add_argument("--all", action="store_true", help="every file of the manifest, into --data-dir")
    s.add_argument("--manifest", default=str(DEFAULT_MANIFEST), help="dataset manifest (YAML)")
    s.add_argument("--data-dir", default="data", help="folder to download into")
    s.add_argument("--out", help="exact output path (one name only)")
    s.add_argument("--checksum-store", help=f"JSON of recorded checksums (default: {STORE_NAME} beside the file)")
    s.add_argument("--retries", type=int, default=5)
    s.add_argument("--timeout", type=float, default=60, help="seconds without data before a retry")
    s.set_defaults(func=_download)

    s = sub.add_parser("datasets", help="list the files of the dataset manifest and their URLs")
    s.add_argument("--manifest", default=str(DEFAULT_MANIFEST))
    s.set_defaults(func=_list)
