"""The CaloFlow study alone: a config with `run` and `calo` only (the CI-size toy) runs to the heatmap
and lifetimes without any resonant job or dijet data (issue 23, item 1)."""

import csv
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_calo_only_config_runs_to_the_heatmap(tmp_path):
    ci = yaml.safe_load((ROOT / "config" / "ci.yaml").read_text())
    cfg = {"run": "calo_only", "device": "cpu", "threads": {"train": 1, "score": 1}, "calo": ci["calo"]}
    (tmp_path / "calo.yaml").write_text(yaml.safe_dump(cfg))
    run = tmp_path / "run"
    p = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", "-s", str(ROOT / "Snakefile"),
                        "--configfile", str(tmp_path / "calo.yaml"), "-d", str(run)],
                       capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-3000:]
    with open(run / "results" / "calo_only" / "calo" / "heatmap.csv") as f:
        heat = list(csv.DictReader(f))
    assert len(heat) == 2 * 3 * 5  # 2 masses x 3 displacements; unsup, and sup + combined per supervised MLP
    assert (run / "results" / "calo_only" / "calo" / "lifetimes.csv").exists()
    assert not (run / "results" / "calo_only" / "resonant").exists()
    assert not (run / "work" / "calo_only" / "dijets").exists() and not (run / "work" / "calo_only" / "toy").exists()
    assert "rule train" not in p.stdout + p.stderr and "rule toy_dijets" not in p.stdout + p.stderr
