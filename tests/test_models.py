"""The QVAE: configuration, every architecture combination, conditioning semantics, CNN symmetry, loss terms."""
from __future__ import annotations

import itertools
import json
import math
from dataclasses import asdict

import numpy as np
import pytest
import torch

from calolib.errors import ConfigError
from calolib.models import QVAE, ModelConfig, ahep, total_loss
from calolib.models.encoders import CircularConv3d, CNNBackbone
from calolib.models.losses import bernoulli_entropy, reconstruction_loss
from calolib.models.qvae import DecoderOutput

V = 6480
SMALL = dict(rbm_sizes=(8, 8, 8, 8), topology="full", encoder_hidden=(16,), decoder_hidden=(16,),
             cnn_channels=(2,), cnn_hidden=8, hierarchical_hidden=8)


def small(**kw) -> ModelConfig:
    return ModelConfig(**{**SMALL, **kw})


def batch(b=3, seed=0, device="cpu"):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, V, generator=g).to(device)
    e = torch.exp(torch.empty(b).uniform_(math.log(1e3), math.log(1e6), generator=g)).to(device)
    return x, e


# ----------------------------------------------------------------------------------------------- config
def test_config_round_trips_through_json():
    cfg = small(encoder="cnn", positional="v2", topology_kwargs={"m": 2})
    d = json.loads(json.dumps(asdict(cfg)))
    assert ModelConfig.from_dict(d) == cfg
    assert cfg.replace(dropout=0.1).dropout == 0.1


@pytest.mark.parametrize("bad, match", [
    ({"hiden": 3}, "unknown ModelConfig key 'hiden'"),
    ({"encoder": "transformer"}, "encoder"),
    ({"rbm_sizes": [8, 8, 8]}, "four positive"),
    ({"rbm_sizes": ["8", 8, 8, 8]}, "integer"),
    ({"seed": True}, "integer"),
    ({"seed": 1.5}, "integer"),
    ({"hits_head": 1}, "true/false"),
    ({"relax_beta": "10"}, "number"),
    ({"relax_beta": -1.0}, "> 0"),
    ({"dropout": 1.0}, "dropout"),
    ({"einc_min": 1e6, "einc_max": 1e3}, "einc_min"),
    ({"partition_encoding": True}, "hierarchical"),
    ({"rbm_sizes": [302, 8, 8, 8], "condition_code": "gray"}, "thermometer"),
    ({"topology_kwargs": [1]}, "mapping"),
])
def test_config_rejects_bad_values(bad, match):
    with pytest.raises(ConfigError, match=match):
        ModelConfig.from_dict({**SMALL, **bad})


def test_default_config_is_the_4x302_zephyr_model():
    cfg = ModelConfig()
    assert cfg.rbm_sizes == (302,) * 4 and cfg.topology == "zephyr" and cfg.n_latent == 1208
    assert cfg.n_clamped == 302 and cfg.geometry == "ds2"


# ----------------------------------------------------------------------------------------------- shapes
COMBOS = list(itertools.product(["fcn", "cnn", "hierarchical"], ["fcn", "cnn"], ["enc_dec", "enc", "none", "film"],
                                ["spike_exp", "mixture_exp", "gumbel"]))


@pytest.mark.parametrize("encoder, decoder, conditioning, relaxation", COMBOS)
def test_every_combination_has_contract_shapes(encoder, decoder, conditioning, relaxation):
    crbm = (COMBOS.index((encoder, decoder, conditioning, relaxation)) % 2) == 0  # alternate clamped / free prior
    cfg = small(encoder=encoder, decoder=decoder, conditioning=conditioning, relaxation=relaxation,
                condition_rbm=crbm, hierarchical_backbone="cnn" if decoder == "cnn" else "fcn")
    model = QVAE(cfg)
    x, e = batch(2)
    out = model(x, e, generator=torch.Generator().manual_seed(0))
    n = 32
    assert out.enc.logits.shape == out.enc.zeta.shape == out.enc.z.shape == (2, n)
    assert set(torch.unique(out.enc.z).tolist()) <= {0.0, 1.0}
    assert ((out.enc.zeta >= 0) & (out.enc.zeta <= 1)).all()
    if crbm:
        code = model.rbm.encode_condition(e, code=cfg.condition_code)
        assert torch.equal(out.enc.z[:, :8], code) and torch.equal(out.enc.zeta[:, :8], code)
    assert out.dec.x.shape == out.dec.hit_logits.shape == (2, V)
    assert model.reconstruct(out.dec).shape == (2, V)
    terms = model.loss_terms(x, e, out, torch.bernoulli(torch.full((5, n), 0.5)))
    assert set(terms) == {"ae", "hits", "ent", "pos", "neg"}
    assert all(t.ndim == 0 and torch.isfinite(t) for t in terms.values())
    total_loss(terms, 0.5).backward()
    for part in (model.encoder, model.decoder, model.rbm):
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in part.parameters())


