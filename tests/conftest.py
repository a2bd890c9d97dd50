import os

# as in the CLI: OpenMP threads that spin while waiting are 10-25x slower when processes share the cores
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pytest


@pytest.fixture(scope="session")
def natural():
    """(WindowInputs, test set) of the 1M-event toy with natural jet masses, S/sqrt(B) = 2 in 3.3-3.7 TeV."""
    from toy_dijets_fixtures import build

    return build(slope=0.0)


@pytest.fixture(scope="session")
def correlated():
    """The same toy with the CATHODE paper's strongly correlated jet masses (slope 0.1 in m_jj)."""
    from toy_dijets_fixtures import build

    from hepad.toy.dijets import STRONGLY_CORRELATED

    return build(slope=STRONGLY_CORRELATED)
