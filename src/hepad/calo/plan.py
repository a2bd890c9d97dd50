"""Sample names and per-sample arguments of the CaloFlow rules (workflow/rules/calo.smk), from the
config's `calo` section. Names: photons_train, photons_test, chi_m{mass}_z{z}, sup_m{mass},
life_m{mass}_tau{tau} (:g; lifetime samples of the public data, when present)."""

from __future__ import annotations

import os

from hepad.calo.preprocessing import sample_seed
from hepad.calo.sources import archive_members, find_member
from hepad.errors import InputError
from hepad.io.download import download_command


def chi_samples(c: dict) -> dict:
    return {f"chi_m{m:g}_z{z:g}": (m, z) for m in c["masses"] for z in c["displacements"]}


def sup_samples(c: dict) -> dict:
    return {f"sup_m{m:g}": m for m in c["supervised_masses"]}


def life_samples(c: dict) -> dict:
    """Every lifetime sample the public data may hold for this config: {name: (mass, tau)}."""
    return {f"life_m{m:g}_tau{t:g}": (m, t) for m in c["masses"] for t in c["taus"]}


def member_names(c: dict, manifest_entry: dict | None) -> dict:
    """{sample: member name} of the fixed-displacement and lifetime samples: the manifest's map of
    the signal archive (the authors' names), overridden per sample by calo.calogan.members."""
    maps = (manifest_entry or {}).get("members") or {}
    chi, life = chi_samples(c), life_samples(c)
    out = {}
    for kind, samples in (("fixed_displacement", chi), ("lifetime", life)):
        table = {str(k): v for k, v in (maps.get(kind) or {}).items()}
        out |= {n: table[f"{a:g}:{b:g}"] for n, (a, b) in samples.items() if f"{a:g}:{b:g}" in table}
    over = c.get("calogan", {}).get("members", {})
    unknown = sorted(set(over) - set(chi) - set(life))
    if unknown:
        raise InputError(f"config: calo.calogan.members.{unknown[0]}: not a sample of this config; expected one of "
                         f"{', '.join([*chi, *life][:8])} ...")
    out |= over
    missing = [n for n in chi if n not in out]
    if missing:
        raise InputError(f"{c['calogan']['signal_zip']}: no member name for {missing[0]} in the dataset manifest; "
                         f"expected calo.calogan.members.{missing[0]} in the config")
    return out


def calogan_signals(c: dict, manifest_entry: dict | None, data_dir) -> tuple[dict, dict]:
    """(chi {sample: member}, life {sample: (kind, name)}) at DAG time. With the archive present
    every fixed-displacement member is checked against its member list (one-line InputError
    listing it); a lifetime sample is used when the archive holds it (kind `member`) or data_dir
    has the file (kind `file`); the others are made by reweighting (not in `life`)."""
    names = member_names(c, manifest_entry)
    zip_path = os.path.join(data_dir, c["calogan"]["signal_zip"])
    members = archive_members(zip_path) if os.path.exists(zip_path) else None
    chi = {}
    for n in chi_samples(c):
        key = f"calo.calogan.members.{n}"
        chi[n] = names[n] if members is None else find_member(members, names[n], zip_path, key)
    life = {}
    for n in life_samples(c):
        if n not in names:
            continue
        hit = None if members is None else find_member(members, names[n], zip_path, f"calo.calogan.members.{n}",
                                                       required=False)
        if hit is not None:
            life[n] = ("member", hit)
        elif os.path.exists(os.path.join(data_dir, names[n])):
            life[n] = ("file", names[n])
    return chi, life


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


def calogan_file(c: dict, name: str, life: dict) -> str:
    """The public file (under data_dir) a sample comes from; `life` from calogan_signals."""
    g = c["calogan"]
    if name in chi_samples(c) or (name in life and life[name][0] == "member"):
        return g["signal_zip"]
    if name in life:
        return life[name][1]
    sup = dict(zip(sup_samples(c), g["supervised_files"]))
    return sup[name] if name in sup else g[name]


def require_calogan_files(c: dict, samples, life: dict, data_dir, manifest: dict, manifest_path) -> None:
    """With download off: every public file the samples read must be in data_dir already; else one
    InputError line listing all of them at once (signal archive, photons, supervised and lifetime
    files), with their URLs and the `hepad download` command that fetches them."""
    names = sorted({calogan_file(c, n, life) for n in samples})
    missing = [n for n in names if not os.path.isfile(os.path.join(data_dir, n))]
    if not missing:
        return
    cmd = download_command(missing, data_dir, manifest_path)
    urls = ", ".join(f"{n} <{manifest[n]['url']}>" if n in manifest else f"{n} (not in the manifest)" for n in missing)
    raise InputError(f"calo (source calogan, download: false): {len(missing)} of {len(names)} files not found in data_dir "
                     f"{data_dir}: {urls}; download them into that folder (or run `{cmd}`), set the config "
                     f"key data_dir to a folder holding them, or set download: true")


def calogan_args(name: str, chi: dict, life: dict) -> str:
    """`--member NAME` for a sample taken from the signal archive."""
    if name in chi:
        return f"--member '{chi[name]}'"
    if name in life and life[name][0] == "member":
        return f"--member '{life[name][1]}'"
    return ""


def tagged(c: dict, path_of, samples: dict | None = None) -> str:
    """'MASS:Z:PATH ...' of every fixed-displacement sample (or 'MASS:TAU:PATH' of `samples`
    {name: (mass, tau)}), path_of(name) its file."""
    return " ".join(f"{a}:{b}:{path_of(n)}" for n, (a, b) in (chi_samples(c) if samples is None else samples).items())
