"""What the resonant rules need, computed from the config (workflow/rules/resonant.smk and
aggregate.smk read it; unit-tested in tests/resonant/test_plan.py).

Paths: work/{run}/ intermediate files, results/{run}/ results, logs/{run}/, benchmarks/{run}/.
Wildcards: window (index into the windows), method, nsig, seed; a method that does not read the
mock data (supervised) is trained once per (window, seed) under nsig "all".
"""

from __future__ import annotations

import itertools
from dataclasses import fields
from types import SimpleNamespace

from hepad.config import run_dirs
from hepad.errors import InputError
from hepad.resonant.registry import SHARED_MODELS
from hepad.resonant.windows import resolve_windows

MIN_TEMPLATE_SEEDS = 3  # the template route's n_sig = 0 rows: leave-one-out over the other seeds' runs
POOLS = ["background", "signal_inject", "signal_train", "signal_test", "extra_train", "extra_test"]
# config keys of the `resonant` section that methods share, by the Options field they fill
SHARED_OPTIONS = {"classifier": "classifier", "val_fraction": "val_fraction", "sideband_width": "cwola_sideband_width",
                  "flow": "flow"}  # fmt: skip


def _methods():
    from hepad.resonant.methods import METHODS

    return METHODS


def method_options(method: str, r: dict) -> dict:
    """The options of `method` from the config's `resonant` section `r`: the shared keys it has a
    field for (classifier, val_fraction, cwola_sideband_width, flow), then r.method_options.<method>."""
    cls = _methods()[method]
    names = {f.name for f in fields(cls.Options)}
    opts = {field: r[key] for field, key in SHARED_OPTIONS.items() if field in names and key in r}
    opts.update(r.get("method_options", {}).get(method, {}))
    cls.Options.from_dict(opts, method)  # unknown keys and bad values: one-line error now, not in a job
    return opts


