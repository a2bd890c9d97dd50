"""Fixtures of the resonant study's slow method tests."""

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

    from hepad.resonant.toy import STRONGLY_CORRELATED

    return build(slope=STRONGLY_CORRELATED)


@pytest.fixture(scope="module")
def tiny_window():
    """A small window with signal, extra background and every shared model trained (fast)."""
    from toy_dijets_fixtures import build_tiny

    return build_tiny()
