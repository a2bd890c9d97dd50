"""The workflow end to end on config/ci.yaml, twice: lint-clean, every contract file present,
and the same seeds give the same summary.csv on the CPU."""

import csv
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hepad.aggregate import SUMMARY_COLUMNS

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--configfile", str(ROOT / "config" / "ci.yaml")]


def snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run(SNAKEMAKE + ["-d", str(workdir), *args], capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return proc


def read_summary(path: Path) -> list[dict]:
    with open(path) as f:
        return list(csv.DictReader(f))


def test_lint_is_clean(tmp_path):
    proc = snakemake(tmp_path, "--lint")
    assert "Congratulations" in proc.stdout + proc.stderr


@pytest.mark.slow
def test_ci_workflow_end_to_end_and_reproducible(tmp_path):
    a = tmp_path / "a"
    snakemake(a, "--cores", "2")
    summary = a / "results" / "ci" / "resonant" / "summary.csv"
    rows = read_summary(summary)
    assert list(rows[0]) == SUMMARY_COLUMNS
    assert len(rows) == 2 * 3 * 1 * 2  # windows x methods x n_sig x seeds
    for r in rows:
        scores = np.load(a / "results" / "ci" / "resonant" / "scores" / f"w{r['window']}" / r["method"]
                         / f"n{r['nsig']}" / f"s{r['seed']}.npz")
        assert set(scores.files) == {"score", "label", "mjj"}
        assert int(r["n_sig_test"]) == int(scores["label"].sum())
    for name in ("sic_w0", "sic_w1", "max_sic_vs_window", "max_sic_vs_nsig"):
        for ext in ("pdf", "png"):
            assert (a / "results" / "ci" / "figures" / f"{name}.{ext}").stat().st_size > 1000
    assert all(float(r["max_sic"]) > 1 for r in rows if r["method"] == "iad")
    for rule in ("toy_dijets", "aggregate_resonant", "train/w0/iad/n600/s0"):
        assert (a / "benchmarks" / "ci" / f"{rule}.tsv").exists()

    # the report collects the figures
    snakemake(a, "--report", str(a / "report.html"))
    assert (a / "report.html").stat().st_size > 10000

    # same seeds, same numbers: rerun everything from scratch in a second directory
    b = tmp_path / "b"
    snakemake(b, "--cores", "2")
    rows_b = read_summary(b / "results" / "ci" / "resonant" / "summary.csv")
    drop = lambda rs: [{k: v for k, v in r.items() if k != "train_seconds"} for r in rs]  # noqa: E731
    assert drop(rows) == drop(rows_b)
    shutil.rmtree(tmp_path)
