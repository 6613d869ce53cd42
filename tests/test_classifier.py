"""Classifier test: AUC ≈ 0.5 on one distribution, ≈ 1 on separated ones; AUC/input helpers."""
import numpy as np
import pytest
import torch

from calolib.errors import CalolibError
from calolib.metrics import ClassifierConfig, classifier_auc
from calolib.metrics.classifier import high_level_inputs, low_level_inputs, roc_auc


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def literal_auc(s, y):
    pos, neg = s[y == 1], s[y == 0]
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return wins / (len(pos) * len(neg))


def test_roc_auc_matches_pair_counting():
    rng = np.random.default_rng(0)
    s = rng.integers(0, 5, 200).astype(float)  # many ties
    y = rng.integers(0, 2, 200)
    assert roc_auc(s, y) == pytest.approx(literal_auc(s, y), rel=1e-12)
    assert roc_auc([1, 2, 3, 4], [0, 0, 1, 1]) == 1.0
    with pytest.raises(CalolibError):
        roc_auc([1, 2], [1, 1])


def test_same_distribution_gives_half(device):
    rng = np.random.default_rng(1)
    n = 1500
    r = classifier_auc(rng.normal(size=(n, 8)), rng.normal(size=(n, 8)),
                       config=ClassifierConfig(epochs=8, batch_size=512), seed=0, device=device)
    n1 = n0 = r.n_test / 2
    sd = np.sqrt((n1 + n0 + 1) / (12 * n1 * n0))  # null distribution of the AUC (Mann–Whitney)
    assert abs(r.auc - 0.5) < 4 * sd
    assert r.jsd < 0.02
    assert r.n_train + r.n_val + r.n_test == 2 * n


def test_clearly_different_gives_one():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(1000, 4))
    b = rng.normal(size=(1000, 4))
    b[:, 0] = np.abs(b[:, 0]) * 0.2 + 3.0  # disjoint in one feature
    r = classifier_auc(a, b, config=ClassifierConfig(epochs=10))
    assert r.auc > 0.99
    assert r.jsd > 0.5 * np.log(2)  # near-perfect separation: JSD close to ln 2
    assert 1 <= r.best_epoch <= r.epochs_run <= 10


def test_nonlinear_difference_is_learned():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(1500, 2))
    b = rng.normal(size=(1500, 2)) * np.array([1.0, 2.5])  # same mean, different width
    r = classifier_auc(a, b, config=ClassifierConfig(epochs=10, batch_size=128, lr=3e-3))
    assert r.auc > 0.65


def test_inputs():
    from calolib.features import compute_features
    from calolib.showers import Showers

    e = np.array([1e3, 1e4])
    v = np.zeros((2, 368))
    v[0, 0] = 100.0
    x = low_level_inputs(Showers(e, v, "ds1-photons"))
    assert x.shape == (2, 369) and x.dtype == np.float32
    assert x[0, 0] == pytest.approx(np.log10(0.1 + 1e-7))
    assert x[1, 0] == pytest.approx(-7.0) and x[1, -1] == pytest.approx(4.0)
    np.testing.assert_allclose(low_level_inputs(torch.tensor(v), e), x)
    f = compute_features(Showers(e, v + 1.0, "ds1-photons"))
    assert high_level_inputs(f).shape == (2, len(f.feature_names))
    with pytest.raises(CalolibError):
        low_level_inputs(v)  # no energies
    with pytest.raises(CalolibError):
        low_level_inputs(v, -e)


def test_config_and_input_checks():
    with pytest.raises(CalolibError):
        ClassifierConfig(split=(0.5, 0.5, 0.5))
    with pytest.raises(CalolibError):
        ClassifierConfig(epochs=0)
    with pytest.raises(CalolibError):
        classifier_auc(np.zeros((50, 2)), np.zeros((50, 3)))
    with pytest.raises(CalolibError):
        classifier_auc(np.zeros((5, 2)), np.zeros((5, 2)))
    assert ClassifierConfig.full().hidden == (512, 512, 512)


@pytest.mark.gpu
def test_full_config_runs_on_gpu():
    rng = np.random.default_rng(4)
    r = classifier_auc(rng.normal(size=(3000, 16)), rng.normal(0.3, 1, size=(3000, 16)),
                       config=ClassifierConfig.full(), device="cuda")
    assert r.auc > 0.6
