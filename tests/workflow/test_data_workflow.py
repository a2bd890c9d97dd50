"""The data rules on real-data sources: files fetched by the download rule from a local HTTP server
(127.0.0.1, a manifest of our own), a clear stop when a file is missing and downloads are off, and
a ROOT tree prepared through the workflow with configured branch names."""

import functools
import hashlib
import json
import os
import subprocess
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import yaml

from hepad.resonant.formats.lhco import read_lhco_features, write_lhco_features
from hepad.resonant.formats.root import read_root_dijets
from hepad.resonant.formats.table import read_table

ROOT = Path(__file__).resolve().parents[2]
EVENTS, EXTRA = "events_anomalydetection_v2.features.h5", "events_anomalydetection_qcd_extra_inneronly_features.h5"
TARGETS = ["work/t/dijets/events.h5", "work/t/dijets/extra.h5"]


def snakemake(workdir: Path, config: dict, *args: str) -> subprocess.CompletedProcess:
    cfg = yaml.safe_load((ROOT / "config" / "ci.yaml").read_text())
    cfg["run"] = "t"
    for k, v in config.items():
        cfg[k] = {**cfg.get(k, {}), **v} if isinstance(v, dict) else v
    (workdir / "cfg.yaml").write_text(yaml.safe_dump(cfg))
    env = {**os.environ, "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
    cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--configfile", str(workdir / "cfg.yaml"),
           "-d", str(workdir), *args]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)


def lhco_file(path, n, seed, label=True):
    rng = np.random.default_rng(seed)
    a = rng.normal(0, 900, (n, 15))
    a[:, [3, 10]] = rng.uniform(20, 600, (n, 2))
    a[:, [4, 5, 6, 11, 12, 13]] = rng.uniform(0.05, 0.9, (n, 6))
    a[:, 14] = (np.arange(n) >= n - n // 10) if label else 0
    write_lhco_features(path, a)
    return path


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    """Serves tmp_path/served on 127.0.0.1; yields (folder, base URL)."""
    folder = tmp_path / "served"
    folder.mkdir()
    handler = functools.partial(Quiet, directory=str(folder))
    srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True).start()
    yield folder, f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def manifest(path, base, sha256=None):
    files = [{"name": n, "url": f"{base}/{n}", "size": None, "sha256": (sha256 or {}).get(n), "md5": None,
              "min_size": 10_000} for n in (EVENTS, EXTRA)]  # small test files: below the default 1 MiB  # fmt: skip
    path.write_text(yaml.safe_dump({"files": files}))
    return str(path)


def test_download_rule_fetches_then_prepares(tmp_path, server):
    folder, base = server
    lhco_file(folder / EVENTS, 3000, 1)
    lhco_file(folder / EXTRA, 1000, 2, label=False)
    data = tmp_path / "data"
    cfg = {"data": {"source": "lhco"}, "data_dir": str(data), "manifest": manifest(tmp_path / "m.yaml", base)}
    proc = snakemake(tmp_path, cfg, "--cores", "1", *TARGETS)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "download_dataset" in proc.stderr and "localrule download_dataset" in proc.stderr
    for name in (EVENTS, EXTRA):
        assert (data / name).read_bytes() == (folder / name).read_bytes()
    store = json.loads((data / ".hepad-checksums.json").read_text())
    assert store[f"{base}/{EVENTS}"]["sha256"] == hashlib.sha256((folder / EVENTS).read_bytes()).hexdigest()
    for sample, name in (("events", EVENTS), ("extra", EXTRA)):
        got, ref = read_table(tmp_path / "work" / "t" / "dijets" / f"{sample}.h5"), read_lhco_features(folder / name)
        np.testing.assert_array_equal(got.mjj, ref.mjj.astype(np.float32))
        np.testing.assert_array_equal(got.label, ref.label)
    assert (tmp_path / "benchmarks" / "t" / "download" / f"{EVENTS}.tsv").exists()