@pytest.mark.parametrize("kw", [
    {"einc_input": "add"}, {"positional": "v1"}, {"positional": "v2"},
    {"positional": "v2", "encoder": "cnn", "positional_dim": 2}, {"positional": "v1", "encoder": "cnn", "einc_input": "add"},
    {"encoder": "hierarchical", "partition_encoding": True},
    {"encoder": "hierarchical", "partition_encoding": True, "condition_rbm": False},
    {"hits_head": False}, {"hits_use_einc": False}, {"hits_preprocess_einc": True},
    {"hits_preprocess_einc": True, "decoder": "cnn", "conditioning": "film"},
    {"condition_code": "gray"}, {"dropout": 0.2, "activation": "relu"}, {"geometry": "ds1-photons"},
])
def test_options_run_end_to_end(kw):
    model = QVAE(small(**kw))
    v = model.n_voxels
    x, e = torch.randn(2, v), torch.tensor([2e3, 5e5])
    out = model(x, e)
    assert out.dec.x.shape == (2, v)
    assert (out.dec.hit_logits is None) == (kw.get("hits_head") is False)
    terms = model.loss_terms(x, e, out, torch.zeros(3, 32))
    total_loss(terms).backward()
    if kw.get("hits_head") is False:
        assert terms["hits"].item() == 0.0 and torch.equal(model.reconstruct(out.dec), out.dec.x)


def test_cnn_on_an_irregular_geometry_is_a_config_error():
    with pytest.raises(ConfigError, match="regular geometry"):
        QVAE(small(geometry="ds1-pions", encoder="cnn"))


def test_default_size_model_builds_and_runs():
    model = QVAE()
    x, e = batch(2)
    out = model(x, e)
    assert out.enc.z.shape == (2, 1208) and out.dec.x.shape == (2, V)
    assert model.n_parameters > 1_000_000


# ----------------------------------------------------------------------------------------------- CNN symmetry
def test_circular_padding_makes_convolutions_equivariant_to_angle_rolls():
    torch.manual_seed(0)
    h = torch.randn(2, 1, 45, 16, 9)
    conv = CircularConv3d(1, 3, 3)
    roll = lambda t, s: torch.roll(t, s, dims=3)  # noqa: E731
    assert torch.allclose(conv(roll(h, 5)), roll(conv(h), 5), atol=1e-5)
    # an ordinary zero-padded convolution with the same weights is not equivariant (the test can fail)
    plain = torch.nn.Conv3d(1, 3, 3, padding=1)
    plain.load_state_dict(conv.conv.state_dict())
    assert not torch.allclose(plain(roll(h, 5)), roll(plain(h), 5), atol=1e-3)
    # the whole conv path of the encoder (stride 2 per stage) commutes with rolls by multiples of its stride
    bb = CNNBackbone(1, small(encoder="cnn", cnn_channels=(2, 3)))
    out, out_rolled = bb.conv(h), bb.conv(roll(h, 4))
    assert torch.allclose(out_rolled, roll(out, 1), atol=1e-5)  # 16 -> 8 -> 4 angle bins: roll 4 -> roll 1


# ----------------------------------------------------------------------------------------------- semantics
def _decode_pair(model, z, e1, e2):
    return model.decode(z, torch.full((z.shape[0],), e1)), model.decode(z, torch.full((z.shape[0],), e2))


