"""The one training loop for every flow and network: device, seeding, early stopping,
best-epoch ensembling, checkpoint/resume and a per-epoch loss file.

Data live on the device as tensors and are batched by index slicing (no DataLoader): for the
small models of this field the per-batch Python overhead, not the arithmetic, sets the speed.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import logging
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from hepad.errors import InputError, TrainingDiverged
from hepad.io.atomic import atomic_path

log = logging.getLogger(__name__)

__all__ = ["TrainConfig", "FitResult", "TrainingDiverged", "fit", "evaluate", "autocast", "ensemble", "lr_at", "resolve_device",
           "seed_everything", "write_history"]

def resolve_device(device: str = "auto") -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def seed_everything(seed: int) -> None:
    """Same seed, same result on the CPU."""
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@dataclass
class TrainConfig:
    epochs: int = 100
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.0
    keep_best: int = 10  # ensemble the states of the epochs with the lowest validation loss
    patience: int | None = None  # stop after this many epochs without a new best
    seed: int = 0
    device: str = "auto"
    optimizer: str = "adam"  # adam | adamw
    lr_schedule: str = "constant"  # constant | cosine | halving (set per epoch from the epoch number: resume-safe)
    milestones: tuple[int, ...] = ()  # halving: lr / 2 from each of these epochs on (0-based epoch index)
    eval_batch_size: int = 8192
    # bfloat16: the training steps' matmuls in bfloat16 (torch.autocast, float32 weights, optimiser and
    # everything else; ~2x a step of our flows on a CPU with avx512_bf16); validation and use in float32
    precision: str = "float32"  # float32 | bfloat16

    def __post_init__(self):
        self.milestones = tuple(self.milestones)
        ok = all(isinstance(m, int) and m >= 1 for m in self.milestones) and list(self.milestones) == sorted(set(self.milestones))
        if self.lr_schedule not in ("constant", "cosine", "halving") or not ok or (self.lr_schedule == "halving") != bool(self.milestones):
            raise InputError(f"lr_schedule {self.lr_schedule!r} with milestones {list(self.milestones)}: expected constant, "
                             "cosine, or halving with increasing epochs >= 1 (milestones only with halving)")
        if self.precision not in ("float32", "bfloat16"):
            raise InputError(f"precision {self.precision!r}: expected float32 or bfloat16")


@dataclass
class FitResult:
    best_states: list[dict]  # state_dicts on the CPU, best first
    best_losses: list[float]
    history: list[dict] = field(default_factory=list)  # epoch, train_loss, val_loss, seconds
    seconds: float = 0.0


LossFn = Callable[[torch.nn.Module, Sequence[torch.Tensor]], torch.Tensor]


def check_precision(cfg: TrainConfig, device: torch.device, name: str) -> None:
    """bfloat16 needs bfloat16 matmul units to be faster: a GPU that lacks them is an error, a CPU
    without avx512_bf16 / AMX (emulated, slower than float32) a warning."""
    if cfg.precision != "bfloat16":
        return
    if device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise InputError(f"{name}: precision bfloat16, but {torch.cuda.get_device_name(device)} has no bfloat16 "
                         "support; set precision: float32")
    native = [getattr(torch.cpu, f, lambda: False)() for f in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    if device.type == "cpu" and not any(native):
        log.warning("%s: precision bfloat16 on a CPU without bfloat16 matmul units (avx512_bf16, AMX): emulated, "
                    "likely slower than float32 (set precision: float32)", name)


def autocast(cfg: TrainConfig, device: torch.device):
    """The context of a training step's forward pass: bfloat16 matmuls with cfg.precision bfloat16."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.precision == "bfloat16")


def _batches(n: int, batch_size: int, perm: torch.Tensor | None = None):
    for start in range(0, n, batch_size):
        yield perm[start : start + batch_size] if perm is not None else slice(start, start + batch_size)


