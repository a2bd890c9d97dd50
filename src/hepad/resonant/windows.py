"""Signal regions, sidebands, signal injection and the fixed partition of the samples.

All masses in TeV. A window is a signal region [lo, hi); the density methods' sideband is its
full complement, CWoLa's the two short bands of `width` on either side.
"""

from __future__ import annotations

import numpy as np

from hepad.errors import InputError
from hepad.resonant.formats.table import Dijets

# The sliding scan of the literature: 9 windows of 400 GeV stepped by 100 GeV.
PRESETS = {
    "lhco9": [(round(2.9 + 0.1 * i, 3), round(3.3 + 0.1 * i, 3)) for i in range(9)],
    "standard": [(3.3, 3.7)],
}
MIN_EVENTS_SR = 10  # fewer data events than this in a window: nothing to train on


def resolve_windows(spec) -> list[tuple[float, float]]:
    """A preset name or an explicit list of [lo, hi] pairs."""
    if isinstance(spec, str):
        if spec not in PRESETS:
            raise InputError(f"windows: unknown preset {spec!r}; expected one of {', '.join(PRESETS)} or a list of [lo, hi]")
        return PRESETS[spec]
    out = [(float(lo), float(hi)) for lo, hi in spec]
    for lo, hi in out:
        if not lo < hi:
            raise InputError(f"windows: [{lo}, {hi}] has lo >= hi; expected lo < hi in TeV")
    return out


def short_sidebands(lo: float, hi: float, width: float) -> tuple[tuple[float, float], tuple[float, float]]:
    return (lo - width, lo), (hi, hi + width)


def check_window(d: Dijets, lo: float, hi: float, source: str, min_events: int = MIN_EVENTS_SR) -> None:
    """The window must lie inside the sample's m_jj range and hold events."""
    mmin, mmax = float(d.mjj.min()), float(d.mjj.max())
    if lo < mmin or hi > mmax:
        raise InputError(f"{source}: window [{lo}, {hi}] TeV lies outside the m_jj range [{mmin:.3f}, {mmax:.3f}] TeV of the sample")
    n = int(d.in_range(lo, hi).sum())
    if n < min_events:
        raise InputError(f"{source}: window [{lo}, {hi}] TeV holds {n} events; expected at least {min_events}")


def split_pools(events: Dijets, extra: Dijets, signal_fractions: dict, extra_test_fraction: float,
                seed: int) -> dict[str, Dijets]:
    """Fixed partition (independent of the run seeds), so every method and seed sees one test set.

    signal pool (label 1 of the events file) -> inject / train (supervised) / test;
    extra background -> train (IAD) / test. Injected signal is drawn from `inject` only, so the
    signal that feeds the test sets is never injected.
    """
    rng = np.random.default_rng(seed)
    signal, background = events[events.label == 1], events[events.label == 0]
    perm = rng.permutation(len(signal))
    f = np.array([signal_fractions["inject"], signal_fractions["train"], signal_fractions["test"]], dtype=float)
    cuts = np.round(np.cumsum(f / f.sum())[:-1] * len(signal)).astype(int)
    inject, train, test = np.split(perm, cuts)
    eperm = rng.permutation(len(extra))
    n_test = int(round(extra_test_fraction * len(extra)))
    extra = Dijets(extra.mjj, extra.x, np.zeros(len(extra), dtype=np.int8))  # extra file: all background
    return {
        "background": background,
        "signal_inject": signal[np.sort(inject)],
        "signal_train": signal[np.sort(train)],
        "signal_test": signal[np.sort(test)],
        "extra_train": extra[np.sort(eperm[n_test:])],
        "extra_test": extra[np.sort(eperm[:n_test])],
    }


def inject(background: Dijets, pool: Dijets, n_sig: int, seed: int, source: str = "signal pool") -> Dijets:
    """Mock data: all background plus n_sig signal events drawn (by seed) from the pool.

    Labels are kept as simulation truth, for bookkeeping only (n_sig_sr); no method reads them.
    """
    if n_sig > len(pool):
        raise InputError(f"{source}: n_sig = {n_sig} exceeds the {len(pool)} signal events available for injection")
    if n_sig < 0:
        raise InputError(f"n_sig = {n_sig}; expected a non-negative number of signal events")
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(len(pool), size=n_sig, replace=False))
    data = Dijets.concat([background, pool[chosen]])
    return data[rng.permutation(len(data))]


def truth_counts(data: Dijets, lo: float, hi: float) -> dict:
    """Signal and background events of the mock data in the SR (simulation truth, for the summary)."""
    sr = data[data.in_range(lo, hi)]
    return {"n_sig_sr": int((sr.label == 1).sum()), "n_bkg_sr": int((sr.label == 0).sum())}


def val_mask(n: int, val_fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Random boolean mask selecting round(val_fraction * n) validation events."""
    mask = np.zeros(n, dtype=bool)
    mask[rng.permutation(n)[: int(round(val_fraction * n))]] = True
    return mask
