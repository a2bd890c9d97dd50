import os

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