@torch.no_grad()
def evaluate(model: torch.nn.Module, loss_fn: LossFn, data: Sequence[torch.Tensor], batch_size: int) -> float:
    """Mean loss over `data`, weighted by batch size."""
    model.eval()
    n = len(data[0])
    total = 0.0
    for idx in _batches(n, batch_size):
        batch = [t[idx] for t in data]
        total += float(loss_fn(model, batch)) * len(batch[0])
    return total / max(n, 1)


def lr_at(cfg: TrainConfig, epoch: int) -> float:
    """Learning rate of 0-based `epoch`: constant; cosine (to 0 over `epochs`); halving (CaloFlow:
    lr * 0.5**k, k the number of `milestones` <= epoch)."""
    if cfg.lr_schedule == "cosine":
        return cfg.lr * 0.5 * (1 + math.cos(math.pi * epoch / cfg.epochs))
    if cfg.lr_schedule == "halving":
        return cfg.lr * 0.5 ** sum(epoch >= m for m in cfg.milestones)
    return cfg.lr


def make_optimizer(params, cfg: TrainConfig):
    cls = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[cfg.optimizer]
    # fused: one kernel for all parameters instead of several per tensor (about 0.8 ms a step here)
    return cls(params, lr=cfg.lr, weight_decay=cfg.weight_decay, fused=True)


