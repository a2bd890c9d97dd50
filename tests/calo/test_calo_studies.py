"""Studies and CLI: SIC conventions, lifetime mixing of per-shower scores, the signal zip, one-line errors."""

import subprocess
import sys
import zipfile

import h5py
import numpy as np
import pytest

from hepad.calo import studies, toy
from hepad.calo.lifetimes import displacement_weights, lifetime_sample
from hepad.calo.showers import Showers, read_showers, write_showers
from hepad.calo.sources import extract_signal, find_member
from hepad.errors import InputError
from test_calo_showers import cli_error  # pytest (prepend import mode) puts tests/calo on sys.path


def _scores(log_p):
    z = np.zeros_like(log_p)
    return dict(log_p1=log_p, log_p2=z, jac1=z, jac2=z + 1.0)


def test_sic_floor_and_no_floor():
    bkg = np.arange(10000.0)
    sig = np.full(100, 20000.0)  # perfectly separated
    r = studies.sic_summary(sig, bkg, min_bkg=25)
    assert r["auc"] == pytest.approx(1.0)
    assert r["max_sic_nofloor"] == pytest.approx(np.sqrt(10000))  # the paper's ceiling sqrt(N_bkg)
    assert r["max_sic"] == pytest.approx(1 / np.sqrt(25 / 10000))  # 25 background showers must pass
    assert r["sic_at_rej_1e2"] == pytest.approx(10.0)  # 100 background showers pass
    assert np.isnan(r["sic_at_rej_1e3"])  # 10 < 25 would pass: noise, not a number


def test_heatmap_rows_low_likelihood_is_anomalous():
    rng = np.random.default_rng(0)
    bkg = _scores(rng.normal(0, 1, 2000))
    sig = {(5.0, 1.44): _scores(rng.normal(-3, 1, 500)), (0.005, 0.33): _scores(rng.normal(0, 1, 500))}
    rows = studies.heatmap_rows(bkg, sig, min_bkg=25)
    by = {(r["mass_gev"], r["z_m"]): r for r in rows}
    assert by[(5.0, 1.44)]["auc"] > 0.95 and by[(5.0, 1.44)]["max_sic"] > 3
    assert by[(0.005, 0.33)]["auc"] == pytest.approx(0.5, abs=0.05)
    assert by[(5.0, 1.44)]["max_sic_jacobian"] == by[(5.0, 1.44)]["max_sic"]  # a constant Jacobian changes nothing


def test_lifetime_mix_of_scores_equals_mixing_showers():
    zs = [0.33, 1.0, 1.44]
    sizes = {z: 300 for z in zs}
    per_z = {z: z * 1000 + np.arange(300.0) for z in zs}  # a value that names the shower
    draw = studies.lifetime_draws(sizes, 5.0, [0.1], 300, seed=3)[0.1]
    mixed = studies.mix(per_z, draw)
    fake = {z: Showers((np.zeros((300, 3, 96)), np.zeros((300, 12, 12)), np.zeros((300, 12, 6))), np.zeros((300, 3)),
                       per_z[z]) for z in zs}
    w = displacement_weights(zs, 5.0, 0.1, 50.0)
    rng = np.random.default_rng([3, 5_000_000, 100_000])
    np.testing.assert_array_equal(lifetime_sample(fake, w, 300, rng).energy, mixed)


def test_find_member_by_base_name_lists_the_archive():
    names = ["sig/neg_91_5GeV.hdf5", "sig/pos_20_5GeV.hdf5"]
    assert find_member(names, "pos_20_5GeV.hdf5", "a.zip", "k") == "sig/pos_20_5GeV.hdf5"
    assert find_member(names, "sig/neg_91_5GeV.hdf5", "a.zip", "k") == "sig/neg_91_5GeV.hdf5"
    assert find_member(names, "zero_5GeV.hdf5", "a.zip", "k", required=False) is None
    with pytest.raises(InputError, match=r"0 members named 'zero_5GeV.hdf5' \(k\).*members: sig/neg_91_5GeV.hdf5, sig/pos"):
        find_member(names, "zero_5GeV.hdf5", "a.zip", "k")
    with pytest.raises(InputError, match="2 members named"):
        find_member(names + ["other/pos_20_5GeV.hdf5"], "pos_20_5GeV.hdf5", "a.zip", "k")


