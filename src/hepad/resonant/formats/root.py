"""ROOT input adapter: a TTree (or RNTuple) of jagged jet branches -> the same Dijets as the LHCO reader.

The two leading jets by pT of each event become the 14 LHCO kinematic columns
(px py pz m tau1 tau2 tau3 per jet, GeV) and go through `lhco_to_dijets`, so the features
(jets ordered by mass, tau21 regulator, mjj) are defined in one place only.
"""

from __future__ import annotations

import logging
from pathlib import Path

import awkward as ak
import numpy as np
import uproot

from hepad.errors import InputError
from hepad.resonant.formats.features import lhco_to_dijets
from hepad.resonant.formats.table import Dijets

log = logging.getLogger(__name__)

_TAUS = {"tau1": "jet_tau1", "tau2": "jet_tau2", "tau3": "jet_tau3", "label": "label"}
DEFAULT_BRANCHES = {
    "ptetaphim": {"pt": "jet_pt", "eta": "jet_eta", "phi": "jet_phi", "m": "jet_m", **_TAUS},
    "pxpypzm": {"px": "jet_px", "py": "jet_py", "pz": "jet_pz", "m": "jet_m", **_TAUS},
}
GEV_PER_UNIT = {"GeV": 1.0, "MeV": 1e-3, "TeV": 1e3}
_RNTUPLE = "ROOT::RNTuple"  # what recent uproot (5.7) writes for `f[name] = arrays`; read alike
_ENERGY_KEYS = ("pt", "px", "py", "pz", "m")  # scaled to GeV; tau's are used as stored (only tau2/tau1 matters)


def _some(names, n: int = 20) -> str:
    names = sorted(names)
    return ", ".join(names[:n]) + (f" ... ({len(names)} in all)" if len(names) > n else "")


def _field(arrays: ak.Array, name: str) -> ak.Array:
    """A branch of `arrays`; RNTuple sub-fields ('jet.pt') come back nested and are walked to."""
    if name in arrays.fields:
        return arrays[name]
    for part in name.split("."):
        arrays = arrays[part]
    return arrays


def _open_tree(path: Path, tree: str):
    if not path.is_file():
        raise InputError(f"{path}: file not found; expected a ROOT file with TTree {tree!r}")
    try:
        f = uproot.open(path)
        classes = f.classnames()
    except (OSError, ValueError, uproot.deserialization.DeserializationError) as e:
        raise InputError(f"{path}: not a readable ROOT file ({type(e).__name__}: {e})") from None
    trees = sorted({k.split(";")[0] for k, c in classes.items() if c.startswith("TTree") or c == _RNTUPLE})
    if tree not in trees:
        raise InputError(f"{path}: no TTree {tree!r}; trees found: {', '.join(trees) or 'none'} (config key `tree`)")
    return f[tree]


def read_root_dijets(
    path,
    tree: str = "events",
    branches: dict | None = None,
    kinematics: str = "ptetaphim",
    unit: str = "GeV",
) -> Dijets:
    """Dijet features of a TTree with one entry per event and jagged per-jet branches.

    `branches` maps the keys of DEFAULT_BRANCHES[kinematics] to branch names (missing keys keep
    the defaults); `label` is optional (absent branch or None -> label -1). `unit` is that of
    the momenta and masses. Events with fewer than two jets are dropped (logged with a count).
    """
    path = Path(path)
    if kinematics not in DEFAULT_BRANCHES:
        raise InputError(f"kinematics {kinematics!r}; expected one of {', '.join(DEFAULT_BRANCHES)}")
    if unit not in GEV_PER_UNIT:
        raise InputError(f"unit {unit!r}; expected one of {', '.join(GEV_PER_UNIT)}")
    names = {**DEFAULT_BRANCHES[kinematics], **(branches or {})}
    unknown = set(names) - set(DEFAULT_BRANCHES[kinematics])
    if unknown:
        raise InputError(
            f"branches: unknown key(s) {', '.join(sorted(unknown))}; expected {', '.join(DEFAULT_BRANCHES[kinematics])}"
        )

    t = _open_tree(path, tree)
    present = set(t.keys())
    label_branch = names.pop("label")
    explicit_label = branches is not None and branches.get("label") is not None
    if label_branch is not None and label_branch not in present:
        if explicit_label:
            raise InputError(
                f"{path}: tree {tree!r} has no branch {label_branch!r} (branches.label); set `branches` in the config"
            )
        label_branch = None
    for key, b in names.items():
        if b not in present:
            raise InputError(
                f"{path}: tree {tree!r} has no branch {b!r} (branches.{key}); set `branches` in the config; "
                f"branches found: {_some(present)}"
            )

    arrays = t.arrays(list(names.values()) + ([label_branch] if label_branch else []), library="ak")
    jets = {k: _field(arrays, b) for k, b in names.items()}
    try:
        counts = {k: ak.to_numpy(ak.num(v, axis=1)) for k, v in jets.items()}
    except (ValueError, TypeError):  # numpy's AxisError is a ValueError: a flat branch
        raise InputError(f"{path}: jet branches {', '.join(names.values())} must hold one list per event") from None
    n = counts["m"]
    for k, c in counts.items():
        if not np.array_equal(c, n):
            raise InputError(
                f"{path}: branch {names[k]!r} has other jet counts than {names['m']!r}; expected equal lengths"
            )
    for k, v in jets.items():
        bad = ~ak.to_numpy(ak.all(np.isfinite(v), axis=1))
        if bad.any():
            raise InputError(
                f"{path}: {int(bad.sum())} events have NaN or inf in branch {names[k]!r}; expected finite values"
            )

    scale = GEV_PER_UNIT[unit]
    jets = {k: v * scale if k in _ENERGY_KEYS else v for k, v in jets.items()}
    if kinematics == "ptetaphim":
        pt, eta, phi = jets["pt"], jets["eta"], jets["phi"]
        jets.update(px=pt * np.cos(phi), py=pt * np.sin(phi), pz=pt * np.sinh(eta))
    else:
        jets["pt"] = np.hypot(jets["px"], jets["py"])

    keep = n >= 2
    if not keep.all():
        log.warning("%s: dropped %d of %d events with fewer than two jets", path, int((~keep).sum()), len(n))
    lead = ak.argsort(jets["pt"][keep], axis=1, ascending=False)[:, :2]
    cols = [
        ak.to_numpy(jets[k][keep][lead][:, j]).astype(np.float64)
        for j in (0, 1)
        for k in ("px", "py", "pz", "m", "tau1", "tau2", "tau3")
    ]
    raw = np.stack(cols, axis=1)
    label = None
    if label_branch:
        label = ak.to_numpy(_field(arrays, label_branch))[keep]
        bad = ~np.isin(label, (-1, 0, 1))
        if label.ndim != 1 or bad.any():
            raise InputError(f"{path}: branch {label_branch!r} must hold one label per event in (-1, 0, 1)")
    return lhco_to_dijets(raw, label)
