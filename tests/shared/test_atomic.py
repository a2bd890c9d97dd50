"""atomic_path: outputs appear whole or not at all; an output that cannot be written is one InputError line."""

import pytest

from hepad.errors import InputError
from hepad.io.atomic import atomic_path, write_csv


def test_success_and_failure(tmp_path):
    out = tmp_path / "new" / "x.txt"
    with atomic_path(out) as tmp:
        assert tmp.parent == out.parent and not tmp.exists()  # the write probe leaves nothing
        tmp.write_text("done")
    assert out.read_text() == "done" and sorted(p.name for p in out.parent.iterdir()) == ["x.txt"]
    with pytest.raises(RuntimeError), atomic_path(out) as tmp:
        tmp.write_text("half")
        raise RuntimeError("step failed")
    assert out.read_text() == "done" and sorted(p.name for p in out.parent.iterdir()) == ["x.txt"]


@pytest.mark.parametrize("sub", ["x.csv", "deeper/x.csv"])
def test_folder_under_a_file(tmp_path, sub):
    """Tests run as root, where chmod does not stop writes: a folder that would have to be made under a file
    cannot be created for anyone."""
    (tmp_path / "afile").write_text("a file")
    out = tmp_path / "afile" / sub
    with pytest.raises(InputError) as e:
        write_csv(out, [{"a": 1.0}], ["a"])
    msg = str(e.value)
    assert msg == f"{out}: cannot write this output ({tmp_path / 'afile'} is a file, not a folder); " \
                  "expected a path in a writable folder"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_unwritable_system_path_and_folder_as_output(tmp_path):
    with pytest.raises(InputError, match=r"^/proc/hepad-x/y.h5: cannot write this output \(.+\); expected a path"):
        with atomic_path("/proc/hepad-x/y.h5"):
            pass
    with pytest.raises(InputError, match=rf"^{tmp_path}: is a folder; expected an output file path"):
        with atomic_path(tmp_path):
            pass
    assert list(tmp_path.iterdir()) == []
