"""One entry point for the input adapters: any supported input file -> canonical Dijets."""

from __future__ import annotations

from hepad.errors import InputError
from hepad.resonant.formats.table import Dijets

FORMATS = ("lhco", "arrays", "root")


def parse_branches(pairs: list[str] | None) -> dict[str, str]:
    """`KEY=NAME` pairs (e.g. pt=FatJet_pt) -> {key: name}; a malformed pair is an InputError."""
    out = {}
    for p in pairs or []:
        key, sep, name = p.partition("=")
        if not sep or not key or not name:
            raise InputError(f"--branch {p!r}; expected KEY=NAME, e.g. pt=jet_pt")
        out[key] = name
    return out


def read_dijets(path, fmt: str, tree: str = "events", branches: dict | None = None,
                kinematics: str = "ptetaphim", unit: str = "GeV") -> Dijets:  # fmt: skip
    """Read `path` in format `fmt` (lhco features file, 6-column .npy arrays, ROOT TTree); 0 events is an InputError."""
    if fmt == "lhco":
        from hepad.resonant.formats.lhco import read_lhco_features

        d = read_lhco_features(path)
    elif fmt == "arrays":
        from hepad.resonant.formats.lhco import read_lhco_arrays

        d = read_lhco_arrays(path)
    elif fmt == "root":
        from hepad.resonant.formats.root import read_root_dijets

        d = read_root_dijets(path, tree=tree, branches=branches, kinematics=kinematics, unit=unit)
    else:
        raise InputError(f"format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if len(d) == 0:  # ROOT: events with fewer than two jets were dropped
        what = "events with two or more jets" if fmt == "root" else "events (0 rows)"
        raise InputError(f"{path}: no {what} in this {fmt} file; expected at least one event")
    return d
