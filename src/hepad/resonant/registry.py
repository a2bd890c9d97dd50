"""What a method can read besides its window, declared once: the samples (`SAMPLES`) and the
shared background models (`SHARED_MODELS`). Light on purpose: the CLI parser and the workflow
plan read it at start-up; the training code is imported only when a model is trained.

A shared model is trained by its own job and read by the methods that name it in `needs`: the
sideband flow of a window (ANODE, CATHODE, R-ANODE) and SIGMA's one model per (n_sig, seed).
Its declaration says everything the workflow needs: the wildcards it depends on (hence its path
and how many are trained), how it is trained, which config options it takes. The training rule
(`train_<name>`), the `hepad train-<name>` command, the `--<name>` input of `train`, `score` and
`validate-template`, WindowInputs.models, the compute accounting and the loss figure all come
from here. A new one: a module with its `train` function (in hepad.resonant.background) and one
`register(SharedModel(...))` below.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

SAMPLES = {"data": "mock data", "extra_bkg": "extra background", "signal": "signal"}
WILDCARD_PREFIX = {"window": "w", "nsig": "n", "seed": "s"}  # path parts: w{window}/n{nsig}/s{seed}


@dataclass(frozen=True)
class SharedModel:
    name: str  # in Method.needs, WindowInputs.models, the CLI (--bkg-flow) and the paths
    wildcards: tuple[str, ...]  # what it depends on, in path order; ("nsig", "seed"): every window
    trainer: str  # "module:function", called as (data, lo, hi, options, seed, device, job, checkpoint, losses)
    options: Callable[[dict], dict]  # the config's `resonant` section -> the options given to `train`
    label: str  # loss figure panel and compute accounting
    help: str
    loader: str = "hepad.flows:DensityModel.load"  # "module:callable" (path, device) -> the model
    # "module:function" training several at once as one stack (resonant.stack), called as
    # (datas, windows, options, seeds, device, jobs, checkpoint, losses) -> [(model, FitResult)]; None: one by one
    stack_trainer: str | None = None

    def train(self, *args):
        """-> (model with .save(path), hepad.training.FitResult); see `trainer`."""
        return _resolve(self.trainer)(*args)

    def train_stack(self, *args):
        return _resolve(self.stack_trainer)(*args)

    def load(self, path: str, device: str = "cpu"):
        from pathlib import Path

        from hepad.errors import InputError

        if not Path(path).is_file():
            raise InputError(f"{path}: {self.name} model not found; run its training step ({self.rule}) first")
        return _resolve(self.loader)(path, device)

    @property
    def per_window(self) -> bool:
        return "window" in self.wildcards

    @property
    def rule(self) -> str:
        return f"train_{self.name}"

    @property
    def command(self) -> str:
        return f"train-{self.name.replace('_', '-')}"

    @property
    def wildcard_path(self) -> str:
        """w{window}/n{nsig}/s{seed} (its wildcards only), the tail of its paths."""
        return "/".join(f"{WILDCARD_PREFIX[w]}{{{w}}}" for w in self.wildcards)

    def stem(self, root: str) -> str:
        """Path template without extension: {root}/{name}/w{window}/n{nsig}/s{seed}."""
        return f"{root}/{self.name}/{self.wildcard_path}"


def _resolve(target: str):
    """"module:attr.attr" -> the object (imported only when used)."""
    module, _, attrs = target.partition(":")
    obj = importlib.import_module(module)
    for a in attrs.split("."):
        obj = getattr(obj, a)
    return obj


SHARED_MODELS: dict[str, SharedModel] = {}


def register(model: SharedModel) -> SharedModel:
    SHARED_MODELS[model.name] = model
    return model


register(SharedModel(
    "bkg_flow", ("window", "nsig", "seed"), "hepad.resonant.background.sideband:train", lambda r: dict(r["flow"]),
    "sideband flows", "the window's sideband flow p_bg(x | m_jj) (ANODE, CATHODE, R-ANODE)",
    stack_trainer="hepad.resonant.background.sideband:train_stack"))
register(SharedModel(
    "sigma", ("nsig", "seed"), "hepad.resonant.background.sigma:train",
    lambda r: {**r["flow"], **r["sigma"].get("flow", {}), "embedding": r["sigma"].get("embedding", {})}, "SIGMA",
    "SIGMA's model of all data, for every window", stack_trainer="hepad.resonant.background.sigma:train_stack"))
