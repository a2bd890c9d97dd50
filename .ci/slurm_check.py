"""After `snakemake --profile cluster` and a local run of config/ci.yaml: every rule but the
local ones ran as a SLURM job, and the results equal the local run's (same seeds, CPU): the summary
rows of the SLURM run's n_sig values and the CaloFlow tables."""

import csv
import re
import sys
from pathlib import Path

slurm, local, slurm_log, local_log = map(Path, sys.argv[1:5])
LOCAL_RULES = {"all"}


def rules_run(log: Path) -> set[str]:
    return set(re.findall(r"^(?:local)?rule (\w+):", log.read_text(), flags=re.M)) - LOCAL_RULES


expected = rules_run(local_log)
on_slurm = set()  # the rules each SLURM job's log says it ran (a group job runs several)
for f in (slurm / ".snakemake" / "slurm_logs").rglob("*.log"):
    on_slurm |= rules_run(f)
job_ids = re.findall(r"submitted with SLURM jobid (\d+)", slurm_log.read_text())
print(f"SLURM job ids: {', '.join(job_ids)}")
print(f"rules run locally: {sorted(expected)}; rules run as SLURM jobs: {sorted(on_slurm)}")
missing = expected - on_slurm
assert not missing, f"rules that did not run as SLURM jobs: {sorted(missing)}"


def summary(run: Path) -> list[dict]:
    with open(run / "results" / "ci" / "resonant" / "summary.csv") as f:
        return [{k: v for k, v in r.items() if k != "train_seconds"} for r in csv.DictReader(f)]


a, b = summary(slurm), summary(local)
nsig = {r["nsig"] for r in a}  # the SLURM run's n_sig values (a subset of the local run's)
b = [r for r in b if r["nsig"] in nsig]
assert a and a == b, "summary.csv of the SLURM run differs from the local run"
print(f"summary.csv: {len(a)} rows (n_sig {sorted(nsig)}), SLURM run == local run (all columns but train_seconds)")
for name in ("calo/heatmap.csv", "calo/lifetimes.csv"):
    same = (slurm / "results" / "ci" / name).read_text() == (local / "results" / "ci" / name).read_text()
    assert same, f"{name} of the SLURM run differs from the local run"
    print(f"{name}: SLURM run == local run")
