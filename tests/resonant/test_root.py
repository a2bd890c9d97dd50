"""read_root_dijets on TTrees written with uproot: 0-4 jets per event in random pT order."""

import logging

import awkward as ak
import numpy as np
import pytest
import uproot

from hepad.errors import InputError
from hepad.resonant.formats.features import lhco_to_dijets
from hepad.resonant.formats.root import read_root_dijets

N = 400


@pytest.fixture(scope="module")
def events():
    """Flat per-jet arrays (GeV), jet counts and labels; jets are stored in random pT order."""
    rng = np.random.default_rng(7)
    njet = rng.integers(0, 5, N)
    njet[:3] = [0, 1, 4]  # make sure every case occurs
    k = int(njet.sum())
    j = {"pt": rng.uniform(30, 2500, k), "eta": rng.normal(0, 1.5, k), "phi": rng.uniform(-np.pi, np.pi, k),
         "m": rng.uniform(5, 700, k), "tau1": rng.uniform(0.05, 1, k)}  # fmt: skip
    j["tau2"] = j["tau1"] * rng.uniform(0.1, 1, k)
    j["tau3"] = j["tau2"] * rng.uniform(0.1, 1, k)
    j["px"], j["py"], j["pz"] = j["pt"] * np.cos(j["phi"]), j["pt"] * np.sin(j["phi"]), j["pt"] * np.sinh(j["eta"])
    return njet, j, rng.integers(0, 2, N)


def by_hand(njet, j, label):
    """Features computed event by event with numpy: leading two jets by pT, then LHCO features."""
    mjj, x, lab, raw = [], [], [], []
    starts = np.concatenate([[0], np.cumsum(njet)[:-1]])
    for i, (s, k) in enumerate(zip(starts, njet)):
        if k < 2:
            continue
        a, b = s + np.argsort(-j["pt"][s : s + k])[:2]
        p = np.array([[j["px"][a], j["py"][a], j["pz"][a]], [j["px"][b], j["py"][b], j["pz"][b]]])
        e = np.sqrt((p**2).sum(1) + np.array([j["m"][a], j["m"][b]]) ** 2)
        mjj.append(np.sqrt(e.sum() ** 2 - (p.sum(0) ** 2).sum()) / 1000)
        lo, hi = (a, b) if j["m"][a] <= j["m"][b] else (b, a)
        x.append([j["m"][lo] / 1000, (j["m"][hi] - j["m"][lo]) / 1000,
                  j["tau2"][lo] / (j["tau1"][lo] + 1e-5), j["tau2"][hi] / (j["tau1"][hi] + 1e-5)])  # fmt: skip
        raw.append([j[c][q] for q in (a, b) for c in ("px", "py", "pz", "m", "tau1", "tau2", "tau3")])
        lab.append(label[i])
    return np.array(mjj), np.array(x), np.array(lab), np.array(raw)


def write(
    path, njet, j, label=None, fields=("pt", "eta", "phi", "m"), prefix="jet", scale=1.0, tree="events", rntuple=False
):
    cols = {f: ak.unflatten(j[f] * (scale if f in ("pt", "px", "py", "pz", "m") else 1), njet)
            for f in (*fields, "tau1", "tau2", "tau3")}  # fmt: skip
    content = {prefix: ak.zip(cols)}  # -> branches <prefix>_pt, ... and the counter n<prefix>
    if label is not None:
        content["label"] = label.astype(np.int32)
    with uproot.recreate(path) as f:
        if rntuple:  # uproot's default for `f[name] = arrays`
            f[tree] = content
        else:
            f.mktree(tree, {k: v.type.content if isinstance(v, ak.Array) else v.dtype for k, v in content.items()})
            f[tree].extend(content)
    return path


