"""The config: schema and plan checks give one-line errors naming the key, before any job runs."""

from pathlib import Path

import pytest
import yaml

from hepad.config import validate_config
from hepad.errors import InputError
from hepad.resonant.plan import ResonantPlan

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"


def check(cfg: dict) -> None:
    """What the Snakefile does before building the DAG."""
    ResonantPlan(validate_config(cfg, SCHEMA))


@pytest.mark.parametrize("edit,match", [
    (lambda c: c["resonant"].__setitem__("n_sig", [-5]), r"resonant.n_sig.0 = -5: -5 is less than the minimum of 0"),
    (lambda c: c["resonant"].__setitem__("methods", ["iad", "anode2"]), r"resonant.methods: 'anode2' is not a method; expected one of iad, supervised"),
    (lambda c: c["resonant"].__setitem__("windows", [[3.7, 3.3]]), r"windows: \[3.7, 3.3\] has lo >= hi"),
    (lambda c: c["resonant"]["classifier"].__setitem__("n_models", 0), r"resonant.classifier.n_models = 0: 0 is less than the minimum of 1"),
    (lambda c: c["resonant"]["classifier"].__setitem__("depth", 3), r"'depth' was unexpected"),
    (lambda c: c.__setitem__("devices", "gpu"), r"'devices' was unexpected"),
    (lambda c: c["resonant"]["method_options"].__setitem__("cathod", {}),
     r"resonant.method_options.cathod: not a method"),
    (lambda c: c["resonant"]["method_options"].__setitem__("cathode", {"oversamplin": 3}),
     r"resonant.method_options.cathode.oversamplin: unknown option of cathode; expected one of classifier, "
     r"kde_bandwidth, mass_sampling, oversampling, val_fraction"),
    (lambda c: c["samples"]["signal_fractions"].__setitem__("inject", 1.1),
     r"samples.signal_fractions = .*they sum to 1.6; expected fractions of the signal pool summing to 1"),
    (lambda c: c.__setitem__("run", ".."), r"config: run = '..': '..' does not match"),
    (lambda c: c["resonant"]["method_options"]["ranode"].__setitem__("w", 2.0),
     r"resonant.method_options.ranode.w = 2.0: expected learned, true or a number in \(0, 1\)"),
])
def test_invalid_config_value(edit, match):
    cfg = yaml.safe_load((ROOT / "config" / "ci.yaml").read_text())
    check(cfg)  # the shipped config is valid
    cfg = yaml.safe_load((ROOT / "config" / "ci.yaml").read_text())
    edit(cfg)
    with pytest.raises(InputError, match=match) as e:
        check(cfg)
    assert "\n" not in str(e.value)


def test_calo_off_without_its_section_or_with_null(tmp_path):
    cfg = yaml.safe_load((ROOT / "config" / "ci.yaml").read_text())
    for value in (None, "absent"):
        c = dict(cfg)
        if value == "absent":
            del c["calo"]
        else:
            c["calo"] = None
        check(c)  # valid: the study is off


def test_a_missing_required_key_is_named_without_printing_the_section():
    cfg = yaml.safe_load((ROOT / "config" / "ci.yaml").read_text())
    del cfg["resonant"]["seeds"]
    with pytest.raises(InputError) as e:
        check(cfg)
    assert str(e.value) == "config: resonant.seeds: missing; it is required (the schema has no default for it)"
    cfg = yaml.safe_load((ROOT / "config" / "ci.yaml").read_text())
    cfg["resonant"]["seedz"] = [0]
    with pytest.raises(InputError, match=r"^config: resonant.seedz: unknown key .*expected one of bumphunt, classifier, "):
        check(cfg)


def dry_run(tmp_path, *args):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "snakemake", "-n", "-s", str(ROOT / "Snakefile"), "-d",
                           str(tmp_path / "run"), *args], capture_output=True, text=True, timeout=300)


