"""SIGMA's background model: one conditional flow p(x | m_jj) per (n_sig, seed), trained on all
data including every signal region, with a learned m_jj embedding feeding the flow's context
(after the SIGMA paper, arXiv:2410.20537, whose model is flow matching; here the same idea on the
conditional MAF). One model serves every window: that is SIGMA's saving in training cost.

m_jj is scaled to [-1, 1] over the training range and expanded into Fourier features
sin/cos(2^k pi m), k = 0..8, then a small MLP gives the context. In a signal region [lo, hi) the
embedding of a mass m is replaced by the linear mix of its values at two sideband anchor masses,
h = a h(m_lo) + (1 - a) h(m_hi), a = (m_hi - m) / (m_hi - m_lo), so a template drawn from it never
uses what the model learned inside the SR (where the signal is).
"""

from __future__ import annotations

from contextlib import contextmanager

from hepad.errors import InputError
from hepad.resonant.background.density import fit_density, fit_density_stack
from hepad.resonant.formats.table import Dijets


def _embedding(data: Dijets, opts: dict):
    """(flow options, the m_jj embedding over the data's range)."""
    from hepad.flows.embedding import FourierEmbedding

    o = dict(opts)
    emb = o.pop("embedding", {})
    return o, FourierEmbedding(float(data.mjj.min()), float(data.mjj.max()), **emb)


def train(data: Dijets, lo: None, hi: None, opts: dict, seed: int, device: str, name: str, checkpoint=None,
          loss_file=None):
    """The SIGMA model of all data: p(x | embedding(m_jj)). `opts`: flow options + `embedding`.
    (lo, hi are None: the model belongs to no window.)"""
    o, embedding = _embedding(data, opts)
    return fit_density(data.x, data.mjj, o, seed, device, name, checkpoint, loss_file, embedding=embedding)


def train_stack(datas: list[Dijets], windows, opts: dict, seeds: list[int], device: str, names: list[str],
                checkpoint=None, loss_files=None):
    """SIGMA models of several (n_sig, seed) trained as one stack: [(DensityModel, FitResult)]."""
    pairs = [_embedding(d, opts) for d in datas]
    return fit_density_stack([d.x for d in datas], [d.mjj for d in datas], pairs[0][0], seeds, device, names,
                             checkpoint, loss_files, embeddings=[e for _, e in pairs])


def anchors(lo: float, hi: float, offset: float, per_window: dict) -> tuple[float, float]:
    """Sideband anchor masses of the window [lo, hi): per_window["lo-hi"] = [a, b] if given,
    else lo - offset and hi + offset."""
    given = per_window.get(f"{lo:g}-{hi:g}")
    a, b = map(float, given) if given is not None else (lo - offset, hi + offset)
    if not a <= lo < hi <= b:
        raise InputError(f"sigma: anchors [{a}, {b}] TeV must enclose the signal region [{lo}, {hi}]")
    return a, b


@contextmanager
def interpolated(model, m_lo: float, m_hi: float):
    """The model with its embedding replaced by the anchor interpolation (restored afterwards)."""
    from hepad.flows.embedding import InterpolatedEmbedding

    original = [f._embedding_net for f in model.members]
    try:
        for f, emb in zip(model.members, original):
            f._embedding_net = InterpolatedEmbedding(emb, m_lo, m_hi)
        yield model
    finally:
        for f, emb in zip(model.members, original):
            f._embedding_net = emb
