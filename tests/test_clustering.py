"""Latent clustering: overlap near chance for E_inc-independent encodings, high for separated ones."""
import numpy as np
import pytest
import torch

from calolib.diagnostics.clustering import energy_groups, group_classifier_accuracy, latent_clustering
from calolib.errors import CalolibError

N_LATENT = 16


def energy_fn(z):
    return -torch.as_tensor(z, dtype=torch.float32).sum(1)


def test_energy_groups_are_quantiles():
    e = np.geomspace(1e3, 1e6, 100)
    g, edges = energy_groups(e, 4)
    assert np.bincount(g).tolist() == [25, 25, 25, 25]
    assert edges[0] == pytest.approx(1e3) and edges[-1] == pytest.approx(1e6)
    g2, _ = energy_groups(e, np.array([1e3, 1e4, 1e5, 1e6]))
    assert np.all(e[g2 == 0] < 1e4) and np.all(e[g2 == 2] >= 1e5)
    with pytest.raises(CalolibError):
        energy_groups([-1.0, 2.0])


def test_encodings_independent_of_energy_overlap():
    gen = torch.Generator().manual_seed(0)

    def encode(x, e):  # stochastic encoder that ignores E_inc
        return (torch.rand(len(e), N_LATENT, generator=gen) < 0.5).float()

    e = np.geomspace(1e3, 1e6, 200)
    gibbs = energy_fn((torch.rand(2000, N_LATENT, generator=gen) < 0.5).float())
    r = latent_clustering(encode, energy_fn, torch.zeros(200, 3), e, n_repeats=10, groups=4, gibbs_energies=gibbs,
                          n_bins=17)
    assert r.energies.shape == (200, 10) and r.group_hist.shape == (4, 17)
    # each group holds 500 encodings of a Binomial(16, ½) energy; sampling noise alone gives sep. power
    # ≈ (bins−1)/(2·500)·… ≤ 0.05 here
    assert r.overlap_score < 0.05
    assert abs(r.classifier_accuracy - r.chance_accuracy) < 4 * np.sqrt(0.25 / (0.3 * 200)) + 0.05
    assert r.gibbs_separation < 0.05
    np.testing.assert_allclose(r.group_mean, -8.0, atol=4 * 2 / np.sqrt(500))  # mean of −Binomial(16, ½)
    np.testing.assert_allclose(r.group_std, 2.0, rtol=0.15)


def test_encodings_that_depend_on_energy_separate():
    gen = torch.Generator().manual_seed(1)

    def encode(x, e):  # the fraction of ones grows with log E_inc: groups separate in RBM energy
        p = ((torch.log10(torch.as_tensor(e)) - 3) / 3).clamp(0.05, 0.95).float()
        return (torch.rand(len(e), N_LATENT, generator=gen) < p[:, None]).float()

    e = np.geomspace(1e3, 1e6, 200)
    r = latent_clustering(encode, energy_fn, np.zeros((200, 3)), e, n_repeats=10, groups=3)
    assert r.overlap_score > 0.6
    assert r.classifier_accuracy > r.chance_accuracy + 0.3
    assert np.all(np.diff(r.group_mean) < 0)  # higher E_inc -> more ones -> lower energy
    assert r.pairwise_separation[0, 2] > r.pairwise_separation[0, 1]