class ResonantPlan:
    def __init__(self, config: dict):
        self.config, self.r = config, config["resonant"]
        run = config["run"]
        self.work, self.results, self.logs, self.bench = run_dirs(run)
        self.windows = resolve_windows(self.r["windows"])
        fractions = config["samples"]["signal_fractions"]
        if abs(sum(fractions.values()) - 1) > 1e-9:
            raise InputError(f"config: samples.signal_fractions = {fractions}: they sum to {sum(fractions.values()):g}; "
                             "expected fractions of the signal pool summing to 1")
        self.window_ids = list(range(len(self.windows)))
        d = config["data"]
        # m_jj range of the extra background (real LHCO: 3.3-3.7 TeV only) and the windows it covers
        self.extra_range = tuple(d["toy"]["extra_mjj_range"] if d["source"] == "toy" else d["extra_mjj_range"])
        lo_x, hi_x = self.extra_range
        self.has_extra = [lo_x - 1e-9 <= lo and hi <= hi_x + 1e-9 for lo, hi in self.windows]
        # windows without extra background: no test set, k-fold on the window's own SR events
        self.evaluation = ["test" if has else "kfold" for has in self.has_extra]
        self.stack = list(self.r.get("stack", []))  # wildcards whose models share one training job
        methods = _methods()
        for m in self.r["methods"]:
            if m not in methods:
                raise InputError(f"config: resonant.methods: {m!r} is not a method; expected one of {', '.join(methods)}")
        for m in self.r.get("method_options", {}):
            if m not in methods:
                raise InputError(f"config: resonant.method_options.{m}: not a method; expected one of "
                                 f"{', '.join(methods)}")
        self.options = {m: method_options(m, self.r) for m in methods}
        self.skipped = [(w, m) for w in self.window_ids for m in self.r["methods"]
                        if self.evaluation[w] == "kfold" and methods[m].needs & {"extra_bkg", "signal"}]
        if len(self.skipped) == len(self.window_ids) * len(self.r["methods"]):
            free = [n for n, cls in methods.items() if not cls.needs & {"extra_bkg", "signal"}]
            raise InputError(f"config: resonant: nothing to train: every method of resonant.methods "
                             f"({', '.join(self.r['methods'])}) needs extra simulated background in its window, and it "
                             f"covers only {list(self.extra_range)} TeV; expected a window inside that range, or a "
                             f"method that needs none ({', '.join(free)})")
        self._check_signal_pool()
        self.keys = [dict(window=w, method=m, nsig=n, seed=s) for w in self.window_ids for m in self.r["methods"]
                     for n in self.r["n_sig"] for s in self.r["seeds"] if (w, m) not in self.skipped]
        # the training jobs behind them (methods that do not read the data are shared by every n_sig)
        self.train_keys = sorted({(k["window"], k["method"], self._model_nsig(k["method"], k["nsig"]), k["seed"])
                                  for k in self.keys}, key=str)
        # the shared models they read: name -> list of wildcard dicts
        self.shared_keys = {}
        for name, sm in SHARED_MODELS.items():
            wanted = {tuple(k[w] for w in sm.wildcards) for k in self.keys if name in methods[k["method"]].needs}
            self.shared_keys[name] = [dict(zip(sm.wildcards, v)) for v in sorted(wanted)]
        # template validation: every window and template method, at the first n_sig and seed of the scan
        from hepad.resonant.methods import TemplateMethod

        self.validation_keys = [dict(window=w, method=m, nsig=self.r["n_sig"][0], seed=self.r["seeds"][0])
                                for w in self.window_ids for m in self.r["methods"]
                                if issubclass(methods[m], TemplateMethod)]

    def _check_signal_pool(self) -> None:
        """The toy's injectable signal (its signal events x the inject fraction, as split_pools cuts
        them) must hold the largest n_sig; real data is checked by inject_signal, on the file."""
        d = self.config["data"]
        if d["source"] != "toy":
            return
        f = self.config["samples"]["signal_fractions"]
        pool = int(round(f["inject"] / sum(f.values()) * d["toy"]["n_signal"]))
        if max(self.r["n_sig"]) > pool:
            raise InputError(f"config: resonant.n_sig: {max(self.r['n_sig'])} exceeds the {pool} signal events the toy "
                             f"can inject (data.toy.n_signal {d['toy']['n_signal']} x samples.signal_fractions.inject "
                             f"{f['inject']:g}); expected at most {pool}")

    # ---- options ----
    def shared_options(self, name: str) -> dict:
        return SHARED_MODELS[name].options(self.r)

    def gpu(self, method: str) -> int:
        """Training asks for a GPU only when it trains a torch model (a flow of its own, an MLP)."""
        return int(_methods()[method].uses_gpu(self.options[method]))

    def code_scope(self, method: str) -> dict[str, set[str]]:
        """What a job of `method` can run, for its code version (hepad.provenance `only`): of the
        methods registry, the method's module and their base; of the shared-model registry, the
        loaders of the models it reads (their trainers run in their own jobs, whose outputs it reads)."""
        cls = _methods()[method]
        loaders = {SHARED_MODELS[n].loader.partition(":")[0] for n in cls.needs if n in SHARED_MODELS}
        return {"hepad.resonant.methods": {"hepad.resonant.methods.base", cls.__module__},
                "hepad.resonant.registry": {"hepad.errors", *loaders}}

    # ---- windows ----
    def window_args(self) -> str:
        """All windows as `lo hi lo hi ...` (split_samples checks them against the data's m_jj range)."""
        return " ".join(f"{lo} {hi}" for lo, hi in self.windows)

    def window_bounds(self, wc) -> str:
        lo, hi = self.windows[int(wc.window)]
        return f"{lo} {hi}"

    def window_pattern(self, evaluation: str) -> str:
        """Regex of the window ids evaluated on a test set ("test") or by k-fold ("kfold")."""
        ids = [str(w) for w in self.window_ids if self.evaluation[w] == evaluation]
        return "|".join(ids) or "(?!)"  # (?!) matches nothing

    def skipped_lines(self) -> list[str]:
        return [f"hepad: {m} skipped in window {w} {list(self.windows[w])} TeV: it needs extra simulated background "
                f"there, and the extra background covers only {list(self.extra_range)} TeV" for w, m in self.skipped]

    def calibration_lines(self) -> list[str]:
        """What the bump hunt cannot calibrate, known from the config: the template route's n_sig = 0
        rows need the other seeds' n_sig = 0 runs to measure its non-closure (leave one out)."""
        if 0 not in self.r["n_sig"] or not self.bumphunt_keys or len(self.r["seeds"]) >= MIN_TEMPLATE_SEEDS:
            return []
        return [f"hepad: bump hunt: the template route cannot be calibrated with {len(self.r['seeds'])} seed(s) "
                f"(resonant.seeds): its n_sig = 0 rows need at least {MIN_TEMPLATE_SEEDS} seeds, so they are NaN "
                "and the route is `untested`; the sideband-fit route is calibrated as usual"]

    # ---- paths ----
    def _model_nsig(self, method: str, nsig):
        return nsig if _methods()[method].reads_data() else "all"

    def pool(self, name: str) -> str:
        return f"{self.work}/samples/{name}.h5"

    @property
    def independent_null(self) -> bool:
        """n_sig = 0 runs on a background sample of their own per seed: only toy data can make them (the
        LHCO R&D file has one background sample, which every run then shares)."""
        return self.config["data"]["source"] == "toy"

    def mock_background(self, wc) -> str:
        """The background of the mock data of (n_sig, seed)."""
        if self.independent_null and int(wc.nsig) == 0:
            return f"{self.work}/dijets/null_s{wc.seed}.h5"
        return self.pool("background")

    def mock_data(self, wc) -> str:
        return f"{self.work}/resonant/data/n{wc.nsig}/s{wc.seed}.h5"

    def model(self, wc, ext: str) -> str:
        """Trained model (.pkl) and its info (.json) of (window, method, nsig, seed)."""
        nsig = self._model_nsig(wc.method, wc.nsig)
        return f"{self.work}/resonant/models/w{wc.window}/{wc.method}/n{nsig}/s{wc.seed}.{ext}"

    def test_set(self, wc) -> str:
        return f"{self.work}/resonant/test/w{wc.window}.h5"

    def shared_stem(self, name: str) -> str:
        """Path template (wildcards in braces, no extension) of a shared model."""
        return SHARED_MODELS[name].stem(f"{self.work}/resonant")

    def shared(self, name: str, wc, ext: str = "pt") -> str:
        sm = SHARED_MODELS[name]
        return f"{self.shared_stem(name)}.{ext}".format(**{w: getattr(wc, w) for w in sm.wildcards})

    # ---- stacked training jobs (resonant.stack) ----
    def stack_dims(self, name: str) -> list[str]:
        """The wildcards of shared model `name` whose values share one training job."""
        sm = SHARED_MODELS[name]
        return [w for w in sm.wildcards if w in self.stack] if sm.stack_trainer else []

    def _values(self, dim: str) -> list:
        return {"window": self.window_ids, "nsig": self.r["n_sig"], "seed": self.r["seeds"]}[dim]

    def shared_job(self, name: str) -> str:
        """Log/benchmark path tail of a training job of `name`: w{window}/n{nsig}/s{seed} with each
        stacked wildcard written as 'stack' (wstack/n{nsig}/sstack)."""
        sm = SHARED_MODELS[name]
        return sm.wildcard_path.format(**{w: "stack" if w in self.stack_dims(name) else f"{{{w}}}"
                                          for w in sm.wildcards})

    def shared_members(self, name: str, wc) -> list[SimpleNamespace]:
        """The models one training job of `name` makes: every value of its stacked wildcards, the
        job's own value of the others."""
        sm, dims = SHARED_MODELS[name], self.stack_dims(name)
        free = {w: getattr(wc, w) for w in sm.wildcards if w not in dims}
        return [SimpleNamespace(**free, **dict(zip(dims, c))) for c in itertools.product(*map(self._values, dims))]

    def shared_outputs(self, name: str, ext: str) -> list[str]:
        """Output templates of one training job of `name` (its free wildcards in braces)."""
        sm = SHARED_MODELS[name]
        stem = self.shared_stem(name) + f".{ext}"
        keep = SimpleNamespace(**{w: f"{{{w}}}" for w in sm.wildcards})
        return [stem.format(**vars(m)) for m in self.shared_members(name, keep)]

    def shared_job_args(self, name: str):
        """Input and params functions of the training rule of `name`: (mock data per member,
        '--window lo hi ...' per member, seeds)."""
        members = lambda wc: self.shared_members(name, wc)  # noqa: E731
        data = lambda wc: [self.mock_data(m) for m in members(wc)]  # noqa: E731
        window = lambda wc: ("--window " + " ".join(self.window_bounds(m) for m in members(wc))  # noqa: E731
                             if SHARED_MODELS[name].per_window else "")
        seeds = lambda wc: " ".join(str(m.seed) for m in members(wc))  # noqa: E731
        return data, window, seeds

    def train_inputs(self, wc) -> dict:
        """Inputs of the training job of (window, method, nsig, seed): the samples and shared models
        of the method's `needs`, keyed by those names (also the CLI flags: --data, --bkg-flow, ...)."""
        samples = {"data": None if getattr(wc, "nsig", "all") == "all" else self.mock_data(wc), "extra_bkg": self.pool("extra_train"),
                   "signal": self.pool("signal_train")}
        out = {}
        for key in sorted(_methods()[wc.method].needs):
            out[key] = self.shared(key, wc) if key in SHARED_MODELS else samples[key]
        return {k: v for k, v in out.items() if v is not None}

    def score_inputs(self, wc) -> dict:
        """The shared models the method scores with (its `score_needs`)."""
        return {k: self.shared(k, wc) for k in sorted(_methods()[wc.method].score_needs)}

    # ---- a method's jobs: the models of every window and seed of resonant.stack ----
    # With resonant.stack [window, seed], one job per (method, n_sig) trains the models of every
    # test-set window and seed (one more for the k-fold windows): as one stack when the method has
    # torch models (Method.stackable), else one after another; one job per (method, n_sig) scores
    # them. [] : one model per job. Supervised (no data) is one model per job.
    def method_dims(self) -> list[str]:
        """The wildcards of a method's models that share one training (and scoring) job."""
        return [d for d in ("window", "seed") if d in self.stack]

    def method_job(self) -> str:
        """Path tail of a method's job: w{window}/{method}/n{nsig}/s{seed}, stacked wildcards as 'stack'."""
        dims = self.method_dims()
        return "w{window}/{method}/n{nsig}/s{seed}".format(
            method="{method}", nsig="{nsig}", **{d: "stack" if d in dims else f"{{{d}}}" for d in ("window", "seed")})

    def method_members(self, wc, evaluation: str = "test") -> list[SimpleNamespace]:
        """The models of one job: every window (of this `evaluation`: test or kfold) and seed of its
        stacked wildcards, the job's own method, n_sig and other wildcards."""
        dims = self.method_dims()
        values = {"window": [w for w in self.window_ids if self.evaluation[w] == evaluation], "seed": self.r["seeds"]}
        own = {k: getattr(wc, k) for k in ("window", "method", "nsig", "seed") if k not in dims}
        return [SimpleNamespace(**own, **dict(zip(dims, c))) for c in itertools.product(*(values[d] for d in dims))]

    def method_outputs(self, template: str, evaluation: str = "test") -> list[str]:
        """Output templates of one job (free wildcards in braces) from a per-model `template`."""
        keep = SimpleNamespace(**{k: f"{{{k}}}" for k in ("window", "method", "nsig", "seed")})
        return [template.format(**vars(m)) for m in self.method_members(keep, evaluation)]

    def train_job_args(self, evaluation: str | None) -> dict:
        """Param functions of a training rule: per member the window '--window lo hi ...', its index,
        its seed; k, the fit width and the device; and (evaluation test or kfold: a job of several
        members) its input function "inputs", per `needs` key one path per member. None: one model."""
        members = (lambda wc: [wc]) if evaluation is None else (lambda wc: self.method_members(wc, evaluation))  # noqa: E731
        out = {"window": lambda wc: " ".join(self.window_bounds(m) for m in members(wc)),
               "index": lambda wc: " ".join(str(m.window) for m in members(wc)),
               "seeds": lambda wc: " ".join(str(m.seed) for m in members(wc)),
               "k": self.r["kfold"], "fit_width": self.r["bumphunt"]["fit_width"], "device": self.config["device"]}
        if evaluation is not None:
            def inputs(wc) -> dict:
                per = [self.train_inputs(m) for m in members(wc)]
                return {k: [m[k] for m in per] for k in per[0]}

            out["inputs"] = inputs
        return out

    def stack_score_inputs(self, wc) -> dict:
        """Inputs of a scoring job: per member its model and test set, and its shared models."""
        members = self.method_members(wc)
        out = {"model": [self.model(m, "pkl") for m in members], "test": [self.test_set(m) for m in members]}
        for k in sorted(_methods()[wc.method].score_needs):
            out[k] = [self.shared(k, m) for m in members]
        return out

    def data_scores(self, key: dict) -> str:
        return "{results}/resonant/data_scores/w{window}/{method}/n{nsig}/s{seed}.npz".format(results=self.results, **key)

    @property
    def bumphunt_keys(self) -> list[dict]:
        """The bump hunt's runs: every key of a method that reads the data (not supervised: it is
        trained on simulation, not a search)."""
        methods = _methods()
        return [k for k in self.keys if methods[k["method"]].reads_data()]

    @property
    def bumphunt_routes(self) -> set:
        """The methods' own bump-hunt routes (Method.bumphunt_route: "ratio" for R-ANODE)."""
        methods = _methods()
        return {methods[k["method"]].bumphunt_route for k in self.bumphunt_keys}

    def metrics(self, key: dict) -> str:
        return "{work}/resonant/metrics/w{window}/{method}/n{nsig}/s{seed}.json".format(work=self.work, **key)

    def train_benchmarks(self) -> list[str]:
        """Benchmark files of every training job: methods (test-set or k-fold windows) and shared models."""
        out = []
        for w, m, n, s in self.train_keys:
            job = (self.method_job() if n != "all" else "w{window}/{method}/n{nsig}/s{seed}").format(
                window=w, method=m, nsig=n, seed=s)
            out.append(f"{self.bench}/{'train' if self.evaluation[w] == 'test' else 'train_kfold'}/{job}.tsv")
        out = list(dict.fromkeys(out))  # a stack: one file for its members
        for name, keys in self.shared_keys.items():  # one per training job (a stack: one for its members)
            job = f"{self.bench}/{SHARED_MODELS[name].rule}/{self.shared_job(name)}.tsv"
            out += list(dict.fromkeys(job.format(**k) for k in keys))
        return out

    def stack_values(self) -> str:
        """`rule:dim=v1,v2 ...` of the stacked wildcards per training rule: the members a stacked job's
        time is divided among (a method's jobs in test-set or in k-fold windows; the shared models)."""
        windows = {e: [w for w in self.window_ids if self.evaluation[w] == e] for e in ("test", "kfold")}
        values = {"train": {**self._dim_values(), "window": windows["test"]},
                  "train_kfold": {**self._dim_values(), "window": windows["kfold"]},
                  **{sm.rule: self._dim_values() for sm in SHARED_MODELS.values()}}
        return " ".join(f"{rule}:{d}={','.join(map(str, v[d]))}" for rule, v in values.items() for d in self.stack
                        if v[d])

    def _dim_values(self) -> dict:
        return {d: self._values(d) for d in ("window", "nsig", "seed")}

    def loss_files(self) -> list[str]:
        """MODEL=FILE of every shared model's per-epoch losses (the flow_losses figure)."""
        return [f"{name}=" + f"{self.shared_stem(name)}.losses.csv".format(**k)
                for name, keys in self.shared_keys.items() for k in keys]
