"""Write outputs under a temporary name and move them into place only on success."""

from __future__ import annotations

import contextlib
import csv
import os
from pathlib import Path

from hepad.errors import InputError


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary sibling path; rename it to `path` if the block succeeds, else delete it.

    A failed or interrupted step therefore never leaves a file that a later step would trust.
    An output that cannot be created (folder under a file, read-only, no permission) is an InputError.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    if path.is_dir():
        raise InputError(f"{path}: is a folder; expected an output file path")
    try:  # create the folder and probe the temporary file up front: one clear line, not a traceback
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.touch()
        tmp.unlink()
    except OSError as e:
        file = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
        why = f"{file} is a file, not a folder" if file else e.strerror or str(e)
        raise InputError(f"{path}: cannot write this output ({why}); expected a path in a writable folder") from None
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_csv(path: str | os.PathLike, rows, columns: list[str], fmt: str = ".6g") -> None:
    """Rows (dicts) as a CSV with `columns` (other keys ignored), floats formatted with `fmt`, atomically."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        w.writeheader()
        w.writerows({k: (format(v, fmt) if isinstance(v, float) else v) for k, v in r.items()} for r in rows)
