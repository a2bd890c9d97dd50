import os
from pathlib import Path

# as in the CLI: OpenMP threads that spin while waiting are 10-25x slower when processes share the cores
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pytest  # noqa: E402
import torch  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

# One torch thread for every test and fixture, whatever runs first: float results depend on the
# thread count (summation order), and some fits are sensitive to it (R-ANODE's learned w on the
# 1M-event toy: max SIC 13.9 with one thread, 1.0 with two). The CLI's --threads would otherwise
# leave its value behind for the tests after it.
torch.set_num_threads(1)
threadpool_limits(1)  # OpenMP and BLAS (sklearn, numpy) too: what `hepad --threads 1` sets


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Also restore one thread after a test that changed it (hepad.cli.main --threads): torch's, and the
    OpenMP/BLAS pools, which `--threads` limits process-wide too."""
    yield
    torch.set_num_threads(1)
    threadpool_limits(1)


# `pytest -n 2` (pytest-xdist, --dist loadgroup; Makefile `test-all`): each file is one unit of work, so that
# its module fixtures are built once; the two files on the 1M-event toy share one unit (its session
# fixtures, 90 s to build). The long units go first, in the order the scheduler (two units per worker
# to start, then one more whenever a worker has two tests or fewer left) spreads over two workers:
# worker 1 the workflow test (about 15 min) and a short file, worker 2 the default-size CaloFlow and
# the 1M-event toy (about 7 min each), then both share the rest.
UNITS = {"resonant/test_toy_density.py": "toy1m", "resonant/test_toy_methods.py": "toy1m"}
FIRST = ["workflow/test_workflow.py", "calo/test_calo_default_toy.py", "workflow/test_paper_config.py", "toy1m"]


def pytest_collection_modifyitems(config, items):
    if not config.pluginmanager.hasplugin("xdist"):
        return
    tests = Path(__file__).parent

    def unit(item) -> str:
        f = Path(item.fspath).relative_to(tests).as_posix()
        return UNITS.get(f, f)

    for item in items:
        item.add_marker(pytest.mark.xdist_group(unit(item)))
    rank = {u: i for i, u in enumerate(FIRST)}
    items.sort(key=lambda item: rank.get(unit(item), len(FIRST)))  # stable: file order otherwise
