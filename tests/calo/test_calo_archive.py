"""The public signal archive: the authors' member names (dataset manifest) are read with the default
config; a missing member stops the DAG (snakemake -n) with one line naming it and listing the archive."""

import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml

from hepad.calo import plan, toy
from hepad.calo.showers import read_showers, write_showers
from hepad.calo.sources import extract_signal
from hepad.config import validate_config
from hepad.errors import InputError
from hepad.io.download import load_manifest

ROOT = Path(__file__).resolve().parents[2]
PREFIX = {0.33: "neg_91", 1.0: "neg_24", 1.44: "pos_20"}
LABEL = {0.005: "low", 5.0: "5GeV"}


def _calo(**over) -> dict:
    """The `calo` section of config/paper.yaml with the schema's defaults, 2 masses x 3 z."""
    cfg = yaml.safe_load((ROOT / "config" / "paper.yaml").read_text())
    cfg["calo"] |= dict(masses=list(LABEL), displacements=list(PREFIX), taus=[0.01, 1.0], supervised_masses=[],
                        lifetime_showers=10) | over
    validate_config(cfg, ROOT / "workflow" / "schemas" / "config.schema.yaml")
    return cfg["calo"]


def _archive(path: Path, skip=(), lifetime=("lifetime_0.01ns_5GeV.hdf5",)) -> Path:
    """files_fixed_disp.zip with the authors' names under a folder, tiny CaloGAN-layout members."""
    rng = np.random.default_rng(0)
    with zipfile.ZipFile(path, "w") as zf:
        for m, label in LABEL.items():
            for z, prefix in PREFIX.items():
                name = f"{prefix}_{label}.hdf5"
                if name not in skip:
                    write_showers(path.parent / "m.h5", toy.simulate_chi(6, m, z, rng))
                    zf.write(path.parent / "m.h5", f"files_fixed_disp/{name}")
        for name in lifetime:
            zf.write(path.parent / "m.h5", f"files_fixed_disp/{name}")
    return path


def test_authors_member_names_are_read_with_the_default_manifest(tmp_path):
    c = _calo()
    _archive(tmp_path / "files_fixed_disp.zip")
    entry = load_manifest(ROOT / "resources" / "datasets.yaml")["files_fixed_disp.zip"]
    chi, life = plan.calogan_signals(c, entry, tmp_path)
    assert chi["chi_m5_z0.33"] == "files_fixed_disp/neg_91_5GeV.hdf5"
    assert chi["chi_m0.005_z1.44"] == "files_fixed_disp/pos_20_low.hdf5" and len(chi) == 6
    assert life == {"life_m5_tau0.01": ("member", "files_fixed_disp/lifetime_0.01ns_5GeV.hdf5")}  # others: reweighted
    (tmp_path / "lifetime_1ns_0.005GeV.hdf5").write_bytes(b"")  # a lifetime file beside the archive is used too
    assert plan.calogan_signals(c, entry, tmp_path)[1]["life_m0.005_tau1"] == ("file", "lifetime_1ns_0.005GeV.hdf5")
    for name, member in chi.items():
        assert extract_signal(tmp_path / "files_fixed_disp.zip", member, tmp_path / f"{name}.h5") == 6
    m, z = plan.chi_samples(c)["chi_m5_z0.33"]
    assert read_showers(tmp_path / "chi_m5_z0.33.h5").layers[1].sum() > 0 and (m, z) == (5.0, 0.33)
    # a per-sample override in the config wins over the manifest
    c = _calo(calogan=dict(members={"chi_m5_z0.33": "pos_20_5GeV.hdf5"}))
    assert plan.calogan_signals(c, entry, tmp_path)[0]["chi_m5_z0.33"] == "files_fixed_disp/pos_20_5GeV.hdf5"
    with pytest.raises(InputError, match=r"calo.calogan.members.chi_m7_z0.33: not a sample"):
        plan.calogan_signals(_calo(calogan=dict(members={"chi_m7_z0.33": "x.hdf5"})), entry, tmp_path)


def test_missing_member_stops_the_dag_with_one_line(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    _archive(data / "files_fixed_disp.zip", skip=("neg_24_low.hdf5",))
    cfg = yaml.safe_load((ROOT / "config" / "ci.yaml").read_text())
    cfg["data_dir"] = str(data)
    cfg["calo"] = dict(source="calogan", masses=list(LABEL), displacements=list(PREFIX), taus=[0.01],
                       supervised_masses=[], lifetime_showers=10, flow1=cfg["calo"]["flow1"], flow2=cfg["calo"]["flow2"])
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    p = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--configfile",
                        str(tmp_path / "c.yaml"), "-d", str(tmp_path / "w"), "-n", "-q"], capture_output=True, text=True,
                       timeout=300)
    err = [line for line in p.stderr.splitlines() if line.startswith("error:")]
    assert p.returncode == 2 and len(err) == 1, p.stderr[-3000:]
    assert "files_fixed_disp.zip: 0 members named 'neg_24_low.hdf5' (calo.calogan.members.chi_m0.005_z1)" in err[0]
    assert "members: files_fixed_disp/neg_91_low.hdf5, files_fixed_disp/pos_20_low.hdf5, " in err[0]
    # the complete archive passes: the DAG has one calo_prepare per fixed-displacement and lifetime sample
    _archive(data / "files_fixed_disp.zip")
    p = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--configfile",
                        str(tmp_path / "c.yaml"), "-d", str(tmp_path / "w"), "-n", "--until", "calo_prepare"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    counts = dict(line.split()[:2] for line in p.stdout.splitlines() if line.startswith("calo_prepare"))
    assert counts == {"calo_prepare": "9"}, p.stdout[-3000:]  # 2 photon files, 6 (mass, z), 1 lifetime sample