def fit(
    model: torch.nn.Module,
    loss_fn: LossFn,
    train: Sequence[torch.Tensor],
    val: Sequence[torch.Tensor],
    cfg: TrainConfig,
    name: str = "model",
    checkpoint: str | os.PathLike | None = None,
    loss_file: str | os.PathLike | None = None,
) -> FitResult:
    """Minimise `loss_fn` (mean loss of a batch) over `train`, select epochs on `val`.

    `checkpoint`: written after every epoch; if it exists at the start and was made from the same
    inputs (fingerprint: job name, training options, architecture, data, code), training resumes
    from it and ends with the same result as an uninterrupted run; otherwise it is discarded, with
    a log line saying what differs. `name` identifies the job in errors.
    """
    device = resolve_device(cfg.device)
    check_precision(cfg, device, name)
    seed_everything(cfg.seed)
    made_from = fingerprint(model, loss_fn, train, val, cfg, name) if checkpoint is not None else None
    model.to(device)
    train = [t.to(device) for t in train]
    val = [t.to(device) for t in val]
    opt = make_optimizer(model.parameters(), cfg)
    gen = torch.Generator(device="cpu").manual_seed(cfg.seed)
    result = FitResult(best_states=[], best_losses=[])
    start_epoch = 0
    state = _load_checkpoint(checkpoint, made_from, device, name)
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        gen.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        result = state["result"]
        start_epoch = cfg.epochs if state.get("stopped") else state["epoch"] + 1  # an early stop stays stopped
        log.info("%s: resumed from %s after epoch %d", name, checkpoint, state["epoch"])

    n = len(train[0])
    t0 = time.perf_counter() - result.seconds
    for epoch in range(start_epoch, cfg.epochs):
        te = time.perf_counter()
        for group in opt.param_groups:
            group["lr"] = lr_at(cfg, epoch)
        model.train()
        perm = torch.randperm(n, generator=gen).to(device)
        total = torch.zeros((), device=device)
        for idx in _batches(n, cfg.batch_size, perm):
            batch = [t[idx] for t in train]
            with autocast(cfg, device):
                loss = loss_fn(model, batch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.detach() * len(idx)
        train_loss = float(total) / n
        val_loss = evaluate(model, loss_fn, val, cfg.eval_batch_size)
        if not (math.isfinite(train_loss) and math.isfinite(val_loss)):
            raise TrainingDiverged(
                f"{name}: loss is not finite at epoch {epoch} (train {train_loss}, val {val_loss}); "
                "lower the learning rate or check the inputs"
            )
        _update_best(result, {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}, val_loss,
                     cfg.keep_best)
        result.history.append(
            dict(epoch=epoch, train_loss=train_loss, val_loss=val_loss, seconds=time.perf_counter() - te)
        )
        result.seconds = time.perf_counter() - t0
        done = len(result.history)  # progress: one line per epoch with the time left at this pace
        eta = result.seconds / done * (cfg.epochs - epoch - 1)
        log.info("%s: epoch %d/%d train %.5f val %.5f (%.1fs, about %.0fs left)", name, epoch + 1, cfg.epochs,
                 train_loss, val_loss, result.history[-1]["seconds"], eta)
        stop = _patience_exhausted(result.history, cfg.patience)
        if checkpoint is not None:
            with atomic_path(checkpoint) as tmp:
                torch.save(dict(model=model.state_dict(), optimizer=opt.state_dict(), generator=gen.get_state(),
                                torch_rng=torch.get_rng_state(), result=result, epoch=epoch, stopped=stop,
                                made_from=made_from), tmp)
        if stop:
            log.info("%s: early stop after epoch %d", name, epoch + 1)
            break
    if loss_file is not None:
        write_history(loss_file, result.history)
    return result


def fingerprint(model: torch.nn.Module, loss_fn, train, val, cfg: TrainConfig, name: str) -> dict:
    """What a checkpoint was made from: the job (its name holds window, n_sig, seed), the training
    options (not the device), the architecture, the data and the code of the model and the loop."""
    from hepad.provenance import code_version

    data = hashlib.sha256()
    for t in [*train, *val]:
        data.update(str((t.dtype, tuple(t.shape))).encode())
        data.update(t.detach().cpu().contiguous().numpy().tobytes())
    shapes = [(k, tuple(v.shape), str(v.dtype)) for k, v in model.state_dict().items()]
    modules = sorted({m for m in (type(model).__module__, getattr(loss_fn, "__module__", "")) if m.startswith("hepad")})
    src = Path(__file__).resolve().parents[1]
    return {"job": name, "options": {k: v for k, v in asdict(cfg).items() if k not in ("device", "eval_batch_size")},
            "architecture": hashlib.sha256(f"{shapes}{getattr(model, 'cfg', '')}{model}".encode()).hexdigest()[:16],
            "data": data.hexdigest()[:16], "code": code_version(src, "hepad.training", *modules)}


def _load_checkpoint(path, made_from: dict | None, device, name: str) -> dict | None:
    """The checkpoint at `path` if it was made from `made_from`; else None (and it is removed)."""
    if path is None or not Path(path).exists():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)  # RNG states must stay on the CPU
    except Exception as e:  # a truncated or foreign file: start afresh, do not fail the job
        log.info("%s: checkpoint %s unreadable (%s); training from scratch", name, path, e)
        Path(path).unlink()
        return None
    old = state.get("made_from") or {}
    differs = [k for k in made_from if old.get(k) != made_from[k]]
    if differs:
        log.info("%s: checkpoint %s was made from another %s; discarded, training from scratch", name, path,
                 ", ".join(differs))
        Path(path).unlink()
        return None
    return state


def _update_best(result: FitResult, state: dict, val_loss: float, keep: int) -> None:
    """Keep the `keep` states (CPU state_dicts) with the lowest validation loss, best first."""
    pairs = sorted(zip(result.best_losses + [val_loss], result.best_states + [state]), key=lambda p: p[0])[:keep]
    result.best_losses = [p[0] for p in pairs]
    result.best_states = [p[1] for p in pairs]


def _patience_exhausted(history: list[dict], patience: int | None) -> bool:
    if patience is None:
        return False
    losses = [h["val_loss"] for h in history]
    return len(losses) - 1 - int(np.argmin(losses)) >= patience


def write_history(path: str | os.PathLike, history: list[dict]) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["epoch", "train_loss", "val_loss", "seconds"])
        w.writeheader()
        w.writerows(history)


def ensemble(model: torch.nn.Module, states: list[dict]) -> list[torch.nn.Module]:
    """Copies of `model` carrying each of `states` (for best-epoch ensembling), in eval mode."""
    out = []
    for s in states:
        m = copy.deepcopy(model)
        m.load_state_dict(s)
        out.append(m.eval())
    return out