@pytest.mark.parametrize("kinematics", ["ptetaphim", "pxpypzm"])
def test_features_match_by_hand(tmp_path, events, kinematics, caplog):
    njet, j, label = events
    fields = ("pt", "eta", "phi", "m") if kinematics == "ptetaphim" else ("px", "py", "pz", "m")
    path = write(tmp_path / "ev.root", njet, j, label, fields)
    with caplog.at_level(logging.INFO, logger="hepad.resonant.formats.root"):
        d = read_root_dijets(path, kinematics=kinematics)
    mjj, x, lab, raw = by_hand(njet, j, label)
    n_drop = int((njet < 2).sum())
    assert len(d) == N - n_drop and n_drop > 0
    assert f"dropped {n_drop} of {N} events with fewer than two jets" in caplog.text
    np.testing.assert_allclose(d.mjj, mjj, rtol=1e-10)
    np.testing.assert_allclose(d.x, x, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(d.label, lab)
    if kinematics == "pxpypzm":  # the very same numbers as the LHCO path on the same 14 columns
        ref = lhco_to_dijets(raw, lab)
        np.testing.assert_array_equal(d.mjj, ref.mjj)
        np.testing.assert_array_equal(d.x, ref.x)


def test_branch_names_units_and_missing_label(tmp_path, events):
    njet, j, label = events
    path = write(tmp_path / "mev.root", njet, j, None, ("px", "py", "pz", "m"), prefix="fj", scale=1000.0, tree="t")
    names = {k: f"fj_{k}" for k in ("px", "py", "pz", "m", "tau1", "tau2", "tau3")}
    d = read_root_dijets(path, tree="t", branches=names, kinematics="pxpypzm", unit="MeV")
    mjj, x, _, _ = by_hand(njet, j, label)
    np.testing.assert_allclose(d.mjj, mjj, rtol=1e-10)
    np.testing.assert_allclose(d.x, x, rtol=1e-10, atol=1e-12)
    assert (d.label == -1).all()
    with pytest.raises(InputError, match=r"no branch 'label' \(branches.label\)"):
        read_root_dijets(path, tree="t", branches={**names, "label": "label"}, kinematics="pxpypzm", unit="MeV")


def test_errors(tmp_path, events):
    njet, j, label = events
    path = write(tmp_path / "ev.root", njet, j, label)
    with pytest.raises(
        InputError, match=r"no branch 'jet_mass' \(branches.m\); set `branches` in the config; branches found: .*jet_m"
    ):
        read_root_dijets(path, branches={"m": "jet_mass"})
    with pytest.raises(InputError, match=r"no TTree 'tree'; trees found: events"):
        read_root_dijets(path, tree="tree")
    with pytest.raises(InputError, match="file not found"):
        read_root_dijets(tmp_path / "none.root")
    (tmp_path / "bad.root").write_bytes(b"not root at all")
    with pytest.raises(InputError, match="not a readable ROOT file"):
        read_root_dijets(tmp_path / "bad.root")
    with pytest.raises(InputError, match="unknown key"):
        read_root_dijets(path, branches={"mass": "jet_m"})
    with pytest.raises(InputError, match="kinematics 'ptetam'"):
        read_root_dijets(path, kinematics="ptetam")


def test_rntuple(tmp_path, events):
    njet, j, label = events
    path = write(tmp_path / "rn.root", njet, j, label, rntuple=True)
    names = {k: f"jet.{k}" for k in ("pt", "eta", "phi", "m", "tau1", "tau2", "tau3")}
    d = read_root_dijets(path, branches=names)
    mjj, x, lab, _ = by_hand(njet, j, label)
    np.testing.assert_allclose(d.mjj, mjj, rtol=1e-10)
    np.testing.assert_allclose(d.x, x, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(d.label, lab)


def test_nan_is_refused(tmp_path, events):
    njet, j, label = events
    bad = {**j, "tau2": j["tau2"].copy()}
    bad["tau2"][[5, 6]] = np.nan
    path = write(tmp_path / "nan.root", njet, bad, label)
    with pytest.raises(InputError, match=r"events have NaN or inf in branch 'jet_tau2'"):
        read_root_dijets(path)


def test_no_event_with_two_jets(tmp_path):
    njet = np.array([0, 1, 1])
    j = {f: np.ones(2) for f in ("pt", "eta", "phi", "m", "tau1", "tau2", "tau3")}
    d = read_root_dijets(write(tmp_path / "few.root", njet, j, np.zeros(3, int)))
    assert len(d) == 0 and d.x.shape == (0, 4)
