import pytest


@pytest.fixture(scope="session")
def natural():
    """(WindowInputs, test set) of the 1M-event toy with natural jet masses, S/sqrt(B) = 2 in 3.3-3.7 TeV."""
    from toy_dijets_fixtures import build

    return build(slope=0.0)
