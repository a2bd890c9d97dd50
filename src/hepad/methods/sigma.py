"""SIGMA: one conditional flow p(x | m_jj) per (n_sig, seed), trained on all data including every
signal region, with a learned m_jj embedding feeding the flow's context (after the SIGMA paper,
arXiv:2410.20537, whose model is flow matching; here the same idea on the conditional MAF).

m_jj is scaled to [-1, 1] over the training range and expanded into Fourier features
sin/cos(2^k pi m), k = 0..8, then a small MLP gives the context. In a signal region [lo, hi) the
embedding of a mass m is replaced by the linear mix of its values at two sideband anchor masses,
h = a h(m_lo) + (1 - a) h(m_hi), a = (m_hi - m) / (m_hi - m_lo), so the template never uses what
the model learned inside the SR (where the signal is). Then the CATHODE classifier.
The one model serves every window: that is SIGMA's saving in training cost.
"""

from __future__ import annotations

from hepad.errors import InputError
from hepad.io.table import Dijets
from hepad.methods.background import fit_density, make_template
from hepad.methods.base import WindowInputs
from hepad.methods.cathode import TemplateMethod

DEFAULT_ANCHOR_OFFSET = 0.1  # TeV outside the SR: the paper's 3.2 and 3.8 TeV for 3.3-3.7


def train_sigma(data: Dijets, opts: dict, seed: int, device: str, name: str, checkpoint=None, loss_file=None):
    """The SIGMA model of all data: p(x | embedding(m_jj)). `opts`: flow options + `embedding`."""
    from hepad.flows.embedding import FourierEmbedding

    o = dict(opts)
    emb = o.pop("embedding", {})
    embedding = FourierEmbedding(float(data.mjj.min()), float(data.mjj.max()), **emb)
    return fit_density(data.x, data.mjj, o, seed, device, name, checkpoint, loss_file, embedding=embedding)


def anchors(opts: dict, lo: float, hi: float) -> tuple[float, float]:
    """Sideband anchor masses of the window [lo, hi): `anchors: {"lo-hi": [a, b]}` per window,
    else lo - anchor_offset and hi + anchor_offset."""
    given = opts.get("anchors", {}).get(f"{lo:g}-{hi:g}")
    if given is not None:
        a, b = map(float, given)
    else:
        off = opts.get("anchor_offset", DEFAULT_ANCHOR_OFFSET)
        a, b = lo - off, hi + off
    if not a <= lo < hi <= b:
        raise InputError(f"sigma: anchors [{a}, {b}] TeV must enclose the signal region [{lo}, {hi}]")
    return a, b


class Sigma(TemplateMethod):
    name = "sigma"
    needs = frozenset({"data", "sigma"})

    def template(self, win: WindowInputs, sr: Dijets) -> Dijets:
        from hepad.flows.embedding import InterpolatedEmbedding

        model = win.sigma
        m_lo, m_hi = anchors(self.options, win.lo, win.hi)
        original = [f._embedding_net for f in model.members]
        try:
            for f, emb in zip(model.members, original):
                f._embedding_net = InterpolatedEmbedding(emb, m_lo, m_hi)
            opts = {"mass_sampling": "histogram", **self.options}
            return make_template(model, sr, win.lo, win.hi, opts, self.seed, self.tag(win))
        finally:
            for f, emb in zip(model.members, original):
                f._embedding_net = emb
