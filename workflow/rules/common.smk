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


def flags(paths):
    """--data X --bkg-flow Y ... of named inputs (their names are the CLI flags)."""
    return " ".join(f"--{k.replace('_', '-')} {v}" for k, v in paths.items())


DATA_DIR = config.get("data_dir", "data")


onstart:
    for line in P.skipped_lines() if P else []:  # reported once per run (not at every parse of the Snakefile)
        print(line, file=sys.stderr)

