"""Compute accounting of the resonant study from the training jobs' snakemake benchmark files.

A method's training cost = its own training jobs + the shared flows it uses: the sideband flows
(one per window, n_sig, seed) for ANODE, CATHODE and R-ANODE, SIGMA's one model per (n_sig, seed)
for SIGMA. A shared flow is counted in full for each method that uses it: that is what running
the method alone would cost. A stacked job (resonant.stack: several models trained as one, its
benchmark path says `stack` for the stacked wildcards) is divided equally among its members:
compute_jobs.csv has one row per member with `seconds` = the job's time / `stack_size`.
"""

from __future__ import annotations

import csv
import itertools
import re
from collections import defaultdict
from pathlib import Path

from hepad.errors import InputError
from hepad.io.atomic import write_csv
from hepad.resonant.registry import SHARED_MODELS

OWN_RULES = ("train", "train_kfold")  # a method's own training jobs (test-set windows, k-fold windows)
JOB = re.compile(rf"(?P<rule>{'|'.join(OWN_RULES + tuple(m.rule for m in SHARED_MODELS.values()))})/"
                 r"(?:w(?P<window>\d+|stack)/)?(?:(?P<method>[a-z_]+)/)?n(?P<nsig>\d+|all|stack)/s(?P<seed>\d+|stack)\.tsv$")
JOB_COLUMNS = ["rule", "window", "method", "nsig", "seed", "seconds", "cpu_seconds", "max_rss_mb", "stack_size"]
METHOD_COLUMNS = ["method", "n_jobs", "own_seconds", "shared_flow", "n_flows", "flow_seconds", "total_seconds"]


def read_benchmark(path: str) -> dict:
    m = JOB.search(Path(path).as_posix())
    if m is None:
        raise InputError(f"{path}: not a training benchmark file (expected .../train*/[w*/][method/]n*/s*.tsv)")
    with open(path) as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    if not rows or "s" not in rows[0]:
        raise InputError(f"{path}: expected a snakemake benchmark table with a column 's'")
    r = rows[-1]
    num = lambda k: float(r[k]) if r.get(k, "NA") not in ("NA", "-", "") else float("nan")  # noqa: E731
    return {**{k: m.group(k) or "" for k in ("rule", "window", "method", "nsig", "seed")},
            "seconds": num("s"), "cpu_seconds": num("cpu_time"), "max_rss_mb": num("max_rss"), "stack_size": 1}


def unstack(job: dict, values: dict[str, list[str]]) -> list[dict]:
    """A stacked job as one row per member (the wildcards it stacks take each of `values`), its
    seconds and CPU seconds divided equally among them; other jobs unchanged."""
    dims = [d for d in ("window", "nsig", "seed") if job[d] == "stack"]
    if not dims:
        return [job]
    missing = [d for d in dims if not values.get(d)]
    if missing:
        raise InputError(f"{job['rule']}: a stacked job over {missing} but no --stack values for them")
    combos = list(itertools.product(*(values[d] for d in dims)))
    share = {k: job[k] / len(combos) for k in ("seconds", "cpu_seconds")}
    return [{**job, **dict(zip(dims, c)), **share, "stack_size": len(combos)} for c in combos]


def shared_rules(method: str) -> list[str]:
    """The training rules of the shared models `method` reads (its `needs`)."""
    from hepad.resonant.methods import METHODS

    needs = METHODS[method].needs if method in METHODS else frozenset()
    return [m.rule for m in SHARED_MODELS.values() if m.name in needs]


def _serves(model_job: dict, keys: set) -> bool:
    """A per-window shared model serves its (window, n_sig, seed); one without a window every window."""
    w, n, s = model_job["window"], model_job["nsig"], model_job["seed"]
    return (w, n, s) in keys if w else any((kn, ks) == (n, s) for _, kn, ks in keys)


def by_method(jobs: list[dict]) -> list[dict]:
    own, shared = defaultdict(list), defaultdict(list)
    for j in jobs:
        (own[j["method"]] if j["rule"] in OWN_RULES else shared[j["rule"]]).append(j)
    out = []
    for method in sorted(own):
        keys = {(j["window"], j["nsig"], j["seed"]) for j in own[method]}
        used = [f for rule in shared_rules(method) for f in shared.get(rule, []) if _serves(f, keys)]
        own_s, flow_s = sum(j["seconds"] for j in own[method]), sum(f["seconds"] for f in used)
        out.append({"method": method, "n_jobs": len(own[method]), "own_seconds": own_s,
                    "shared_flow": "+".join(shared_rules(method)), "n_flows": len(used), "flow_seconds": flow_s,
                    "total_seconds": own_s + flow_s})
    return out


def account(benchmarks: list[str], jobs_csv: str, methods_csv: str, figure: str,
            stack: dict[str, dict[str, list[str]]] | None = None) -> list[dict]:
    """`stack`: per training rule, the values of each stacked wildcard (resonant.stack), e.g.
    {"train": {"window": ["1", "2"], "seed": ["0", "1"]}}."""
    from hepad.resonant import plots

    stack = stack or {}
    jobs = []
    for p in benchmarks:
        job = read_benchmark(p)
        jobs += unstack(job, stack.get(job["rule"], {}))
    methods = by_method(jobs)
    plots.training_cost(methods, figure)
    write_csv(jobs_csv, jobs, JOB_COLUMNS, fmt=".4g")
    write_csv(methods_csv, methods, METHOD_COLUMNS, fmt=".4g")
    return methods
