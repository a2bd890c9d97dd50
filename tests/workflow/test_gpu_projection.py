"""bench/gpu_projection.py: the paper scan's training jobs per rule, each costed (here on the CPU)."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("gpu_projection", ROOT / "bench" / "gpu_projection.py")
gpu_projection = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gpu_projection)


@pytest.mark.slow
def test_projection_costs_every_training_job_of_the_paper_dag(capsys):
    rows = gpu_projection.main(["--device", "cpu", "--steps", "1", "--threads", "1"])
    jobs = {}
    for (rule, _, _), (n, hours) in rows.items():
        jobs[rule] = jobs.get(rule, 0) + n
        assert hours > 0, rule
    # the training jobs of tests/workflow/test_paper_config.py's dry run of config/paper.yaml
    assert jobs == {"train_bkg_flow": 54, "train_sigma": 6, "train": 36, "train_kfold": 240, "train_simulated": 10,
                    "calo_train_flow1": 1, "calo_train_flow2": 1}
    out = capsys.readouterr().out
    assert "torch-CPU-h" in out and "in all:" in out
