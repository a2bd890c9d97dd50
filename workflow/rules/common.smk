# Shared names and helpers. What the resonant rules need is computed in hepad.resonant.plan (P, made
# in the Snakefile; None in a calorimeter-only config).
import json
import os
import sys
from pathlib import Path

from hepad.config import run_dirs
from hepad.provenance import code_version as _code_version

# `hepad` lives next to the python running snakemake (works without activating the venv).
envvars:
    "PATH",


os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")

RUN = config["run"]
WORK, RESULTS, LOGS, BENCH = run_dirs(RUN)
RESONANT_TARGETS = []  # aggregate.smk, when the config has a resonant study
ENV = "../../envs/hepad.yaml"
SRC = Path(workflow.basedir) / "src"

wildcard_constraints:
    window=r"\d+",
    nsig=r"\d+",
    seed=r"\d+",
    method="|".join(config["resonant"]["methods"]) if P else "none",


def code_version(*steps):
    """Hash of the sources the rule's step imports ("module:function"), so that editing any of them
    reruns the rule and nothing else does (hepad.provenance)."""
    return _code_version(SRC, *steps)


def method_code_version(*steps):
    """code_version for the jobs of one method ({method} wildcard): of all the methods, the steps
    reach that method's module only (P.code_scope), so that editing one method reruns its jobs alone."""
    versions = {m: _code_version(SRC, *steps, only=P.code_scope(m)) for m in config["resonant"]["methods"]}
    return lambda wc: versions[wc.method]


def flags(paths):
    """--data X --bkg-flow Y ... of named inputs (their names are the CLI flags)."""
    return " ".join(f"--{k.replace('_', '-')} {v}" for k, v in paths.items())


DATA_DIR = config.get("data_dir", "data")


def dataset_path(name):
    """Local path of the public file `name` of resources/datasets.yaml: under `data_dir`, where the
    download rule puts it (or where the user already has it)."""
    return os.path.join(DATA_DIR, name)


def dijets_input(wc):
    """The file behind a canonical dijet table (prepare_dijets, resonant study): toy events, extra QCD or an
    n_sig = 0 background sample (null_s{seed}); else the configured input file."""
    if config["data"]["source"] != "toy":
        return input_path(config["data"], wc.sample, DATA_DIR, config["download"], MANIFEST)
    if wc.sample.startswith("null_s"):
        return rules.toy_null.output[0].format(seed=wc.sample[len("null_s"):])
    return rules.toy_dijets.output[wc.sample]


onstart:
    for line in P.skipped_lines() + P.calibration_lines() if P else []:  # once per run, not at every parse
        print(line, file=sys.stderr)
    # Local runs: no job rate limit. snakemake's default (100 jobs/1 s) re-arms a 1 s timer after every
    # scheduler pass, each finished job adds a chain of them, and every pass re-checks all ready jobs'
    # inputs: 962 s of the head process's CPU in a default run. SLURM keeps its profile's limit.
    if workflow.local_exec and getattr(workflow, "scheduler", None) is not None:
        workflow.scheduler.job_rate_limiter = None