def test_conditioning_modes_decide_who_sees_e_inc():
    x, _ = batch(2)
    z = torch.bernoulli(torch.full((2, 32), 0.5))
    for mode, enc_sees, dec_sees in [("enc_dec", True, True), ("enc", True, False), ("none", False, False),
                                     ("film", True, True)]:
        model = QVAE(small(conditioning=mode, condition_rbm=False))
        if mode == "film":  # FiLM starts as the identity; give it a non-trivial modulation
            for film in model.decoder.energy.films:
                torch.nn.init.normal_(film.proj.weight, std=0.3)
        l1 = model.encoder.logits(x, model.einc_unit(torch.full((2,), 1e3)))
        l2 = model.encoder.logits(x, model.einc_unit(torch.full((2,), 1e6)))
        assert (not torch.allclose(l1, l2)) == enc_sees, mode
        d1, d2 = _decode_pair(model, z, 1e3, 1e6)
        assert (not torch.allclose(d1.x, d2.x)) == dec_sees, mode


def test_hits_head_can_be_cut_off_from_e_inc():
    z = torch.bernoulli(torch.full((2, 32), 0.5))
    model = QVAE(small(hits_use_einc=False, condition_rbm=False))
    d1, d2 = _decode_pair(model, z, 1e3, 1e6)
    assert torch.equal(d1.hit_logits, d2.hit_logits) and not torch.allclose(d1.x, d2.x)
    model = QVAE(small(hits_preprocess_einc=True, condition_rbm=False))
    d1, d2 = _decode_pair(model, z, 1e3, 1e6)
    assert not torch.allclose(d1.hit_logits, d2.hit_logits)
    assert model.decoder.hits_embed.dim == 16


def test_clamped_condition_reaches_the_decoder_through_z():
    model = QVAE(small(conditioning="none", condition_rbm=True))
    z = torch.bernoulli(torch.full((2, 32), 0.5))
    a = model.sample_prior_decode(z, torch.full((2,), 1e3))
    b = model.sample_prior_decode(z, torch.full((2,), 1e6))
    assert not torch.allclose(a, b)  # same free bits, different code in partition 0


def test_hierarchical_partitions_depend_on_earlier_samples():
    x, e = batch(4)
    model = QVAE(small(encoder="hierarchical", condition_rbm=True))
    o1 = model.encode(x, e, generator=torch.Generator().manual_seed(1))
    o2 = model.encode(x, e, generator=torch.Generator().manual_seed(2))
    # the first free partition depends only on (x, E_inc); later ones on the random earlier samples
    assert torch.allclose(o1.logits[:, 8:16], o2.logits[:, 8:16])
    assert not torch.allclose(o1.logits[:, 16:], o2.logits[:, 16:])
    flat = QVAE(small(encoder="fcn"))
    f1 = flat.encode(x, e, generator=torch.Generator().manual_seed(1))
    f2 = flat.encode(x, e, generator=torch.Generator().manual_seed(2))
    assert torch.equal(f1.logits, f2.logits) and not torch.equal(f1.z, f2.z)


# ----------------------------------------------------------------------------------------------- loss terms
def test_entropy_term_is_the_closed_form_bernoulli_entropy():
    model = QVAE(small(condition_rbm=True))
    x, e = batch(5)
    out = model(x, e)
    terms = model.loss_terms(x, e, out, None)
    q = torch.sigmoid(out.enc.logits[:, 8:].double())  # only the encoder's free bits
    h = -(q * torch.log(q) + (1 - q) * torch.log(1 - q)).sum(1).mean()
    assert torch.isclose(terms["ent"].double(), -h, rtol=1e-5)
    assert float(bernoulli_entropy(torch.zeros(1, 4))) == pytest.approx(4 * math.log(2))


def test_pos_and_neg_are_mean_rbm_energies():
    model = QVAE(small())
    x, e = batch(4)
    out = model(x, e)
    neg_z = torch.bernoulli(torch.full((6, 32), 0.3))
    terms = model.loss_terms(x, e, out, neg_z)
    assert torch.isclose(terms["pos"], model.rbm.energy(out.enc.zeta).mean())
    assert torch.isclose(terms["neg"], model.rbm.energy(neg_z).mean())
    assert torch.isclose(ahep(terms), terms["ae"] + terms["hits"] + terms["ent"] + terms["pos"])