def test_group_classifier_uses_event_split():
    rng = np.random.default_rng(0)
    z = rng.random((300, 5))
    labels = np.repeat(np.arange(3), 100)
    acc, err, chance = group_classifier_accuracy(z, labels, np.arange(300) // 10)
    assert abs(acc - chance) < 0.25 and err > 0
    z[:, 0] = labels  # label written into a feature
    assert group_classifier_accuracy(z, labels, np.arange(300) // 10)[0] == 1.0
    with pytest.raises(CalolibError):
        group_classifier_accuracy(z, labels[:10], np.arange(300))


def test_bad_arguments():
    with pytest.raises(CalolibError):
        latent_clustering(lambda x, e: x, energy_fn, np.zeros((3, 2)), np.ones(4))
    with pytest.raises(CalolibError):
        latent_clustering(lambda x, e: x, energy_fn, np.zeros((3, 2)), np.ones(3), n_repeats=0)


def test_with_a_real_qvae():
    from calolib.diagnostics.clustering import model_callables
    from calolib.models import QVAE, ModelConfig

    cfg = ModelConfig(geometry="ds1-photons", rbm_sizes=(8, 8, 8, 8), topology="full", encoder_hidden=(32,),
                      decoder_hidden=(32,))
    model = QVAE(cfg).eval()
    enc, en, dec = model_callables(model)
    x = torch.randn(8, 368)
    e = torch.tensor(np.geomspace(1e3, 1e6, 8), dtype=torch.float32)
    assert enc.n_clamped == cfg.n_clamped == 8  # partition 0 carries the E_inc code
    r = latent_clustering(enc, en, x, e, n_repeats=3, groups=2)
    assert r.energies.shape == (8, 3) and np.isfinite(r.energies).all()
    # with the code bits the E_inc group is trivially readable; the default leaves them out
    leak = latent_clustering(enc, en, x, e, n_repeats=3, groups=2, classifier_columns=slice(None))
    assert leak.classifier_accuracy == 1.0
    z = enc(x, e)
    assert z.shape == (8, 32) and dec(z, e).shape == (8, 368)
    np.testing.assert_allclose(en(z).numpy(), model.rbm.energy(z).detach().numpy())


def test_free_unit_energy_zeroes_the_code_bits():
    from calolib.diagnostics.clustering import free_unit_energy
    from calolib.rbm import RBM

    rbm = RBM((3, 4, 4, 4), weight_std=1.0, bias_std=1.0, seed=0)
    z = (torch.rand(20, 15, generator=torch.Generator().manual_seed(0)) < 0.5).float()
    zf = z.clone()
    zf[:, :3] = 0
    a, w = rbm.bias_vector(), rbm.weight_matrix()
    want = -(zf[:, 3:] @ a[3:]) - 0.5 * ((zf[:, 3:] @ w[3:, 3:]) * zf[:, 3:]).sum(1)
    np.testing.assert_allclose(free_unit_energy(rbm, z, 3).detach().numpy(), want.detach().numpy(), rtol=1e-5, atol=1e-5)


def test_code_bits_can_flip_the_energy_trend():
    """A code whose bias favours high E_inc lowers E(z) with E_inc, while the free part rises: the sign flips."""
    e = np.geomspace(1e3, 1e6, 120)

    def encode(x, ee):  # 4 code bits (thermometer of E_inc) + 8 free bits whose ones *fall* with E_inc
        tt = torch.as_tensor((np.log10(np.asarray(ee)) - 3) / 3)
        code = (tt[:, None] > torch.tensor([0.2, 0.4, 0.6, 0.8])).float()
        free = (torch.rand(len(ee), 8, generator=torch.Generator().manual_seed(int(1e3 * float(tt.sum())) % 1000))
                < (0.9 - 0.8 * tt)[:, None]).float()
        return torch.cat([code, free], 1)

    encode.n_clamped = 4
    free_e = lambda z: -torch.as_tensor(z)[:, 4:].sum(1)  # noqa: E731 - more ones, lower energy
    full_e = lambda z: -torch.as_tensor(z)[:, 4:].sum(1) - 5.0 * torch.as_tensor(z)[:, :4].sum(1)  # noqa: E731
    r = latent_clustering(encode, free_e, np.zeros((120, 1)), e, n_repeats=4, groups=3, full_energy=full_e)
    assert r.corr_log_e > 0.5 and r.corr_log_e_full < -0.5
    assert r.full_energies.shape == (120, 4)


def test_deterministic_encoder_has_one_code_per_event_and_the_null_is_shuffled_groups():
    e = np.geomspace(1e3, 1e6, 90)

    def encode(x, ee):  # deterministic, independent of E_inc: hash of the event row
        idx = torch.as_tensor(np.asarray(x)[:, 0]).long()
        return ((idx[:, None] * torch.arange(1, 11)) % 3 == 0).float()

    x = np.arange(90)[:, None].astype(float)
    r = latent_clustering(encode, energy_fn, x, e, n_repeats=6, groups=3, n_permutations=100)
    assert (r.distinct_codes == 1).all() and r.median_distinct_codes == 1
    assert r.group_hist.sum() == pytest.approx(90)  # each event weighs 1 whatever n_repeats
    assert abs(r.excess_overlap) < 0.1 and r.null_overlap_q95 >= r.null_overlap_mean
    d = r.to_dict()
    assert d["median_distinct_codes"] == 1 and d["n_repeats"] == 6


def test_energy_dependent_encodings_exceed_the_shuffled_null():
    gen = torch.Generator().manual_seed(2)

    def encode(x, ee):
        p = ((torch.log10(torch.as_tensor(ee)) - 3) / 3).clamp(0.05, 0.95).float()
        return (torch.rand(len(ee), N_LATENT, generator=gen) < p[:, None]).float()

    r = latent_clustering(encode, energy_fn, np.zeros((150, 3)), np.geomspace(1e3, 1e6, 150), n_repeats=5, groups=3)
    assert r.excess_overlap > 0.3 and r.overlap_score > r.null_overlap_q95
    assert r.median_distinct_codes == 5  # stochastic: every encoding differs
