"""Training loop, schedules, configs, data split and the two-stage / centred schemes."""
from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
import torch

from calolib.errors import CheckpointError, ConfigError
from calolib.training import (TrainConfig, apply_overrides, config_from_dict, config_to_dict, get_preset,
                              load_config, read_checkpoint, read_history, train)
from calolib.training.data import batch_order, load_training_data, split_sizes
from calolib.training.schedules import kl_weight, learning_rate, relaxation_beta
from calolib.training.testing import tiny_config, write_tiny_dataset

TIME_KEYS = ("time_s", "samples_per_s")


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    return write_tiny_dataset(tmp_path_factory.mktemp("data") / "tiny.h5", n=64, seed=3)


def _strip(history):
    return [{k: v for k, v in row.items() if k not in TIME_KEYS} for row in history]


def _params(path):
    return read_checkpoint(path)["model"]


def _assert_same_state(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


# ------------------------------------------------------------------------------------------ resume
def test_resume_2_then_3_equals_uninterrupted_3(data_file, tmp_path):
    cfg = tiny_config(epochs=3)
    full = train(cfg, data_file, tmp_path / "full", device="cpu", progress=False)
    train(dataclasses.replace(cfg, epochs=2), data_file, tmp_path / "split", device="cpu", progress=False)
    resumed = train(cfg, data_file, tmp_path / "split", resume=True, device="cpu", progress=False)
    assert resumed.epochs_run == 1
    assert [r["epoch"] for r in resumed.history] == [0, 1, 2, 3]
    assert _strip(resumed.history) == _strip(full.history)
    _assert_same_state(_params(full.last_path), _params(resumed.last_path))
    # the persistent chains and the optimiser moments continue exactly too
    a, b = read_checkpoint(full.last_path), read_checkpoint(resumed.last_path)
    assert torch.equal(a["chains"]["chains"]["z"], b["chains"]["chains"]["z"])
    sa, sb = a["optimizer"]["state"], b["optimizer"]["state"]
    assert all(torch.equal(sa[i]["exp_avg_sq"], sb[i]["exp_avg_sq"]) for i in sa)


def test_interrupted_cosine_run_resumes_exactly(data_file, tmp_path):
    """A run stopped after epoch 1 (a crash between epochs) and resumed matches the uninterrupted run,
    with the LR schedule and KL/beta annealing spanning the interruption."""
    cfg = tiny_config(epochs=2, lr_schedule="cosine", kl_warmup_epochs=1.5, beta_anneal_epochs=1.5)
    full = train(cfg, data_file, tmp_path / "full", device="cpu", progress=False)
    stopped = train(cfg, data_file, tmp_path / "cut", device="cpu", progress=False, callbacks=[lambda ep, row: ep == 1])
    assert stopped.stopped_early and stopped.history[-1]["epoch"] == 1
    resumed = train(None, data_file, tmp_path / "cut", resume=True, device="cpu", progress=False)
    assert _strip(resumed.history) == _strip(full.history)
    _assert_same_state(_params(full.last_path), _params(resumed.last_path))


def test_resume_refuses_other_architecture_and_fresh_run_refuses_existing_dir(data_file, tmp_path):
    cfg = tiny_config(epochs=1)
    train(cfg, data_file, tmp_path / "r", device="cpu", progress=False)
    with pytest.raises(ConfigError, match="already holds a run"):
        train(cfg, data_file, tmp_path / "r", device="cpu", progress=False)
    other = tiny_config(epochs=2, model={"encoder_hidden": [8]})
    with pytest.raises(CheckpointError, match="another model architecture"):
        train(other, data_file, tmp_path / "r", resume=True, device="cpu", progress=False)


def test_finished_run_resumed_without_more_epochs_trains_nothing(data_file, tmp_path):
    cfg = tiny_config(epochs=1)
    first = train(cfg, data_file, tmp_path / "r", device="cpu", progress=False)
    again = train(cfg, data_file, tmp_path / "r", resume=True, device="cpu", progress=False)
    assert again.epochs_run == 0 and _strip(again.history) == _strip(first.history)


# ------------------------------------------------------------------------------------------ learning + files
def test_training_learns_and_writes_history(data_file, tmp_path):
    cfg = tiny_config(epochs=4, lr=1e-2, batch_size=8)
    res = train(cfg, data_file, tmp_path / "run", device="cpu", progress=False)
    h = res.history
    assert [r["epoch"] for r in h] == [0, 1, 2, 3, 4]
    # the untrained validation AE (row 0) is the yardstick: training must cut it substantially
    assert h[-1]["val_ae"] < 0.8 * h[0]["val_ae"]
    assert h[-1]["val_hits"] < h[0]["val_hits"]
    # AHEP = AE + Hits + Ent + Pos on validation, and best.pt is the epoch with the lowest one
    for r in h:
        assert math.isclose(r["val_ahep"], r["val_ae"] + r["val_hits"] + r["val_ent"] + r["val_pos"], rel_tol=1e-5)
    best_epoch = min(h[1:], key=lambda r: r["val_ahep"])["epoch"]
    assert read_checkpoint(res.best_path)["epoch"] == best_epoch
    assert math.isclose(res.best_val, min(r["val_ahep"] for r in h[1:]))
    # history.csv: header + one row per epoch (incl. row 0), every term for train and val
    lines = (tmp_path / "run" / "history.csv").read_text().strip().splitlines()
    assert len(lines) == 1 + len(h)
    header = lines[0].split(",")
    for term in ("ae", "hits", "ent", "pos", "neg"):
        assert f"train_{term}" in header and f"val_{term}" in header
    for col in ("lr", "kl_weight", "beta", "time_s", "epoch"):
        assert col in header
    assert read_history(tmp_path / "run")[-1]["val_ae"] == pytest.approx(h[-1]["val_ae"])
    assert json.loads((tmp_path / "run" / "config.json").read_text()) == config_to_dict(cfg)


def test_two_stage_freezes_the_right_parts(data_file, tmp_path):
    cfg = tiny_config(epochs=3, scheme="two_stage", ae_epochs=1)
    snaps = {}

    def snap(ep, row):
        snaps[ep] = {k: v.clone() for k, v in _params(tmp_path / "r" / "last.pt").items()}

    res = train(cfg, data_file, tmp_path / "r", device="cpu", progress=False, callbacks=[snap])
    assert [r["stage"] for r in res.history] == ["ae", "ae", "rbm", "rbm"]
    rbm_keys = [k for k in snaps[1] if k.startswith("rbm.") and ".weights." in k or k.startswith("rbm.biases")]
    net_keys = [k for k in snaps[1] if k.startswith(("encoder.", "decoder."))]
    assert rbm_keys and net_keys
    # epoch 2 and 3 (RBM stage): encoder/decoder frozen, RBM moves
    assert all(torch.equal(snaps[1][k], snaps[3][k]) for k in net_keys)
    assert any(not torch.equal(snaps[1][k], snaps[3][k]) for k in rbm_keys)
    # epoch 1 (AE stage): RBM untouched since initialisation (compare with a fresh model)
    from calolib.models import QVAE

    fresh = QVAE(cfg.model).state_dict()
    assert all(torch.equal(fresh[k], snaps[1][k]) for k in rbm_keys)
    assert any(not torch.equal(fresh[k], snaps[1][k]) for k in net_keys)


def test_centred_two_stage_runs(data_file, tmp_path):
    cfg = tiny_config(epochs=2, scheme="two_stage", ae_epochs=1, centred=True, centring_rate=0.5)
    res = train(cfg, data_file, tmp_path / "r", device="cpu", progress=False)
    mu = read_checkpoint(res.last_path)["chains"]["mu"]
    assert mu is not None and mu.shape == (32,) and bool(((mu >= 0) & (mu <= 1)).all())
    assert all(math.isfinite(r["train_loss"]) for r in res.history[1:])


def test_centred_gradient_matches_melchior_formula():
    """grad W = -(<(z-mu)(z-mu)^T>_d - <...>_m) on allowed couplings, grad a = -(<z>_d - <z>_m) - grad_W mu."""
    from calolib.models import QVAE
    from calolib.training.steps import NegativePhase, centred_rbm_step

    cfg = tiny_config(model={"rbm_sizes": [2, 3, 2, 3], "condition_rbm": False})
    model = QVAE(cfg.model)
    rbm = model.rbm
    g = torch.Generator().manual_seed(0)
    zd = (torch.rand(50, 10, generator=g) < 0.3).float()
    zm = (torch.rand(40, 10, generator=g) < 0.6).float()
    neg = NegativePhase(model, 4)
    rbm.zero_grad()
    centred_rbm_step(rbm, zd, zm, neg, rate=1.0)  # rate 1: mu = <z>_data
    mu = zd.mean(0).double()
    cd, cm = (zd.double() - mu), (zm.double() - mu)
    gw_full = -(cd.T @ cd / len(zd) - cm.T @ cm / len(zm))
    off = rbm.offsets
    mask_full = torch.zeros(10, 10, dtype=torch.bool)
    for p, q in rbm.pairs:
        sp, sq = slice(off[p], off[p] + rbm.sizes[p]), slice(off[q], off[q] + rbm.sizes[q])
        mask_full[sp, sq] = rbm.mask(p, q)
        mask_full[sq, sp] = rbm.mask(p, q).T
        assert torch.allclose(rbm.weights[f"{p}{q}"].grad.double(), gw_full[sp, sq] * rbm.mask(p, q), atol=1e-6)
    ga = -(zd.double().mean(0) - zm.double().mean(0)) - (gw_full * mask_full) @ mu
    got = torch.cat([b.grad for b in rbm.biases]).double()
    assert torch.allclose(got, ga, atol=1e-6)


# ------------------------------------------------------------------------------------------ data
def test_split_is_the_file_tail_and_transform_fits_training_only(data_file):
    from calolib.io import load_showers
    from calolib.preprocessing import VoxelTransform

    d = load_training_data(data_file, val_fraction=0.25, max_events=40)
    n_train, n_val = split_sizes(40, 0.25)
    assert (d.x_train.shape[0], d.x_val.shape[0]) == (n_train, n_val) == (30, 10)
    raw = load_showers(data_file)
    assert np.allclose(d.e_val.numpy(), raw.energies[30:40], rtol=1e-6)
    ref = VoxelTransform().fit(raw.energies[:30], raw.showers[:30])
    assert np.allclose(d.transform.mean, ref.mean) and np.allclose(d.transform.std, ref.std)
    assert np.allclose(d.x_val.numpy(), ref.transform(raw.energies[30:40], raw.showers[30:40]), atol=1e-5)


def test_geometry_mismatch_and_missing_file(tmp_path):
    from calolib.io import save_showers
    from calolib.errors import ShowerFileError

    p = tmp_path / "photons.h5"
    save_showers(p, np.full(4, 1e3), np.ones((4, 368), np.float32))
    with pytest.raises(ConfigError, match="ds1-photons"):
        load_training_data(p, val_fraction=0.5, geometry="ds2")
    with pytest.raises(ShowerFileError, match="not found"):
        load_training_data(tmp_path / "nope.h5", val_fraction=0.5)


def test_batch_order_is_a_permutation_fixed_by_seed_and_epoch():
    o = batch_order(50, 8, seed=1, epoch=2)
    assert o.shape == (6, 8) and len(set(o.flatten().tolist())) == 48
    assert torch.equal(o, batch_order(50, 8, seed=1, epoch=2))
    assert not torch.equal(o, batch_order(50, 8, seed=1, epoch=3))
    assert sorted(batch_order(5, 8, seed=0, epoch=0).flatten().tolist()) == [0, 1, 2, 3, 4]


# ------------------------------------------------------------------------------------------ schedules
def test_schedules_closed_forms():
    # warm-up is linear, cosine reaches min_factor*lr at the horizon and halfway is the mid value
    assert learning_rate(0.25, lr=2.0, warmup=0.5) == pytest.approx(1.0)
    assert learning_rate(5.0, lr=2.0, schedule="cosine", horizon=5.0, min_factor=0.1) == pytest.approx(0.2)
    assert learning_rate(2.5, lr=2.0, schedule="cosine", horizon=5.0, min_factor=0.1) == pytest.approx(1.1)
    assert learning_rate(3.0, lr=1.0, schedule="exponential", gamma=0.5) == pytest.approx(0.125)
    ts = np.linspace(0, 5, 50)
    lrs = [learning_rate(t, lr=1.0, schedule="cosine", horizon=5.0) for t in ts]
    assert all(a >= b for a, b in zip(lrs, lrs[1:]))
    assert kl_weight(0.5, start=0.2, end=1.0, warmup=2.0) == pytest.approx(0.4)
    assert kl_weight(0.0, start=0.0, end=1.0, warmup=0.0) == 1.0
    # geometric ramp: the midpoint is the geometric mean
    assert relaxation_beta(1.0, start=1.0, end=16.0, anneal=2.0) == pytest.approx(4.0)
    with pytest.raises(ValueError):
        learning_rate(1.0, lr=1.0, schedule="nope")


# ------------------------------------------------------------------------------------------ configs
def test_presets_and_round_trip():
    quick, full = get_preset("quick"), get_preset("full")
    assert quick.model.geometry == full.model.geometry == "ds2"
    assert full.model.rbm_sizes == (302, 302, 302, 302) and full.model.topology == "zephyr"
    assert config_from_dict(config_to_dict(quick)) == quick
    assert config_from_dict(json.loads(json.dumps(config_to_dict(full)))) == full
    with pytest.raises(ConfigError, match="unknown preset"):
        get_preset("huge")


def test_config_errors_name_the_key():
    with pytest.raises(ConfigError, match="did you mean 'epochs'"):
        apply_overrides(TrainConfig(), ["epoch=3"])
    with pytest.raises(ConfigError, match="'batch_size' must be an integer"):
        apply_overrides(TrainConfig(), {"batch_size": "big"})
    with pytest.raises(ConfigError, match="model.encoderr"):
        apply_overrides(TrainConfig(), ["model.encoderr=cnn"])
    with pytest.raises(ConfigError, match="key=value"):
        apply_overrides(TrainConfig(), ["lr"])
    with pytest.raises(ConfigError, match="scheme"):
        apply_overrides(TrainConfig(), ["scheme=three_stage"])
    with pytest.raises(ConfigError, match="val_fraction"):
        TrainConfig(val_fraction=1.5)


def test_overrides_parse_types():
    cfg = apply_overrides(TrainConfig(), ["lr=3e-4", "amp=true", "model.rbm_sizes=[4, 4, 4, 4]",
                                          "model.encoder=cnn", "epochs=7"])
    assert (cfg.lr, cfg.amp, cfg.model.rbm_sizes, cfg.model.encoder, cfg.epochs) == (3e-4, True, (4, 4, 4, 4), "cnn", 7)


@pytest.mark.parametrize("suffix, text", [
    (".toml", 'preset = "quick"\nepochs = 3\n[model]\nencoder = "cnn"\n'),
    (".yaml", "preset: quick\nepochs: 3\nmodel:\n  encoder: cnn\n"),
    (".json", '{"preset": "quick", "epochs": 3, "model": {"encoder": "cnn"}}'),
])
def test_config_files(tmp_path, suffix, text):
    p = tmp_path / f"c{suffix}"
    p.write_text(text)
    cfg = load_config(p)
    quick = get_preset("quick")
    assert cfg.epochs == 3 and cfg.model.encoder == "cnn"
    assert cfg.lr == quick.lr and cfg.model.rbm_sizes == quick.model.rbm_sizes


def test_config_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("epochs = \n")
    with pytest.raises(ConfigError, match="cannot parse"):
        load_config(bad)
    odd = tmp_path / "c.ini"
    odd.write_text("x")
    with pytest.raises(ConfigError, match=r"\.toml"):
        load_config(odd)


def test_monitors_rbm_ll_and_generation_check(data_file, tmp_path):
    from calolib.partition import exact_log_z
    from calolib.training import load_checkpoint

    cfg = tiny_config(epochs=1, log_rbm_ll=True, ll_chains=32, ll_betas=50, gen_check_events=12,
                      model={"rbm_sizes": [4, 4, 4, 4]})
    res = train(cfg, data_file, tmp_path / "r", device="cpu", progress=False)
    row = res.history[-1]
    ck = load_checkpoint(res.last_path)
    # the prior is conditional (partition 0 = the E_inc code): ⟨ln Z(c)⟩ over sampled validation codes, which must
    # lie among the exact ln Z(c) of the 16 possible codes (enumeration), below the joint ln Z = ln Σ_c Z(c)
    codes = torch.as_tensor(((np.arange(16)[:, None] >> np.arange(4)) & 1).astype(np.float32))
    exact = exact_log_z(ck.model.rbm, conditioning=codes)
    for key in ("rbm_log_z_ais", "rbm_log_z_rais"):
        assert exact.min() - 0.1 <= row[key] <= exact.max() + 0.1 and row[key] < exact_log_z(ck.model.rbm)
    assert abs(row["rbm_log_z_ais"] - row["rbm_log_z_rais"]) < 4 * np.hypot(row["rbm_log_z_ais_err"],
                                                                            row["rbm_log_z_rais_err"]) + 0.05
    assert row["rbm_ll_ais"] - row["rbm_ll_rais"] == pytest.approx(row["rbm_log_z_rais"] - row["rbm_log_z_ais"])
    assert row["rbm_ll_ais"] < 0
    assert 0.0 <= row["sep_e_ratio"] <= 1.0 and 0.0 <= row["sep_sparsity"] <= 1.0


# ------------------------------------------------------------------------------------------ energy-sum term
def test_esum_training_logs_the_term_resumes_exactly_and_model_generates(data_file, tmp_path):
    from calolib.training import load_checkpoint

    cfg = tiny_config(epochs=2, model={"esum_weight": 5.0})
    full = train(cfg, data_file, tmp_path / "full", device="cpu", progress=False)
    row = full.history[-1]
    for key in ("train_esum", "val_esum"):
        assert key in row and math.isfinite(row[key]) and row[key] >= 0
    assert "esum" in (tmp_path / "full" / "history.csv").read_text().splitlines()[0]
    # the training loss adds 5 * esum, the best-model criterion (AHEP) does not
    assert row["val_loss"] == pytest.approx(row["val_ae"] + row["val_hits"] + row["val_ent"] + row["val_pos"]
                                            - row["val_neg"] + 5.0 * row["val_esum"], rel=1e-5)
    assert row["val_ahep"] == pytest.approx(row["val_ae"] + row["val_hits"] + row["val_ent"] + row["val_pos"], rel=1e-5)
    train(dataclasses.replace(cfg, epochs=1), data_file, tmp_path / "split", device="cpu", progress=False)
    resumed = train(cfg, data_file, tmp_path / "split", resume=True, device="cpu", progress=False)
    assert _strip(resumed.history) == _strip(full.history)
    _assert_same_state(_params(full.last_path), _params(resumed.last_path))
    # load_checkpoint restores the preprocessing statistics from the saved transform and attaches it
    ck = load_checkpoint(full.last_path)
    assert ck.model.transform is ck.transform and ck.model.prep_delta == ck.transform.delta
    assert np.allclose(ck.model.prep_mean.numpy(), ck.transform.mean.astype(np.float32))
    assert np.allclose(ck.model.prep_std.numpy(), ck.transform.std.astype(np.float32))
    e = np.array([2e3, 5e4])
    s = ck.model.generate(e, sampler="gibbs", n_gibbs_steps=2, seed=1, device="cpu")
    assert s.showers.shape == (2, 6480) and np.array_equal(s.energies, e) and (s.showers >= 0).all()


# ------------------------------------------------------------------------------------------ regressions
def _exact_nll(rbm, states, data):
    with torch.no_grad():
        return float(rbm.energy(data).mean() + torch.logsumexp(-rbm.energy(states), 0))


@pytest.mark.parametrize("optimiser", ["adam", "adamw"])
def test_centred_update_with_adaptive_optimiser_lowers_exact_nll(optimiser):
    """The loop's centred step (centred_rbm_step + optimiser step in centred_frame) must fit the data: on a
    10-unit RBM with exact model samples the exact NLL of a fixed data set falls (with Adam stepping the
    original-frame centred gradient it rose from 7 to ~190 in 200 steps)."""
    import itertools
    import types

    from calolib.rbm import RBM
    from calolib.training.steps import centred_frame, centred_rbm_step

    rbm = RBM((1, 3, 3, 3), weight_std=0.1, bias_std=0.1, seed=1)
    states = torch.tensor(list(itertools.product([0.0, 1.0], repeat=rbm.n_units)))
    g = torch.Generator().manual_seed(0)
    data = (torch.rand(64, rbm.n_units, generator=g) < 0.85).float()
    cls = torch.optim.Adam if optimiser == "adam" else torch.optim.AdamW
    opt = cls(rbm.parameters(), lr=0.05)
    neg = types.SimpleNamespace(mu=None)
    nll0 = _exact_nll(rbm, states, data)
    # lower bound: the empirical entropy of the data (the NLL of the data's own distribution)
    _, counts = torch.unique(data, dim=0, return_counts=True)
    p_emp = counts.double() / len(data)
    h_emp = float(-(p_emp * p_emp.log()).sum())
    for _ in range(120):
        opt.zero_grad()
        with torch.no_grad():
            p = torch.softmax(-rbm.energy(states), 0)
        zm = states[torch.multinomial(p, 4096, replacement=True, generator=g)]
        centred_rbm_step(rbm, data, zm, neg, 0.01)
        with centred_frame(rbm, neg.mu):
            opt.step()
    nll = _exact_nll(rbm, states, data)
    assert h_emp <= nll < nll0 - 2.0, (nll0, nll, h_emp)


def test_centred_frame_sgd_equals_the_centred_gradient_step():
    """With SGD, stepping in the centred frame is the same as stepping the biases along the centred gradient."""
    from calolib.rbm import RBM
    from calolib.training.steps import centred_frame

    rbm = RBM((2, 3, 2, 3), weight_std=0.3, bias_std=0.3, seed=2)
    g = torch.Generator().manual_seed(1)
    for prm in rbm.parameters():
        prm.grad = torch.randn(prm.shape, generator=g)
    for p, q in rbm.pairs:
        rbm.weights[f"{p}{q}"].grad *= rbm.mask(p, q)
    mu = torch.rand(rbm.n_units, generator=g)
    expect = [(prm - 0.1 * prm.grad).detach().clone() for prm in rbm.parameters()]
    opt = torch.optim.SGD(rbm.parameters(), lr=0.1)
    with centred_frame(rbm, mu):
        opt.step()
    for got, want in zip(rbm.parameters(), expect):
        assert torch.allclose(got, want, atol=1e-5)


def test_two_stage_best_checkpoint_comes_from_the_rbm_stage(data_file, tmp_path, monkeypatch):
    """AHEP is not comparable across the AE -> RBM switch: the first RBM-stage epoch replaces an AE-stage
    best, later RBM epochs only when their AHEP is lower."""
    import calolib.training.loop as loop

    real, calls = loop.evaluate, []
    fake = [100.0, 50.0, 40.0, 70.0, 80.0]  # row 0, AE epochs 1-2 (best 40), RBM epochs 3-4 (best 70)

    def evaluate(*args, **kwargs):
        out = real(*args, **kwargs)
        out["ahep"] = out["select"] = fake[len(calls)]  # no energy flow here: select = AHEP
        calls.append(1)
        return out

    monkeypatch.setattr(loop, "evaluate", evaluate)
    res = train(tiny_config(epochs=4, scheme="two_stage", ae_epochs=2), data_file, tmp_path / "r", progress=False)
    assert [r["stage"] for r in res.history[1:]] == ["ae", "ae", "rbm", "rbm"]
    assert read_checkpoint(res.best_path)["epoch"] == 3
    assert res.best_val == 70.0
    # a joint run keeps the plain minimum
    calls.clear()
    res = train(tiny_config(epochs=4), data_file, tmp_path / "j", progress=False)
    assert read_checkpoint(res.best_path)["epoch"] == 2 and res.best_val == 40.0
