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
    """Read `path` in format `fmt` (lhco features file, 6-column .npy arrays, ROOT TTree)."""
    if fmt == "lhco":
        from hepad.resonant.formats.lhco import read_lhco_features

        return read_lhco_features(path)
    if fmt == "arrays":
        from hepad.resonant.formats.lhco import read_lhco_arrays

        return read_lhco_arrays(path)
    if fmt == "root":
        from hepad.resonant.formats.root import read_root_dijets

        return read_root_dijets(path, tree=tree, branches=branches, kinematics=kinematics, unit=unit)
    raise InputError(f"format {fmt!r}; expected one of {', '.join(FORMATS)}")
