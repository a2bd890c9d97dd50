"""bench/quality.py: the before/after quality numbers of finished runs (issue 21, item 2)."""

import csv
import importlib.util
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("quality_bench", ROOT / "bench" / "quality.py")
q = importlib.util.module_from_spec(spec)
spec.loader.exec_module(q)


def _write(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


@pytest.fixture
def run(tmp_path):
    summary = [dict(sr_lo=lo, sr_hi=hi, method="iad", nsig=n, seed=s, max_sic=sic)
               for lo, hi, n, s, sic in [(3.3, 3.7, 1000, 0, 10.0), (3.3, 3.7, 1000, 1, 12.0), (3.3, 3.7, 1000, 2, 30.0),
                                         (3.1, 3.5, 1000, 0, 99.0), (3.3, 3.7, 0, 0, 1.0)]]
    _write(tmp_path / "resonant" / "summary.csv", summary)
    hunt = [dict(sr_lo=lo, sr_hi=hi, method="iad", nsig=n, seed=s, eps=0.01, estimate="fit", z_local=z)
            for lo, hi, n, s, z in [(3.3, 3.7, 1000, 0, 4.0), (3.3, 3.7, 1000, 1, 6.0), (3.1, 3.5, 1000, 0, 9.0),
                                    (3.3, 3.7, 0, 0, 1.0), (3.1, 3.5, 0, 0, -1.0), (3.1, 3.5, 0, 1, 3.0),
                                    (3.1, 3.5, 0, 2, float("nan"))]]
    _write(tmp_path / "resonant" / "bumphunt.csv", hunt)
    _write(tmp_path / "calo" / "heatmap.csv", [dict(mass_gev=m, z_m=z, max_sic=s, method="unsup")
                                                for m, z, s in [(5.0, 0.33, 7.5), (0.5, 0.33, 2.0)]])
    return tmp_path


def test_signal_window_medians_and_null_calibration(run):
    assert q.max_sic(run, (3.3, 3.7)) == {("iad", 1000): (12.0, 3)}  # n_sig = 0 and the other window left out
    assert q.bump_z(run, (3.3, 3.7)) == {("iad", "fit", 0.01, 1000): (5.0, 2)}
    (mean, std, n), = q.calibration(run).values()  # every window's n_sig = 0 Z, NaN left out
    assert n == 3 and mean == pytest.approx(1.0) and std == pytest.approx(np.std([1, -1, 3], ddof=1))
    assert q.calo_cells(run, 5.0) == {("unsup", 0.33): (7.5, 1)}


def test_side_by_side_with_ratio(run, capsys):
    q.main([str(run), str(run)])
    out = capsys.readouterr().out
    assert "iad 1000 | 12.00 (3) | 12.00 (3) | 1.00" in out
    assert "iad fit | +1.00 2.00 (3) | +1.00 2.00 (3)" in out
