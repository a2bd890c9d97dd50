"""Which file feeds the canonical tables for each `data.source`, resolved for the workflow rules."""

from __future__ import annotations

import os
import shlex

from hepad.errors import InputError
from hepad.io.download import load_manifest, locate

# data.source lhco: the two public files of resources/datasets.yaml, unless data.events/extra say otherwise
LHCO_FILES = {"events": "events_anomalydetection_v2.features.h5",
              "extra": "events_anomalydetection_qcd_extra_inneronly_features.h5"}  # fmt: skip


def input_path(data: dict, sample: str, data_dir: str, download: bool, manifest: str) -> str:
    """Path of the `events` or `extra` file of a real-data source. A manifest file is expected
    under data_dir (the download rule makes it; with download off, a missing one stops here with
    the URL to fetch); any other relative name is taken under data_dir and must exist."""
    name = data.get(sample) or LHCO_FILES[sample]
    path = os.path.join(data_dir, name)  # an absolute name stays as it is
    if name in load_manifest(manifest):
        if not download and not os.path.exists(path):
            locate(name, data_dir, manifest)  # raises InputError naming the URL and data_dir
        return path
    if not os.path.exists(path):
        raise InputError(f"data.{sample} = {name!r}: {path} not found; expected an existing {data['source']} file "
                         f"(relative names are taken under data_dir = {data_dir})")
    return path


def reader_args(data: dict) -> str:
    """Extra `hepad prepare-dijets` arguments: how to read a ROOT tree (nothing for other formats)."""
    if data["source"] != "root":
        return ""
    r = data["root"]
    args = ["--tree", r["tree"], "--kinematics", r["kinematics"], "--unit", r["unit"]]
    args += [a for k, b in sorted(r["branches"].items()) for a in ("--branch", f"{k}={b}")]
    return " " + " ".join(shlex.quote(a) for a in args)
