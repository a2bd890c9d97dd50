"""config/paper.yaml: the paper-scale DAG is complete in a dry run with no data present."""

import re
import subprocess
import sys
from pathlib import Path

import yaml

from hepad.methods import METHODS
from hepad.windows import resolve_windows

ROOT = Path(__file__).resolve().parents[1]
PAPER = ROOT / "config" / "paper.yaml"


def job_counts(text: str) -> dict[str, int]:
    """The `Job stats` table of a snakemake dry run."""
    table = text.split("Job stats:", 1)[1].split("\n\n", 1)[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)}


def test_paper_dry_run_lists_every_job(tmp_path):
    cfg = yaml.safe_load(PAPER.read_text())
    r = cfg["resonant"]
    assert cfg["data"]["source"] == "lhco" and r["windows"] == "lhco9" and cfg["run"] == "paper"
    proc = subprocess.run([sys.executable, "-m", "snakemake", "-n", "-s", str(ROOT / "Snakefile"),
                           "--configfile", str(PAPER), "-d", str(tmp_path)],
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    n_win, n_nsig, n_seed = len(resolve_windows(r["windows"])), len(r["n_sig"]), len(r["seeds"])
    # methods that do not read the mock data (supervised) train once per window and seed
    n_train = sum(n_win * n_seed * (n_nsig if "data" in METHODS[m].needs else 1) for m in r["methods"])
    n_keys = n_win * len(r["methods"]) * n_nsig * n_seed
    expected = {"download_dataset": 2, "prepare_dijets": 2, "split_samples": 1, "inject_signal": n_nsig * n_seed,
                "make_testset": n_win, "train": n_train, "score": n_keys, "metrics": n_keys,
                "aggregate_resonant": 1, "all": 1}  # fmt: skip
    counts = job_counts(proc.stdout)
    assert {k: counts.get(k) for k in expected} == expected
    assert (n_win, n_nsig, n_seed, n_train) == (9, 6, 10, 1170)
    assert sum(v for k, v in counts.items() if k != "total") == counts["total"]
    for name in ("events_anomalydetection_v2.features.h5", "events_anomalydetection_qcd_extra_inneronly_features.h5"):
        assert f"output: data/{name}" in proc.stdout  # fetched into data_dir, where dataset_path() points
    assert not (tmp_path / "data").exists()
