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
