"""Shared fixtures: deterministic RNGs, isolated matplotlib state, resource markers."""
from __future__ import annotations

import os
import random

os.environ.setdefault("MPLBACKEND", "agg")
# OpenMP threads that spin while waiting starve each other on a shared 2-core machine (Gibbs fell 40x).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
if os.environ.get("PYTEST_XDIST_WORKER"):
    # one BLAS thread per xdist worker: a 370x370 eigh (every FPD) took 9 s instead of 0.03 s with OpenBLAS
    # threads fighting over a loaded 2-core machine (set before numpy is imported)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import matplotlib as mpl
import numpy as np
import pytest
import torch

if os.environ.get("PYTEST_XDIST_WORKER"):
    # Under `pytest -n 2` each worker gets one core; more torch threads only oversubscribe them
    # (small MLPs ran 5-40x slower with 2 threads per worker on a 2-core machine).
    torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seed_rngs():
    """Every test starts from the same RNG state."""
    random.seed(1234)
    np.random.seed(1234)
    torch.manual_seed(1234)
    yield


@pytest.fixture(autouse=True)
def _reset_rcparams():
    """Plot tests cannot leak style into each other."""
    with mpl.rc_context():
        yield
    import matplotlib.pyplot as plt

    plt.close("all")


def pytest_collection_modifyitems(config, items):
    """Skip ``gpu`` tests without CUDA and ``qpu`` tests without a D-Wave token."""
    has_gpu = torch.cuda.is_available()
    has_token = bool(os.environ.get("DWAVE_API_TOKEN"))
    skip_gpu = pytest.mark.skip(reason="needs a CUDA GPU")
    skip_qpu = pytest.mark.skip(reason="needs DWAVE_API_TOKEN (a real QPU)")
    for item in items:
        if "gpu" in item.keywords and not has_gpu:
            item.add_marker(skip_gpu)
        if "qpu" in item.keywords and not has_token:
            item.add_marker(skip_qpu)


@pytest.fixture
def device() -> torch.device:
    """CUDA when present, else CPU: tests written against this run on both."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@pytest.fixture
def one_torch_thread():
    """Run a test on one torch thread (restored afterwards): small torch ops are faster that way when
    the cores are shared, e.g. by ``pytest -n 2`` on a 2-core machine."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
