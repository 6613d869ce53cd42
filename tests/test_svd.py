"""SVD of RBM couplings: ranks of constructed low-rank blocks, effective rank closed forms."""
import numpy as np
import pytest
import torch

from calolib.diagnostics.svd import (coupling_spectra, effective_rank, numerical_rank, singular_values,
                                     spectra_over_checkpoints)
from calolib.errors import CalolibError
from calolib.rbm import RBM


@pytest.mark.parametrize("k", [1, 2, 5])
def test_rank_k_matrix_has_k_nonzero_singular_values(k):
    rng = np.random.default_rng(k)
    m = rng.normal(size=(12, k)) @ rng.normal(size=(k, 9))
    s = singular_values(m)
    assert numerical_rank(m) == k
    assert np.all(s[k:] < 1e-10 * s[0]) and np.all(s[:k] > 1e-3 * s[0])


def test_rank_k_coupling_block_in_an_rbm():
    rbm = RBM((6, 7, 8, 9), topology="full", seed=0)
    rng = np.random.default_rng(0)
    w = rng.normal(size=(7, 3)) @ rng.normal(size=(3, 9))  # rank 3 between partitions 1 and 3
    with torch.no_grad():
        rbm.weights["13"].copy_(torch.as_tensor(w, dtype=rbm.weights["13"].dtype))
    sp = coupling_spectra(rbm)
    assert sp.numerical_ranks[(1, 3)] == 3
    assert sp.blocks[(1, 3)].shape == (7,)
    np.testing.assert_allclose(sp.blocks[(1, 3)][:3], np.linalg.svd(w, compute_uv=False)[:3], rtol=1e-5)
    assert sp.numerical_ranks[(0, 1)] == 6  # random Gaussian block: full rank
    # the full W is symmetric: its singular values are the absolute eigenvalues
    wfull = rbm.weight_matrix().detach().numpy().astype(np.float64)
    np.testing.assert_allclose(np.sort(sp.full), np.sort(np.abs(np.linalg.eigvalsh(wfull))), rtol=1e-4, atol=1e-7)


def test_effective_rank_closed_forms():
    assert effective_rank([1.0, 1.0, 1.0, 1.0]) == pytest.approx(4.0)
    assert effective_rank(np.outer([1.0, 2.0], [3.0, 4.0, 5.0])) == pytest.approx(1.0)
    p = np.array([0.75, 0.25])
    assert effective_rank([3.0, 1.0]) == pytest.approx(np.exp(-(p * np.log(p)).sum()))
    assert effective_rank(np.zeros(3)) == 0.0
    assert numerical_rank(np.zeros((3, 3))) == 0
    with pytest.raises(CalolibError):
        singular_values(np.zeros(3))


def test_sparse_topology_masks_are_respected():
    rbm = RBM((8, 8, 8, 8), topology="zephyr", seed=1)
    sp = coupling_spectra(rbm)
    for (p, q), s in sp.blocks.items():
        c = rbm.coupling(p, q).detach().numpy()
        assert numerical_rank(s, shape=c.shape) == np.linalg.matrix_rank(c)


def test_spectra_over_checkpoints_from_rbms_and_models():
    rbms = [RBM((3, 3, 3, 3), seed=s) for s in range(4)]

    class Model:  # anything holding an .rbm (a QVAE) is accepted
        def __init__(self, rbm):
            self.rbm = rbm

    h = spectra_over_checkpoints([Model(r) for r in rbms], epochs=[1, 2, 5, 10])
    assert h.epochs.tolist() == [1, 2, 5, 10]
    assert h.blocks[(0, 1)].shape == (4, 3) and h.full.shape == (4, 12)
    np.testing.assert_allclose(h.blocks[(2, 3)][2], coupling_spectra(rbms[2]).blocks[(2, 3)])
    assert h.effective_ranks["full"].shape == (4,)
    with pytest.raises(CalolibError):
        spectra_over_checkpoints([RBM((3, 3, 3, 3)), RBM((2, 2, 2, 2))])
    with pytest.raises(CalolibError):
        spectra_over_checkpoints([])


def test_spectra_over_checkpoint_files(tmp_path):
    from calolib.training import load_checkpoint, train
    from calolib.training.testing import tiny_config, write_tiny_dataset

    data = write_tiny_dataset(tmp_path / "tiny.h5", n=48, seed=5)
    res = train(tiny_config(epochs=1), data, tmp_path / "run", device="cpu", progress=False)
    h = spectra_over_checkpoints([res.last_path, res.best_path])
    rbm = load_checkpoint(res.last_path).model.rbm
    assert h.epochs.tolist() == [1, load_checkpoint(res.best_path).epoch]
    np.testing.assert_allclose(h.full[0], coupling_spectra(rbm).full)
