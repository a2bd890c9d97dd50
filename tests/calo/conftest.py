import pytest
import torch


@pytest.fixture(autouse=True)
def one_torch_thread():
    """The tests share 2 cores with other jobs: one torch thread avoids OpenMP spin-waiting (much
    slower under contention) and changes nothing else."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
