"""bench/rule_profile.py: benchmark files of a run -> jobs, seconds and share per rule."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("profile_bench", ROOT / "bench" / "rule_profile.py")
prof = importlib.util.module_from_spec(spec)
spec.loader.exec_module(prof)

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
# benchmark paths as workflow/rules/*.smk write them -> their rule
PATHS = {"calo/train_flow1.tsv": "calo_train_flow", "calo/toy/m5.0_d0.33.tsv": "calo_toy", "calo/heatmap.tsv": "calo_heatmap",
         "calo/score/photons.tsv": "calo_score", "toy_null_s2.tsv": "toy_null", "prepare_dijets_extra.tsv": "prepare_dijets",
         "train/w2/supervised/nall/s1.tsv": "train_simulated", "train/iad/n1000.tsv": "train",
         "metrics/w0/iad/n0/s0.tsv": "metrics", "train_bkg_flow/n500.tsv": "train_bkg_flow", "bumphunt.tsv": "bumphunt",
         "download/lhco.tsv": "download_dataset"}  # fmt: skip


def test_rules_jobs_and_seconds(tmp_path):
    for i, rel in enumerate(PATHS):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(HEADER + f"{i + 1.5}\t0:00:01\t{100 * i}\tNA\tNA\tNA\tNA\tNA\tNA\t{i}\n")
    (tmp_path / "metrics/w0/iad/n0/s1.tsv").write_text(HEADER + "2.0\t0:00:02\t5\tNA\tNA\tNA\tNA\tNA\tNA\tNA\n")
    p = prof.profile(tmp_path)
    assert set(p) == set(PATHS.values())
    assert p["metrics"]["jobs"] == 2 and p["metrics"]["seconds"] == pytest.approx(8 + 1.5 + 2.0)
    assert p["calo_train_flow"]["jobs"] == 1 and p["calo_train_flow"]["seconds"] == 1.5
    assert p["bumphunt"]["max_rss_mb"] == 1000 and p["metrics"]["cpu_seconds"] == 8  # NA counts as 0


def test_unknown_path_and_missing_folder(tmp_path, capsys):
    with pytest.raises(ValueError, match="no rule"):
        prof.rule_of("odd name.tsv")
    assert prof.main([str(tmp_path / "nope")]) == 2
    assert "no such folder" in capsys.readouterr().err
    assert prof.main([str(tmp_path)]) == 2  # empty


def test_wall_time_log_of_make_workflow(tmp_path, capsys):
    (tmp_path / "bumphunt.tsv").write_text(HEADER + "100\t0:01:40\t5\tNA\tNA\tNA\tNA\tNA\tNA\t90\n")
    (tmp_path / "wall_seconds.log").write_text("2026-12-06T13:00:00 150 rc=1\n2026-12-06T14:00:00 50 rc=0\n")
    assert prof.main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "200 s over 2 invocation(s)" in out and "job time / wall time: 0.50" in out
