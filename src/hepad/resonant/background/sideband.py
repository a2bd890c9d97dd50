"""The sideband flow p_bg(x | m_jj) of a window: a conditional MAF trained on the full complement
of the signal region [lo, hi) in the mock data (CATHODE), once per (window, n_sig, seed), and
shared by ANODE, CATHODE and R-ANODE.
"""

from __future__ import annotations

from hepad.errors import InputError
from hepad.resonant.background.density import fit_density, fit_density_stack
from hepad.resonant.formats.table import Dijets

MIN_SIDEBAND = 100  # fewer sideband events than this: nothing to learn p_bg from


def sideband(data: Dijets, lo: float, hi: float) -> Dijets:
    return data[~data.in_range(lo, hi)]


def train(data: Dijets, lo: float, hi: float, opts: dict, seed: int, device: str, name: str, checkpoint=None,
          loss_file=None):
    """The sideband flow of [lo, hi): (DensityModel, FitResult)."""
    sb = sideband(data, lo, hi)
    if len(sb) < MIN_SIDEBAND:
        raise InputError(f"{name}: {len(sb)} sideband events outside [{lo}, {hi}] TeV; expected at least {MIN_SIDEBAND}")
    return fit_density(sb.x, sb.mjj, opts, seed, device, name, checkpoint, loss_file)


def train_stack(datas: list[Dijets], windows: list[tuple[float, float]], opts: dict, seeds: list[int], device: str,
                names: list[str], checkpoint=None, loss_files=None):
    """The sideband flows of several (window, n_sig, seed) trained as one stack: [(DensityModel, FitResult)]."""
    sbs = []
    for data, (lo, hi), name in zip(datas, windows, names):
        sbs.append(sideband(data, lo, hi))
        if len(sbs[-1]) < MIN_SIDEBAND:
            raise InputError(f"{name}: {len(sbs[-1])} sideband events outside [{lo}, {hi}] TeV; expected at least "
                             f"{MIN_SIDEBAND}")
    return fit_density_stack([sb.x for sb in sbs], [sb.mjj for sb in sbs], opts, seeds, device, names, checkpoint,
                             loss_files)
