"""Code versions derived from imports (hepad.provenance): an edit reruns exactly the rules whose
step imports the edited module, directly or not."""

import shutil
from pathlib import Path

import pytest

from hepad.provenance import closure, code_version

SRC = Path(__file__).resolve().parents[2] / "src"
# the steps the rules run (workflow/rules/*.smk: code_version(...))
STEPS = ["hepad.resonant.steps:make_data", "hepad.resonant.steps:train", "hepad.resonant.bumphunt.hunt:bumphunt",
         "hepad.resonant.steps:score", "hepad.resonant.steps:evaluate", "hepad.resonant.aggregate:aggregate",
         "hepad.resonant.compute:account", "hepad.calo.steps:heatmap", "hepad.calo.steps:train_flow"]


def names(target):
    return {p.relative_to(SRC / "hepad").as_posix() for p in closure(SRC, target)}


def test_closures_follow_imports_lazy_ones_included():
    ev = names("hepad.resonant.steps:evaluate")
    assert {"resonant/steps.py", "resonant/windows.py", "metrics.py", "resonant/formats/table.py",
            "io/hdf5.py", "__init__.py", "resonant/__init__.py"} <= ev
    assert not any(n.startswith(("resonant/methods/", "flows/", "calo/")) for n in ev)
    train = names("hepad.resonant.steps:train")
    # function-level imports of train() and of window_inputs() it calls; "hepad.classifiers.hgb:..." strings
    assert {"resonant/methods/anode.py", "resonant/registry.py", "classifiers/hgb.py", "training.py"} <= train
    # the fold models: trained by train, unpickled by score (which imports their class to check it)
    assert "resonant/kfold.py" in train and "resonant/kfold.py" in names("hepad.resonant.steps:score")
    assert "resonant/kfold.py" not in ev and "resonant/bumphunt/fit.py" not in train
    assert not any(n.startswith("resonant/") for n in names("hepad.calo.steps:heatmap"))


def test_an_edit_changes_exactly_the_steps_that_import_it(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(SRC / "hepad", src / "hepad", ignore=shutil.ignore_patterns("__pycache__"))
    before = {t: code_version(src, t) for t in STEPS}
    assert before == {t: code_version(SRC, t) for t in STEPS}  # content, not location
    for module in ("resonant/windows.py", "resonant/kfold.py", "training.py", "plotting.py"):
        f = src / "hepad" / module
        f.write_text(f.read_text() + "\n_EDITED = 1\n")
        after = {t: code_version(src, t) for t in STEPS}
        changed = {t for t in STEPS if after[t] != before[t]}
        assert changed == {t for t in STEPS if module in names(t)}, module
        assert changed, f"no step imports {module}?"
        before = after
    assert {t.split(":")[1] for t in STEPS if "resonant/kfold.py" in names(t)} == {"train", "score"}


def test_comments_and_layout_change_nothing_code_does(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(SRC / "hepad", src / "hepad", ignore=shutil.ignore_patterns("__pycache__"))
    f = src / "hepad" / "resonant" / "windows.py"
    step = "hepad.resonant.steps:evaluate"
    before, text = code_version(src, step), f.read_text()
    f.write_text("# a comment\n" + text.replace("\ndef ", "\n# another one\n\ndef ", 1) + "\n\n# the end\n")
    assert code_version(src, step) == before
    f.write_text(text.replace("def ", "def _x():\n    return 1\n\n\ndef ", 1))
    assert code_version(src, step) != before
    f.write_text(text)
    assert code_version(src, step) == before


def test_only_narrows_a_registry_to_the_named_modules(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(SRC / "hepad", src / "hepad", ignore=shutil.ignore_patterns("__pycache__"))
    scope = lambda m: {"hepad.resonant.methods": {"hepad.resonant.methods.base", f"hepad.resonant.methods.{m}"},  # noqa: E731
                       "hepad.resonant.registry": {"hepad.errors"}}
    train = "hepad.resonant.steps:train"
    files = {p.relative_to(src / "hepad").as_posix() for p in closure(src, train, only=scope("cwola"))}
    assert {"resonant/methods/cwola.py", "resonant/methods/base.py", "resonant/methods/__init__.py"} <= files
    assert not {"resonant/methods/iad.py", "resonant/methods/anode.py", "resonant/background/sideband.py"} & files
    before = {m: code_version(src, train, only=scope(m)) for m in ("cwola", "iad")}
    whole = code_version(src, train)
    f = src / "hepad" / "resonant" / "methods" / "cwola.py"
    f.write_text(f.read_text() + "\n_EDITED = 1\n")
    assert code_version(src, train, only=scope("cwola")) != before["cwola"]
    assert code_version(src, train, only=scope("iad")) == before["iad"]
    assert code_version(src, train) != whole  # without `only`: every method


def test_unknown_target_is_an_error():
    with pytest.raises(ValueError, match="no function 'nope'"):
        code_version(SRC, "hepad.resonant.steps:nope")
    with pytest.raises(ValueError, match="no module"):
        code_version(SRC, "hepad.nope")
