"""Freeze the stable public names of DESIGN.md: outside checks call exactly these."""
from __future__ import annotations

import importlib
import inspect

import numpy as np
import pytest

STABLE = {
    "calolib.geometry": ["get_geometry"],
    "calolib.io": ["load_showers", "save_showers", "ShowerFileError"],
    "calolib.synthetic": ["simulate"],
    "calolib.rbm": ["RBM"],
    "calolib.samplers": ["gibbs_sample"],
    "calolib.partition": ["exact_log_z", "ais", "rais"],
    "calolib.diagnostics": ["acf", "integrated_autocorrelation_time", "frobenius_distance", "resolution_fit"],
    "calolib.metrics": ["separation_power", "jsd", "hellinger", "kl_divergence"],
}


@pytest.mark.parametrize("module,names", sorted(STABLE.items()))
def test_stable_names_exported(module, names):
    mod = importlib.import_module(module)
    for name in names:
        assert hasattr(mod, name), f"{module}.{name} missing"
        assert name in mod.__all__, f"{module}.__all__ lacks {name}"


def test_shower_file_error_is_value_error():
    from calolib.io import ShowerFileError

    assert issubclass(ShowerFileError, ValueError)


def test_signatures_match_design():
    from calolib.partition import ais, rais
    from calolib.rbm import RBM
    from calolib.samplers import gibbs_sample
    from calolib.synthetic import simulate

    assert list(inspect.signature(simulate).parameters)[:3] == ["n", "geometry", "seed"]
    p = inspect.signature(RBM).parameters
    for name, default in [("topology", "full"), ("weight_std", 0.01), ("bias_std", 0.0), ("seed", 0)]:
        assert p[name].default == default, name
    g = inspect.signature(gibbs_sample).parameters
    assert list(g)[:4] == ["rbm", "n_samples", "n_steps", "beta"] and g["beta"].default == 1.0 and g["seed"].default == 0
    assert list(inspect.signature(ais).parameters)[:3] == ["rbm", "n_chains", "n_betas"]
    assert list(inspect.signature(rais).parameters)[:3] == ["rbm", "samples", "n_betas"]


def test_design_examples_run():
    """The one-line examples of DESIGN.md, end to end on tiny inputs."""
    import torch

    from calolib.geometry import get_geometry
    from calolib.rbm import RBM
    from calolib.samplers import gibbs_sample
    from calolib.synthetic import simulate

    assert get_geometry("ds2").n_voxels == 6480
    s = simulate(4, geometry="ds2", seed=0)
    assert s.showers.shape == (4, 6480) and s.energies.shape == (4,)
    rbm = RBM(sizes=(3, 3, 3, 3), topology="full", weight_std=0.5, seed=0)
    z = gibbs_sample(rbm, 5, 3, beta=1.0, seed=0)
    assert z.shape == (5, 12) and set(torch.unique(z).tolist()) <= {0.0, 1.0}
    e = rbm.energy(z)
    assert e.shape == (5,)
    bqm = rbm.to_bqm()
    for row, ei in zip(z.numpy(), e.detach().numpy()):
        assert np.isclose(bqm.energy({i: int(v) for i, v in enumerate(row)}), ei, atol=1e-5)
