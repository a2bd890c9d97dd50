"""CaloFlow: Flow-I p(E0,E1,E2 | E_inc) and Flow-II p(normalised voxels | E_i, E_inc), RQS-MAFs
(hepad.flows.maf) trained on background photons only with the shared loop (hepad.training.fit).

Anomaly score of a shower: -log p with log p = log p_I(x1 | E_inc_rec) + log p_II(x2 | E_i, E_inc_rec)
in the flows' (preprocessed) variables, E_inc_rec = lambda * E_dep (the paper's convention; the
Jacobian of the preprocessing is written beside it, see hepad.calo.preprocessing).
"""

from __future__ import annotations

import logging
from dataclasses import asdict

import numpy as np
import torch

from hepad.calo import preprocessing as pp
from hepad.calo.showers import N_VOXELS, Showers
from hepad.errors import InputError
from hepad.flows.maf import FlowConfig, build_flow, nll_loss
from hepad.flows.maf import log_prob as flow_log_prob
from hepad.io.atomic import atomic_path
from hepad.training import TrainConfig, fit, seed_everything

log = logging.getLogger(__name__)

# (features, context features) of the two flows
SHAPES = {1: (3, 1), 2: (N_VOXELS, 4)}
# The paper's sizes: Flow-I 6 blocks "2x64", Flow-II 8 blocks "1x378", 8 bins, tail bound 14. "N x H"
# is nflows' MADE(num_blocks=N): an input layer plus N hidden blocks, i.e. N + 1 hidden layers of H
# (made_layers here). So counted, Flow-II has 37.8M parameters, as the paper says (made_layers=1: 22.7M).
PAPER = {1: dict(kind="rqs", num_blocks=6, hidden_features=64, made_layers=3, num_bins=8, tail_bound=14.0,
                 batch_norm=False),
         2: dict(kind="rqs", num_blocks=8, hidden_features=378, made_layers=2, num_bins=8, tail_bound=14.0,
                 batch_norm=False)}


def make_flow(which: int, cfg: dict):
    features, context = SHAPES[which]
    return build_flow(FlowConfig(**cfg), features, context)


def n_parameters(flow: torch.nn.Module) -> tuple[int, int]:
    """(all, effective): every stored weight (what torch and the paper count) and those the MADE
    masks leave connected."""
    blocks = flow._transform._transforms
    return int(sum(b.theta.numel() for b in blocks)), int(sum(int(b.mask.sum()) for b in blocks))


def split(n: int, val_fraction: float, seed: int):
    """Fixed train/validation index split (the same for both flows)."""
    perm = np.random.default_rng(seed).permutation(n)
    n_val = int(round(val_fraction * n))
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


def train_flow(which: int, photons: Showers, flow_cfg: dict, train_cfg: dict, seed: int, out, loss_file=None,
               val_fraction: float = 0.3, device: str = "auto", checkpoint=None) -> dict:
    """Fit Flow-I or Flow-II on background photons; write {config, state, lambda, history} to `out`.
    `checkpoint`: resume after a kill (hepad.training.fit)."""
    if which not in SHAPES:
        raise InputError(f"--flow {which}: expected 1 or 2")
    if len(photons) < 10:
        raise InputError(f"training photons: {len(photons)} showers; expected at least 10")
    f = pp.features(photons, np.random.default_rng(pp.sample_seed("train-noise", seed)))
    lam = float(np.mean(photons.energy / f["e"].sum(1)))  # lambda = mean(E_inc / E_dep)
    x, c = (f["x1"], f["c1"]) if which == 1 else (f["x2"], f["c2"])
    tr, va = split(len(photons), val_fraction, seed)
    t = lambda a: torch.as_tensor(a, dtype=torch.float32)
    seed_everything(seed)
    flow = make_flow(which, flow_cfg)
    cfg = TrainConfig(**(dict(keep_best=1, lr=1e-4, batch_size=200) | train_cfg), seed=seed, device=device)
    res = fit(flow, nll_loss(), [t(x[tr]), t(c[tr])], [t(x[va]), t(c[va])], cfg, name=f"flow{which}",
              checkpoint=checkpoint, loss_file=loss_file)
    info = dict(which=which, flow_cfg=asdict(FlowConfig(**flow_cfg)), calibration_lambda=lam,
                n_parameters=n_parameters(flow)[0],
                n_parameters_effective=n_parameters(flow)[1], best_val_nll=res.best_losses[0], history=res.history,
                train_seconds=res.seconds, n_train=len(tr), n_val=len(va))
    log.info("flow%d: %d parameters, best val NLL %.4f, lambda %.5f", which, info["n_parameters"],
             info["best_val_nll"], lam)
    with atomic_path(out) as tmp:
        torch.save(dict(info, state=res.best_states[0]), tmp)
    return info


def load_model_file(path, expected: str) -> dict:
    """torch.load of a model file written by this package, with a one-line error if it is not one."""
    try:
        d = torch.load(path, map_location="cpu", weights_only=False)
    except (OSError, RuntimeError, EOFError, ValueError) as e:
        raise InputError(f"{path}: cannot be read ({' '.join(str(e).split())[:200]}); expected {expected}") from None
    if not isinstance(d, dict):
        raise InputError(f"{path}: holds a {type(d).__name__}; expected {expected}")
    return d


def load_flow(path, which: int):
    d = load_model_file(path, f"a Flow-{'I' * which} model of `hepad calo-train-flow`")
    if d.get("which") != which:
        raise InputError(f"{path}: holds flow {d.get('which')}; expected Flow-{'I' * which}")
    cfg = {k: v for k, v in d["flow_cfg"].items()}
    flow = make_flow(which, cfg)
    flow.load_state_dict(d["state"])
    return flow.eval(), d


def score(flow1, flow2, lam: float, showers: Showers, rng: np.random.Generator, batch_size: int = 10_000) -> dict:
    """Per-shower log-likelihoods with E_inc_rec = lam * E_dep, computed `batch_size` showers at a time:
    log_p1, log_p2 (latent), jac1, jac2 (preprocessing log-Jacobians), einc_rec (GeV)."""
    out = {k: [] for k in ("log_p1", "log_p2", "jac1", "jac2", "einc_rec")}
    for lo in range(0, len(showers), batch_size):
        s = showers[lo:lo + batch_size]
        vox = pp.noisy_voxels(s, rng)
        e = pp.layer_sums_gev(vox)
        einc = lam * e.sum(1)
        x1, jac1 = pp.flow1_transform(e)
        x2, jac2 = pp.flow2_transform(vox)
        del vox
        out["log_p1"].append(flow_log_prob(flow1, x1, pp.einc_context(einc)))
        out["log_p2"].append(flow_log_prob(flow2, x2, pp.flow2_context(e, einc)))
        out["jac1"].append(jac1)
        out["jac2"].append(jac2)
        out["einc_rec"].append(einc)
    return {k: np.concatenate(v) if v else np.zeros(0) for k, v in out.items()}


def anomaly_score(scores, jacobian: bool = False) -> np.ndarray:
    """-log p of a scores file/dict: latent-space (paper) or, with `jacobian`, of (E_i, u)."""
    log_p = scores["log_p1"] + scores["log_p2"]
    if jacobian:
        log_p = log_p + scores["jac1"] + scores["jac2"]
    return -log_p