def test_neg_gradient_reaches_only_the_rbm():
    model = QVAE(small())
    x, e = batch(3)
    out = model(x, e)
    neg_z = torch.bernoulli(torch.full((6, 32), 0.5)).requires_grad_(True)
    model.loss_terms(x, e, out, neg_z)["neg"].backward()
    assert neg_z.grad is None
    assert all(p.grad is None for p in itertools.chain(model.encoder.parameters(), model.decoder.parameters()))
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.rbm.parameters())


def test_pos_gradient_reaches_encoder_and_rbm_not_decoder():
    model = QVAE(small(rbm_weight_std=0.5, rbm_bias_std=0.5))
    x, e = batch(3)
    model.loss_terms(x, e, model(x, e), None)["pos"].backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.encoder.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.rbm.parameters())
    assert all(p.grad is None for p in model.decoder.parameters())


def test_hits_targets_and_masked_ae_with_real_preprocessing():
    from calolib.preprocessing import VoxelTransform

    rng = np.random.default_rng(0)
    n = 40
    e = 10 ** rng.uniform(3, 6, n)
    showers = rng.exponential(1.0, (n, V)) * (rng.random((n, V)) < 0.3) * e[:, None] * 1e-3
    tf = VoxelTransform().fit(e, showers)
    model = QVAE(small())
    model.set_empty_value(tf.transform(e[:1], np.zeros((1, V)))[0])
    x = torch.from_numpy(tf.transform(e, showers))
    assert torch.equal(model.hit_targets(x), torch.from_numpy(showers > 0))
    # reconstructing with the true hits as logits puts the empty value exactly where the shower is empty
    from calolib.models import DecoderOutput

    dec = DecoderOutput(x + 0.1, torch.where(torch.from_numpy(showers > 0), 10.0, -10.0))
    rec = model.reconstruct(dec)
    back = tf.inverse(e, rec.numpy())
    assert np.all(back[showers == 0] < 1e-6) and np.all(back[showers > 0] > 0)  # MeV; float32 round trip
    # the AE term ignores empty voxels when there is a hits head
    hits = model.hit_targets(x)
    expected = (((x + 0.1 - x) ** 2) * hits).sum(1).mean()
    assert torch.isclose(reconstruction_loss(dec.x, x, hits), expected)
    with pytest.raises(ConfigError, match="empty_value"):
        model.set_empty_value(np.zeros(5))


def test_sampled_hits_follow_the_hit_probabilities():
    model = QVAE(small())
    model.set_empty_value(torch.full((V,), -7.0))
    p = torch.linspace(0.05, 0.95, V)
    from calolib.models import DecoderOutput

    dec = DecoderOutput(torch.ones(400, V), torch.logit(p).expand(400, V))
    rec = model.reconstruct(dec, sample_hits=True, generator=torch.Generator().manual_seed(0))
    frac = (rec == 1.0).float().mean(0)
    assert torch.all((frac - p).abs() < 5 * torch.sqrt(p * (1 - p) / 400))
    assert set(torch.unique(model.reconstruct(dec)).tolist()) == {-7.0, 1.0}


def test_a_few_optimiser_steps_overfit_a_tiny_batch():
    model = QVAE(small(encoder_hidden=(32,), decoder_hidden=(32,)))
    x, e = batch(8, seed=3)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(0)
    first = None
    for _ in range(40):
        terms = model.loss_terms(x, e, model(x, e, generator=gen), None)
        loss = total_loss(terms, kl_weight=0.0)
        opt.zero_grad()
        loss.backward()
        opt.step()
        first = terms["ae"].item() if first is None else first
    assert terms["ae"].item() < 0.5 * first


