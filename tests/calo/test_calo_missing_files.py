"""download: false and a data_dir without the CaloGAN files: one line at DAG time that lists every
missing calorimeter file (signal archive and photon files), their URLs and the download command."""

import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_calogan_without_files_stops_with_one_line(tmp_path):
    cfg = yaml.safe_load((ROOT / "config" / "ci.yaml").read_text())  # resonant: toy (needs no file)
    cfg["calo"] = yaml.safe_load((ROOT / "config" / "paper.yaml").read_text())["calo"]
    cfg.update(download=False, data_dir=str(tmp_path / "empty"))
    (tmp_path / "empty").mkdir()
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    proc = subprocess.run([sys.executable, "-m", "snakemake", "-n", "-s", str(ROOT / "Snakefile"), "--configfile",
                           str(tmp_path / "c.yaml"), "-d", str(tmp_path / "w")], capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "MissingInputException" not in proc.stdout + proc.stderr, proc.stderr[-2000:]
    line = errors[0]
    from hepad.io.download import load_manifest

    manifest = load_manifest(ROOT / "resources" / "datasets.yaml")
    for name in ("gamma_1.hdf5", "gamma_2.hdf5", cfg["calo"]["calogan"].get("signal_zip", "files_fixed_disp.zip")):
        assert name in line and manifest[name]["url"] in line, (name, line)  # every missing file at once, with its URL
    assert "hepad download" in line and str(tmp_path / "empty") in line
    assert not (tmp_path / "w" / "results").exists()