def test_a_configfile_is_the_whole_config(tmp_path):
    """--configfile X runs X (plus schema defaults), never merged into config/config.yaml."""
    cfg = yaml.safe_load((ROOT / "config" / "ci.yaml").read_text())
    del cfg["calo"]
    (tmp_path / "nocalo.yaml").write_text(yaml.safe_dump(cfg))
    p = dry_run(tmp_path, "--configfile", str(tmp_path / "nocalo.yaml"))
    assert p.returncode == 0, p.stderr[-2000:]
    assert "rule calo_" not in p.stdout and "rule train_sigma" in p.stdout  # the default's calo jobs do not leak in
    del cfg["resonant"]["seeds"]  # the default's seeds do not fill in either
    (tmp_path / "noseeds.yaml").write_text(yaml.safe_dump(cfg))
    p = dry_run(tmp_path, "--configfile", str(tmp_path / "noseeds.yaml"))
    assert p.returncode == 2
    assert p.stderr.strip().splitlines() == [
        "error: config: resonant.seeds: missing; it is required (the schema has no default for it)"]


def test_without_configfile_the_default_config_runs(tmp_path):
    jobs = [dry_run(tmp_path, "--quiet", "rules", *args) for args in ((), ("--configfile", str(ROOT / "config" / "config.yaml")))]
    assert all(p.returncode == 0 for p in jobs), jobs[0].stderr[-2000:]
    table = lambda p: p.stdout.split("Job stats:")[1].split("\n\n")[0]  # noqa: E731
    assert table(jobs[0]) == table(jobs[1]) and "calo_score" in table(jobs[0])


def job_counts(p) -> dict[str, int]:
    """rule -> jobs, from the Job stats table of a dry run."""
    rows = [r.split() for r in p.stdout.split("Job stats:")[1].strip().split("\n\n")[0].splitlines()]
    return {r[0]: int(r[1]) for r in rows if len(r) == 2 and r[1].isdigit() and r[0] != "total"}


def test_each_study_runs_alone(tmp_path):
    """config/calo.yaml (run + calo only) plans the CaloFlow jobs and nothing of the resonant study; the
    default's calo section alone plans the same calo jobs as the whole default; a resonant-only config
    plans no calo job."""
    calo_only = yaml.safe_load((ROOT / "config" / "calo.yaml").read_text())
    assert set(calo_only) <= {"run", "device", "threads", "calo"}
    p = dry_run(tmp_path, "--configfile", str(ROOT / "config" / "calo.yaml"))
    assert p.returncode == 0, p.stderr[-2000:]
    alone = job_counts(p)
    assert alone.pop("all") == 1 and alone and all(r.startswith("calo_") for r in alone), alone
    full = job_counts(dry_run(tmp_path, "--configfile", str(ROOT / "config" / "config.yaml")))
    assert alone == {r: n for r, n in full.items() if r.startswith("calo_")}
    assert "dijets" not in p.stdout and "resonant" not in p.stdout  # no dijet data, no resonant path
    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    del cfg["calo"]
    (tmp_path / "resonant.yaml").write_text(yaml.safe_dump(cfg))
    resonant = job_counts(dry_run(tmp_path, "--configfile", str(tmp_path / "resonant.yaml")))
    assert not any(r.startswith("calo_") for r in resonant) and resonant["train"] == full["train"]


@pytest.mark.parametrize("drop,line", [
    (("resonant", "calo"), "error: config: no study: expected a `resonant` section (with `data` and `samples`), "
                           "a `calo` section, or both"),
    (("samples",), "error: config: samples: missing; the `resonant` section needs it"),
])
def test_a_config_without_a_study_or_without_the_resonant_inputs_is_one_line(tmp_path, drop, line):
    cfg = yaml.safe_load((ROOT / "config" / "ci.yaml").read_text())
    for key in drop:
        del cfg[key]
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    p = dry_run(tmp_path, "--configfile", str(tmp_path / "c.yaml"))
    assert p.returncode == 2 and p.stderr.strip().splitlines() == [line]