def test_extract_signal_from_zip(tmp_path):
    s = toy.simulate_chi(20, 5.0, 0.33, np.random.default_rng(0))
    write_showers(tmp_path / "m5_z0.33.hdf5", s)
    with zipfile.ZipFile(tmp_path / "files.zip", "w") as z:
        z.write(tmp_path / "m5_z0.33.hdf5", "files_fixed_disp/m5_z0.33.hdf5")
    assert extract_signal(tmp_path / "files.zip", "m5_z0.33.hdf5", tmp_path / "out.h5") == 20
    got = read_showers(tmp_path / "out.h5")  # the member's showers, voxel for voxel (float32 on disk)
    for a, b in zip(got.layers, s.layers):
        np.testing.assert_array_equal(a, b.astype(np.float32))
    np.testing.assert_array_equal(got.energy, s.energy)
    assert sum(lay.sum() for lay in got.layers) > 0


def _hepad(*args):
    return subprocess.run([sys.executable, "-m", "hepad", *args], capture_output=True, text=True)


def test_cli_bad_input_is_one_line_and_leaves_no_output(tmp_path):
    (tmp_path / "bad.zip").write_bytes(b"not a zip")
    out = tmp_path / "out.h5"
    p = _hepad("calo-prepare", "--input", str(tmp_path / "bad.zip"), "--member", "neg_91_5GeV.hdf5",
               "--out", str(out))
    assert p.returncode == 2 and p.stderr.startswith("error: ") and p.stderr.count("\n") == 1, p.stderr
    assert "bad.zip" in p.stderr and not out.exists()
    p = _hepad("calo-heatmap", "--background", str(tmp_path / "missing.npz"), "--signal", "5:1.44:x.npz",
               "--csv", str(tmp_path / "h.csv"), "--figdir", str(tmp_path))
    assert p.returncode == 2 and "missing.npz" in p.stderr and p.stderr.count("\n") == 1, p.stderr
    assert not (tmp_path / "h.csv").exists()


def _member_zip(tmp_path, raw_member: bytes, name="files_fixed_disp/m5_z0.33.hdf5"):
    with zipfile.ZipFile(tmp_path / "files.zip", "w", zipfile.ZIP_STORED) as z:
        z.writestr(name, raw_member)
    return tmp_path / "files.zip"


def _prepare_argv(archive, out):
    return ["calo-prepare", "--input", str(archive), "--member", "m5_z0.33.hdf5", "--out", str(out)]


def test_zip_member_with_bad_crc_names_archive_and_member(tmp_path, capsys):
    write_showers(tmp_path / "m.hdf5", toy.simulate_chi(20, 5.0, 0.33, np.random.default_rng(0)))
    member = (tmp_path / "m.hdf5").read_bytes()
    archive = _member_zip(tmp_path, member)
    data = bytearray(archive.read_bytes())
    at = bytes(data).find(member) + len(member) // 2  # stored: the member's bytes lie verbatim in the archive
    data[at] ^= 0xFF
    archive.write_bytes(bytes(data))
    out = tmp_path / "out" / "sig.h5"
    msg = cli_error(capsys, _prepare_argv(archive, out), out)
    assert f"{archive} (member files_fixed_disp/m5_z0.33.hdf5): corrupt or unreadable member (Bad CRC-32" in msg
    assert msg.count(str(tmp_path)) == 1  # the archive only: no temporary path


def test_zip_member_read_errors_name_archive_and_member(tmp_path, capsys):
    s = toy.simulate_chi(20, 5.0, 0.33, np.random.default_rng(0))
    write_showers(tmp_path / "m.hdf5", s)
    with h5py.File(tmp_path / "m.hdf5", "r+") as f:
        del f["energy"]
    archive = _member_zip(tmp_path, (tmp_path / "m.hdf5").read_bytes())
    out = tmp_path / "out" / "sig.h5"
    msg = cli_error(capsys, _prepare_argv(archive, out), out)
    assert f"{archive} (member files_fixed_disp/m5_z0.33.hdf5): missing key(s) energy" in msg
    assert msg.count(str(tmp_path)) == 1


@pytest.mark.parametrize("argv", [
    ["calo-train-flow", "--flow", "1", "--photons", "p.h5", "--flow-config", "{'layers': 2}", "--seed", "0"],
    ["calo-train-flow", "--flow", "1", "--photons", "p.h5", "--flow-config", "{}", "--train-config", "[1, 2]",
     "--seed", "0"],
    ["calo-train-supervised", "--signal", "s.h5", "--photons", "p.h5", "--flow1", "f.pt", "--options", "{epochs: 1}",
     "--seed", "0"],
], ids=["flow-config", "train-config-not-object", "supervised-options"])
def test_bad_json_options_are_one_line(tmp_path, capsys, argv):
    out = tmp_path / "out" / "model.pt"
    msg = cli_error(capsys, argv + ["--model", str(out)], out)
    flag = argv[argv.index("--seed") - 2]
    assert msg.startswith(f"error: {flag} = ") and "expected a JSON object" in msg
