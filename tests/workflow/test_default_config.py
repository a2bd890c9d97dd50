"""config/config.yaml (the `make workflow` run): its job count per rule is pinned, so that the default
run cannot grow unnoticed (issue 21: the default's wall time is the first thing a user meets)."""

import subprocess
import sys
from pathlib import Path

import yaml
from test_paper_config import job_counts

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = ROOT / "config" / "config.yaml"

# The dry run of config/config.yaml, December 2026: 507 jobs. Change it only with the README's
# "Measured" section (wall time and profile of a whole run of the new default).
PINNED = {"calo_toy": 44, "toy_dijets": 1, "toy_null": 3, "calo_example": 1, "calo_train_flow": 2, "prepare_dijets": 5,
          "calo_score": 41, "calo_train_supervised": 2, "split_samples": 1, "calo_heatmap": 1, "calo_lifetimes": 1,
          "inject_signal": 9, "make_testset": 5, "train_simulated": 15, "score": 21, "train": 18, "train_bkg_flow": 3,
          "train_sigma": 3, "flow_losses": 1, "metrics": 315, "validate_template": 10, "bumphunt": 1,
          "compute_accounting": 1, "template_closure": 1, "aggregate_resonant": 1, "all": 1}  # fmt: skip


def test_default_config_job_count_per_rule_is_pinned(tmp_path):
    cfg = yaml.safe_load(DEFAULT.read_text())
    r = cfg["resonant"]
    n_win, n_nsig, n_seed, n_methods = len(r["windows"]), len(r["n_sig"]), len(r["seeds"]), len(r["methods"])
    # the arithmetic behind the pinned numbers: a metrics job per (window, method, n_sig, seed); with
    # resonant.stack [window, seed], one training job per (method, n_sig) for the methods that read the
    # data and one sideband-flow and one SIGMA job per n_sig; supervised one job per (window, seed)
    assert (n_win, n_nsig, n_seed, n_methods) == (5, 3, 3, 7)
    assert PINNED["metrics"] == n_win * n_methods * n_nsig * n_seed
    assert PINNED["train_bkg_flow"] == PINNED["train_sigma"] == n_nsig == PINNED["toy_null"]
    assert PINNED["inject_signal"] == n_nsig * n_seed
    assert PINNED["train_simulated"] == n_win * n_seed
    assert PINNED["train"] == (n_methods - 1) * n_nsig  # stack [window, seed]: one job a (method, n_sig)
    proc = subprocess.run([sys.executable, "-m", "snakemake", "-n", "-s", str(ROOT / "Snakefile"), "--configfile", str(DEFAULT),
                           "-d", str(tmp_path)], capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    counts = job_counts(proc.stdout)
    total = counts.pop("total")
    assert counts == PINNED, {k: (counts.get(k), v) for k, v in {**counts, **PINNED}.items() if counts.get(k) != PINNED.get(k)}
    assert total == sum(PINNED.values()) == 507


def test_calibration_config_is_the_default_with_more_null_samples(tmp_path):
    """config/calibration.yaml (make calibration, issue 22 item 1) calibrates the default's bump hunt:
    the same data, samples, windows and classifier, n_sig 0 only, 20 seeds, each its own toy background
    sample (toy_null), HGB methods. If the default changes, this config must follow."""
    cal = yaml.safe_load((ROOT / "config" / "calibration.yaml").read_text())
    cfg = yaml.safe_load(DEFAULT.read_text())
    assert cal["data"] == cfg["data"] and cal["samples"] == cfg["samples"] and cal["run"] != cfg["run"]
    for key in ("windows", "kfold", "min_bkg", "cwola_sideband_width", "classifier", "stack"):
        assert cal["resonant"][key] == cfg["resonant"][key], key
    assert cal["resonant"]["n_sig"] == [0] and len(cal["resonant"]["seeds"]) == 20 and "calo" not in cal
    proc = subprocess.run([sys.executable, "-m", "snakemake", "-n", "-s", str(ROOT / "Snakefile"), "--configfile",
                           str(ROOT / "config" / "calibration.yaml"), "-d", str(tmp_path)], capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    counts = job_counts(proc.stdout)
    assert counts["toy_null"] == 20 and counts["train"] == 2 and counts["bumphunt"] == 1