# ----------------------------------------------------------------------------------------------- conveniences
def test_encode_many_gives_independent_hard_samples_with_posterior_mean():
    model = QVAE(small(condition_rbm=False))
    x, e = batch(2)
    z = model.encode_many(x, e, 2000, torch.Generator().manual_seed(0))
    assert z.shape == (2, 2000, 32) and set(torch.unique(z).tolist()) <= {0.0, 1.0}
    q = torch.sigmoid(model.encode(x, e).logits)
    assert torch.all((z.mean(1) - q).abs() < 5 * torch.sqrt(q * (1 - q) / 2000) + 1e-6)


def test_construction_is_deterministic_and_leaves_global_rng_alone():
    cfg = small(seed=7)
    torch.manual_seed(0)
    a = QVAE(cfg)
    after = torch.rand(1)
    torch.manual_seed(123)
    b = QVAE(cfg)
    torch.manual_seed(0)
    assert torch.equal(torch.rand(1), after)
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb and torch.equal(va, vb)
    assert not torch.equal(QVAE(small(seed=8)).decoder.energy.out.weight, a.decoder.energy.out.weight)


def test_n_parameters_counts_networks_and_free_rbm_couplings():
    cfg = small(hits_head=False, condition_rbm=False, conditioning="none")
    model = QVAE(cfg)
    enc = (V * 16 + 16) + (16 * 32 + 32)
    dec = (32 * 16 + 16) + (16 * V + V)
    rbm = 4 * 8 + 6 * 8 * 8  # full topology: every coupling between partitions is free
    assert model.n_parameters == enc + dec + rbm


def test_model_runs_on_the_test_device(device):
    model = QVAE(small(encoder="cnn", decoder="cnn", conditioning="film")).to(device)
    x, e = batch(2, device=device)
    out = model(x, e, generator=torch.Generator(device=device).manual_seed(0))
    terms = model.loss_terms(x, e, out, torch.zeros(3, 32, device=device))
    total_loss(terms).backward()
    assert out.dec.x.device.type == device.type and out.enc.z.device.type == device.type


def test_bad_inputs_raise_config_errors():
    model = QVAE(small())
    with pytest.raises(ConfigError, match="x must be"):
        model.encode(torch.zeros(2, 10), torch.ones(2) * 1e3)
    with pytest.raises(ConfigError, match="z must be"):
        model.decode(torch.zeros(2, 5), torch.ones(2) * 1e3)
    with pytest.raises(ConfigError, match="ModelConfig"):
        QVAE(42)


# ------------------------------------------------------------------------------------- energy-sum term
def _fitted_transform(n=6, seed=0):
    from calolib.preprocessing import VoxelTransform

    rng = np.random.default_rng(seed)
    e = np.exp(rng.uniform(np.log(1e3), np.log(1e6), n))
    s = rng.exponential(1.0, (n, V)) * (rng.random((n, V)) < 0.2)
    s *= (0.7 * e / s.sum(axis=1))[:, None]
    return VoxelTransform().fit(e, s), e, s


@pytest.mark.parametrize("mode", ["layer", "total"])
def test_esum_term_matches_numpy(mode):
    from calolib.geometry import get_geometry

    tr, e, s = _fitted_transform()
    model = QVAE(small(esum_weight=2.0, esum_mode=mode, esum_floor=1e-3))
    model.set_preprocessing(tr)
    x = torch.as_tensor(tr.transform(e, s))
    out = model(x, torch.as_tensor(e))
    terms = model.loss_terms(x, torch.as_tensor(e), out, None)
    # independent numpy: invert the transform by hand, weight by the hit probabilities, sum per layer
    m, sd, d = tr.mean, tr.std, tr.delta
    xh = out.dec.x.detach().double().numpy()
    hp = 1.0 / (1.0 + np.exp(-out.dec.hit_logits.detach().double().numpy()))
    eps_hat = np.clip((1.0 / (1.0 + np.exp(-(xh * sd + m))) - d) / (1 - 2 * d), 0, None) * hp
    eps = s / e[:, None]
    layer = np.asarray(get_geometry("ds2").voxel_layer)
    onehot = np.eye(45)[layer] if mode == "layer" else np.ones((V, 1))
    f_hat, f = eps_hat @ onehot, eps @ onehot
    expected = np.mean(np.sum((np.log(f_hat + 1e-3) - np.log(f + 1e-3)) ** 2, axis=1))
    assert set(terms) == {"ae", "hits", "ent", "pos", "neg", "esum"}
    assert np.isclose(terms["esum"].item(), expected, rtol=2e-4)
    # the total loss counts it with its weight; AHEP does not
    base = total_loss({k: v for k, v in terms.items() if k != "esum"}, 0.5)
    assert torch.isclose(total_loss(terms, 0.5, 2.0), base + 2.0 * terms["esum"])
    assert torch.isclose(ahep(terms), terms["ae"] + terms["hits"] + terms["ent"] + terms["pos"])


