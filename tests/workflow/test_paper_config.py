"""config/paper.yaml: the paper-scale DAG is complete in a dry run with no data present."""

import re
import subprocess
import sys
from pathlib import Path

import yaml

from hepad.resonant.methods import METHODS
from hepad.resonant.plan import method_options
from hepad.resonant.windows import resolve_windows

ROOT = Path(__file__).resolve().parents[2]
PAPER = ROOT / "config" / "paper.yaml"


def job_counts(text: str) -> dict[str, int]:
    """The `Job stats` table of a snakemake dry run."""
    table = text.split("Job stats:", 1)[1].split("\n\n", 1)[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)}


def test_paper_dry_run_lists_every_job(tmp_path):
    cfg = yaml.safe_load(PAPER.read_text())
    r = cfg["resonant"]
    assert cfg["data"]["source"] == "lhco" and r["windows"] == "lhco9" and cfg["run"] == "paper"
    proc = subprocess.run([sys.executable, "-m", "snakemake", "-n", "-p", "-s", str(ROOT / "Snakefile"),
                           "--configfile", str(PAPER), "-d", str(tmp_path)],
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    # the R&D file has one background sample: the bump hunt is told so (its calibration then uses
    # fitted-background toys, issue 22 item 3), and its fit starts above the trigger turn-on
    bumphunt = [line for line in proc.stdout.splitlines() if "hepad bumphunt " in line]
    assert len(bumphunt) == 1 and "--null-samples shared --fit-min-mjj 2.8" in bumphunt[0], bumphunt
    windows = resolve_windows(r["windows"])
    n_win, n_nsig, n_seed = len(windows), len(r["n_sig"]), len(r["seeds"])
    lo, hi = cfg["data"]["extra_mjj_range"]
    covered = [lo - 1e-9 <= a and b <= hi + 1e-9 for a, b in windows]  # extra background only in 3.3-3.7 TeV
    # IAD and supervised need the extra background: skipped in the other windows (k-fold for the rest)
    runs = [(w, m) for w in range(n_win) for m in r["methods"]
            if covered[w] or not METHODS[m].needs & {"extra_bkg", "signal"}]
    # methods that do not read the mock data (supervised) train once per window and seed; in the
    # windows without extra background the k-fold job writes the scores itself (no score job).
    # resonant.stack [seed] (the default): one job trains the 10 seeds of one (window, method,
    # n_sig): ANODE and R-ANODE as one stack of 10 x 5 fold models, the HGB methods one after
    # another; one score job scores the 10 seeds' models. Supervised: one model per job.
    assert r.get("stack", ["seed"]) == ["seed"]
    reads = lambda m: "data" in METHODS[m].needs  # noqa: E731
    n_train = sum(n_nsig for w, m in runs if covered[w] and reads(m))
    n_simulated = sum(n_seed for w, m in runs if covered[w] and not reads(m))
    n_kfold = sum(n_nsig for w, m in runs if not covered[w])
    n_keys = len(runs) * n_nsig * n_seed
    n_files = 2 + 3 * (cfg.get("calo", {}).get("source") == "calogan")  # LHCO R&D + extra QCD; CaloGAN
    expected = {"download_dataset": n_files, "prepare_dijets": 2, "split_samples": 1, "inject_signal": n_nsig * n_seed,
                "make_testset": sum(covered), "train": n_train, "train_simulated": n_simulated, "train_kfold": n_kfold,
                "score": sum(n_nsig for w, m in runs if covered[w]),
                "metrics": n_keys, "train_bkg_flow": n_win * n_nsig, "train_sigma": n_nsig,
                "validate_template": n_win * 2, "bumphunt": 1, "aggregate_resonant": 1, "compute_accounting": 1, "all": 1}  # fmt: skip
    counts = job_counts(proc.stdout)
    assert {k: counts.get(k) for k in expected} == expected
    assert (n_win, n_nsig, n_seed, sum(covered), n_train, n_simulated, n_kfold) == (9, 6, 10, 1, 36, 10, 240)
    # one model per job before stacking: 370 train + 2400 k-fold + 540 sideband flow + 60 SIGMA jobs
    n_training = sum(counts[k] for k in ("train", "train_simulated", "train_kfold", "train_bkg_flow", "train_sigma"))
    assert n_training == 346 < 3370 / 9
    print("paper DAG, jobs per rule:", {k: v for k, v in counts.items() if k != "total"}, "total", counts["total"])
    assert proc.stderr.count("skipped in window") == 0  # reported once when a run starts, not at every parse
    assert sum(v for k, v in counts.items() if k != "total") == counts["total"]
    for name in ("events_anomalydetection_v2.features.h5", "events_anomalydetection_qcd_extra_inneronly_features.h5"):
        assert f"output: data/{name}" in proc.stdout  # fetched into data_dir, where dataset_path() points
    assert not (tmp_path / "data").exists()
