"""Sample names and per-sample arguments of the CaloFlow rules (workflow/rules/calo.smk), from the
config's `calo` section. Names: photons_train, photons_test, chi_m{mass}_z{z}, sup_m{mass} (:g)."""

from __future__ import annotations

from hepad.calo.preprocessing import sample_seed
from hepad.errors import InputError


def chi_samples(c: dict) -> dict:
    return {f"chi_m{m:g}_z{z:g}": (m, z) for m in c["masses"] for z in c["displacements"]}


def sup_samples(c: dict) -> dict:
    return {f"sup_m{m:g}": m for m in c["supervised_masses"]}


def check(c: dict) -> None:
    """What the schema cannot express; one-line InputError naming the key."""
    if list(c["displacements"]) != sorted(c["displacements"]):
        raise InputError(f"config: calo.displacements = {c['displacements']}: expected increasing z (m)")
    if c["source"] == "toy" and c["lifetime_showers"] > c["toy"]["n_signal"]:
        raise InputError(f"config: calo.lifetime_showers = {c['lifetime_showers']}: a lifetime sample may take all "
                         f"its showers from one displacement; expected <= calo.toy.n_signal = {c['toy']['n_signal']}")
    files = c.get("calogan", {}).get("supervised_files", [])
    if c["source"] == "calogan" and len(files) != len(c["supervised_masses"]):
        raise InputError(f"config: calo.calogan.supervised_files = {files}: expected one file per "
                         f"calo.supervised_masses {c['supervised_masses']} (their names on Zenodo are not known)")


def toy_args(c: dict, name: str) -> str:
    t, seed = c["toy"], sample_seed(name, c["seed"])
    chi, sup = chi_samples(c), sup_samples(c)
    if name in ("photons_train", "photons_test"):
        return f"--kind photons --n {t['n_' + name]} --seed {seed}"
    if name in chi:
        m, z = chi[name]
        return f"--kind chi --n {t['n_signal']} --mass {m} --z {z} --seed {seed}"
    return f"--kind supervised --n {t['n_supervised']} --mass {sup[name]} --tau {c['supervised_tau']} --seed {seed}"


def calogan_file(c: dict, name: str) -> str:
    """The public file (under data_dir) a sample comes from."""
    g = c["calogan"]
    if name in chi_samples(c):
        return g["signal_zip"]
    sup = dict(zip(sup_samples(c), g["supervised_files"]))
    return sup[name] if name in sup else g[name]


def calogan_args(c: dict, name: str) -> str:
    chi = chi_samples(c)
    if name not in chi:
        return ""
    m, z = chi[name]
    return f"--zip-member-pattern '{c['calogan']['member_pattern']}' --mass {m:g} --z {z:g}"


def tagged(c: dict, path_of) -> str:
    """'MASS:Z:PATH ...' of every fixed-displacement sample, path_of(name) its file."""
    return " ".join(f"{m}:{z}:{path_of(n)}" for n, (m, z) in chi_samples(c).items())