def test_esum_is_zero_for_a_perfect_reconstruction_and_grows_with_an_energy_deficit():
    from calolib.models.losses import energy_sum_loss

    tr, e, s = _fitted_transform()
    mean, std = torch.as_tensor(tr.mean, dtype=torch.float32), torch.as_tensor(tr.std, dtype=torch.float32)
    x = torch.as_tensor(tr.transform(e, s))
    assert energy_sum_loss(x, None, x, mean, std, tr.delta).item() < 1e-8
    x_low = torch.as_tensor(tr.transform(e, 0.5 * s))  # every voxel at half energy: total ratio 1/2
    got = energy_sum_loss(x_low, None, x, mean, std, tr.delta, floor=1e-9).item()
    assert np.isclose(got, math.log(2.0) ** 2, rtol=1e-3)


def test_esum_gradient_reaches_both_decoder_heads_but_not_the_target():
    tr, e, s = _fitted_transform()
    model = QVAE(small(esum_weight=1.0))
    model.set_preprocessing(tr)
    x = torch.as_tensor(tr.transform(e, s)).requires_grad_(True)
    out = model(x.detach(), torch.as_tensor(e))
    x_hat = out.dec.x.detach().requires_grad_(True)
    hl = out.dec.hit_logits.detach().requires_grad_(True)
    model.esum_term(x, DecoderOutput(x_hat, hl)).backward()
    assert x_hat.grad.abs().sum() > 0 and hl.grad.abs().sum() > 0
    assert x.grad is None or x.grad.abs().sum() == 0
    # and through the whole model, to the decoder's and encoder's weights
    model.zero_grad()
    model.loss_terms(x.detach(), torch.as_tensor(e), model(x.detach(), torch.as_tensor(e)), None)["esum"].backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.decoder.parameters() if p.ndim > 1)
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.encoder.parameters())


def test_esum_off_by_default_and_needs_preprocessing():
    x, e = batch()
    model = QVAE(small())
    assert "esum" not in model.loss_terms(x, e, model(x, e), None)
    on = QVAE(small(esum_weight=1.0))
    with pytest.raises(ConfigError, match="set_preprocessing"):
        on.loss_terms(x, e, on(x, e), None)
    with pytest.raises(ConfigError, match="esum_weight"):
        small(esum_weight=-1.0)
    with pytest.raises(ConfigError, match="esum_mode"):
        small(esum_mode="voxel")
    from calolib.preprocessing import VoxelTransform

    with pytest.raises(ConfigError, match="fitted"):
        on.set_preprocessing(VoxelTransform())


def test_generate_method_delegates_and_needs_a_transform():
    from calolib.generation import generate

    tr, _, _ = _fitted_transform()
    model = QVAE(small())
    e = np.array([1e3, 1e4, 1e5])
    with pytest.raises(ConfigError, match="VoxelTransform"):
        model.generate(e)
    a = model.generate(e, transform=tr, n_gibbs_steps=3, seed=4, device="cpu")
    b = generate(model, tr, e, n_gibbs_steps=3, seed=4, device="cpu")
    assert np.array_equal(a.showers, b.showers) and np.array_equal(a.energies, e)
    model.set_preprocessing(tr)  # attaches the transform (and sets the empty value from it)
    assert model.transform is tr
    c = generate(model, tr, e, sampler="gibbs", n_gibbs_steps=3, seed=4, device="cpu")
    assert np.array_equal(model.generate(e, n_gibbs_steps=3, seed=4, device="cpu").showers, c.showers)

