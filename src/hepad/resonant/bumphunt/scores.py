"""The bump hunt's input: out-of-fold scores of a window's mock data, one .npz per window x method x
n_sig x seed. Every reader and writer checks the contract; a violation is an InputError naming the
file and the key."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hepad.errors import InputError
from hepad.io.atomic import atomic_path

EVENT_KEYS = ("score", "mjj", "is_signal")  # one entry per data event in [fit_lo, fit_hi]
SCALAR_KEYS = {"window": int, "sr_lo": float, "sr_hi": float, "fit_lo": float, "fit_hi": float, "method": str,
               "nsig": int, "seed": int, "route": str}
# route -> estimates; "ratio": the score is log p_S / p_B (R-ANODE), the signal fraction is fitted
ROUTES = {"template": ("template",), "fit": ("fit",), "both": ("template", "fit"), "ratio": ("ratio",)}
KEYS = (*EVENT_KEYS, "reference_score", *SCALAR_KEYS)


@dataclass(frozen=True)
class DataScores:
    score: np.ndarray  # out-of-fold anomaly score, higher = more signal-like
    mjj: np.ndarray  # TeV
    is_signal: np.ndarray  # truth, bookkeeping only
    reference_score: np.ndarray  # background reference never trained on (template route), may be empty
    window: int
    sr_lo: float
    sr_hi: float
    fit_lo: float
    fit_hi: float
    method: str
    nsig: int
    seed: int
    route: str
    source: str = ""

    @property
    def in_sr(self) -> np.ndarray:
        return (self.mjj >= self.sr_lo) & (self.mjj < self.sr_hi)  # windows are [lo, hi)

    @property
    def estimates(self) -> tuple[str, ...]:
        return ROUTES[self.route]

    def tag(self) -> str:
        return f"window {self.window} [{self.sr_lo}, {self.sr_hi}] TeV, {self.method}, n_sig {self.nsig}, seed {self.seed}"


def _check(a: dict, source: str) -> DataScores:
    missing = [k for k in KEYS if k not in a]
    if missing:
        raise InputError(f"{source}: missing key(s) {', '.join(missing)}; expected {', '.join(KEYS)}")
    arr = {k: np.asarray(a[k]) for k in KEYS}
    for k in (*EVENT_KEYS, "reference_score"):
        if arr[k].ndim != 1:
            raise InputError(f"{source}: key {k} has shape {arr[k].shape}; expected a 1-d array")
    n = len(arr["score"])
    for k in ("mjj", "is_signal"):
        if len(arr[k]) != n:
            raise InputError(f"{source}: key {k} has {len(arr[k])} entries; expected {n} (one per entry of score)")
    for k in ("score", "mjj", "reference_score"):
        if arr[k].dtype.kind not in "fiu":
            raise InputError(f"{source}: key {k} has dtype {arr[k].dtype}; expected float64")
        bad = int((~np.isfinite(arr[k])).sum())
        if bad:
            raise InputError(f"{source}: key {k} has {bad} NaN or inf values; expected finite numbers")
    if arr["is_signal"].dtype.kind not in "biu" or not np.isin(arr["is_signal"], (0, 1)).all():
        raise InputError(f"{source}: key is_signal has dtype {arr['is_signal'].dtype}; expected bool")
    s = {}
    for k, typ in SCALAR_KEYS.items():
        v = arr[k]
        ok = v.ndim == 0 and (v.dtype.kind in "US" if typ is str else v.dtype.kind in ("iu" if typ is int else "fiu"))
        if not ok:
            raise InputError(f"{source}: key {k} = {v!r}; expected a 0-d {typ.__name__} array")
        s[k] = typ(v)
    if s["route"] not in ROUTES:
        raise InputError(f"{source}: key route = {s['route']!r}; expected one of {', '.join(ROUTES)}")
    if not s["fit_lo"] <= s["sr_lo"] < s["sr_hi"] <= s["fit_hi"]:
        raise InputError(f"{source}: keys fit_lo, sr_lo, sr_hi, fit_hi = {s['fit_lo']}, {s['sr_lo']}, {s['sr_hi']}, "
                         f"{s['fit_hi']} TeV; expected fit_lo <= sr_lo < sr_hi <= fit_hi")
    out = int(((arr["mjj"] < s["fit_lo"]) | (arr["mjj"] > s["fit_hi"])).sum())
    if out:
        raise InputError(f"{source}: key mjj has {out} events outside the fit range [{s['fit_lo']}, {s['fit_hi']}] TeV; "
                         "expected only events in the fit range")
    if s["nsig"] < 0:
        raise InputError(f"{source}: key nsig = {s['nsig']}; expected a non-negative number of injected events")
    if "template" in ROUTES[s["route"]] and len(arr["reference_score"]) == 0:
        raise InputError(f"{source}: key reference_score is empty but route = {s['route']!r}; expected background "
                         "reference scores for the template route (or route 'fit')")
    return DataScores(arr["score"].astype(np.float64), arr["mjj"].astype(np.float64), arr["is_signal"].astype(bool),
                      arr["reference_score"].astype(np.float64), **s, source=source)


def write_data_scores(path: str | Path, **arrays) -> None:
    """Check the contract and write the .npz atomically. Keys: score, mjj, is_signal (one entry per data
    event in [fit_lo, fit_hi]), reference_score (may be empty for route 'fit'), and 0-d window, sr_lo,
    sr_hi, fit_lo, fit_hi (TeV), method, nsig, seed, route ('template', 'fit' or 'both')."""
    d = _check(arrays, str(path))
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, score=d.score, mjj=d.mjj, is_signal=d.is_signal, reference_score=d.reference_score,
                 **{k: np.asarray(getattr(d, k)) for k in SCALAR_KEYS})


def read_data_scores(path: str | Path) -> DataScores:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: not found; expected a data-scores .npz file")
    try:
        with np.load(path, allow_pickle=False) as z:
            a = {k: z[k] for k in z.files}
    except (ValueError, OSError) as e:
        raise InputError(f"{path}: not a readable .npz file ({e}); expected a data-scores .npz file") from None
    return _check(a, str(path))