def test_corrupt_download_leaves_no_file(tmp_path, server):
    folder, base = server
    lhco_file(folder / EVENTS, 500, 1)
    data = tmp_path / "data"
    cfg = {"data": {"source": "lhco"}, "data_dir": str(data),
           "manifest": manifest(tmp_path / "m.yaml", base, {EVENTS: "0" * 64})}  # fmt: skip
    proc = snakemake(tmp_path, cfg, "--cores", "1", TARGETS[0])
    assert proc.returncode != 0
    assert "checksum mismatch" in (tmp_path / "logs" / "t" / "download" / f"{EVENTS}.log").read_text()
    assert not (data / EVENTS).exists() and not (data / f"{EVENTS}.part").exists()


def test_missing_file_without_download_names_url_and_key(tmp_path):
    (tmp_path / "empty").mkdir()
    cfg = {"data": {"source": "lhco"}, "data_dir": str(tmp_path / "empty"), "download": False}
    proc = snakemake(tmp_path, cfg, "-n")
    assert proc.returncode != 0
    assert (f"{EVENTS}: not found in data_dir {tmp_path / 'empty'}; download "
            f"https://zenodo.org/records/4536377/files/{EVENTS}?download=1") in proc.stdout + proc.stderr
    assert "set the config key data_dir" in proc.stdout + proc.stderr
    assert f"run `hepad download {EVENTS} --data-dir {tmp_path / 'empty'}`" in proc.stdout + proc.stderr


def test_missing_arrays_file_names_the_key(tmp_path):
    cfg = {"data": {"source": "arrays", "events": "ev.npy", "extra": "/nowhere/x.npy"}, "data_dir": str(tmp_path)}
    proc = snakemake(tmp_path, cfg, "-n")
    assert proc.returncode != 0
    assert f"data.events = 'ev.npy': {tmp_path / 'ev.npy'} not found" in proc.stdout + proc.stderr


def test_root_source_with_branch_names(tmp_path):
    import awkward as ak
    import uproot

    rng = np.random.default_rng(5)
    for name, n, seed in (("ev.root", 2000, 1), ("extra.root", 800, 2)):
        njet = rng.integers(2, 5, n)
        k = int(njet.sum())
        jets = {"px": rng.normal(0, 1.2, k), "py": rng.normal(0, 1.2, k), "pz": rng.normal(0, 2, k),
                "m": rng.uniform(0.02, 0.6, k), "t1": rng.uniform(0.1, 1, k), "t2": rng.uniform(0.05, 0.5, k),
                "t3": rng.uniform(0.01, 0.2, k)}  # TeV  # fmt: skip
        content = {"fj": ak.zip({f: ak.unflatten(v, njet) for f, v in jets.items()}),
                   "truth": (np.arange(n) % 10 == 0).astype(np.int32)}  # fmt: skip
        with uproot.recreate(tmp_path / name) as f:
            f.mktree("tr", {k: v.type.content if isinstance(v, ak.Array) else v.dtype for k, v in content.items()})
            f["tr"].extend(content)
    branches = {"px": "fj_px", "py": "fj_py", "pz": "fj_pz", "m": "fj_m", "tau1": "fj_t1", "tau2": "fj_t2",
                "tau3": "fj_t3", "label": "truth"}  # fmt: skip
    root = {"tree": "tr", "kinematics": "pxpypzm", "unit": "TeV", "branches": branches}
    cfg = {"data": {"source": "root", "events": "ev.root", "extra": str(tmp_path / "extra.root"), "root": root},
           "data_dir": str(tmp_path)}  # fmt: skip
    proc = snakemake(tmp_path, cfg, "--cores", "1", *TARGETS)
    assert proc.returncode == 0, proc.stderr[-4000:]
    got = read_table(tmp_path / "work" / "t" / "dijets" / "events.h5")
    ref = read_root_dijets(tmp_path / "ev.root", tree="tr", branches=branches, kinematics="pxpypzm", unit="TeV")
    assert len(got) == 2000 and int(got.label.sum()) == 200
    np.testing.assert_array_equal(got.x, ref.x.astype(np.float32))
