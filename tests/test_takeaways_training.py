"""Training take-aways (02 and every report using best.pt): which epoch, why, and the loss/LL trends."""
import math

import pytest

from calolib.reports.takeaways.training import best_checkpoint, best_epoch, ll_trend, loss_drop

INFO = {"best_epoch": 12, "last_epoch": 15, "criterion": "val_ahep", "best_value": 1851.37, "stage": "joint",
        "stage_first": 1, "stage_last": 15, "stage_min": 1851.37, "last_value": 1853.0, "run": "quick"}


def test_best_epoch_sentence_follows_the_checkpoint_numbers():
    t = best_epoch(INFO)
    assert t.verdict == "earlier" and "epoch 12 of 15" in t.text and "1851.4" in t.text and "1853" in t.text
    assert best_epoch({**INFO, "best_epoch": 15, "last_value": 1851.37}).verdict == "last"
    t = best_epoch({**INFO, "stage_min": 1700.0})  # the file is not the AHEP minimum: said so
    assert t.verdict == "mismatch" and "not chosen by the AHEP criterion" in t.text


def test_best_checkpoint_reads_the_selection_from_the_files(tmp_path):
    """A real (tiny) run: the recomputed selection agrees with the file and with the history."""
    from calolib.synthetic import simulate
    from calolib.io import save_showers
    from calolib.training import apply_overrides, get_preset, train

    s = simulate(160, geometry="ds1-photons", seed=0)
    data = tmp_path / "d.h5"
    save_showers(data, s.energies, s.showers)
    cfg = apply_overrides(get_preset("quick"), {"epochs": 3, "max_events": 120})
    cfg = apply_overrides(cfg, ["model.encoder_hidden=[16]", "model.decoder_hidden=[16]", "n_neg_chains=8",
                                "model.geometry=ds1-photons", "model.rbm_sizes=[4,4,4,4]", "batch_size=40"])
    res = train(cfg, data, tmp_path / "run", device="cpu", progress=False)
    info = best_checkpoint(tmp_path / "run")
    rows = [r for r in res.history if r["epoch"] >= 1 and r.get("stage") == info["stage"]]
    key = info["criterion"]  # val_select (AHEP + the energy flow's NLL) for the factorised quick model
    assert key == "val_select"
    best_row = min(rows, key=lambda r: r[key])
    assert info["best_epoch"] == best_row["epoch"] and info["last_epoch"] == 3
    assert math.isclose(info["best_value"], best_row[key]) and math.isclose(info["stage_min"], info["best_value"])
    assert best_epoch(info).verdict in ("last", "earlier")


@pytest.mark.parametrize("first,last,verdict", [(5457.0, 717.6, "fell"), (700.0, 900.0, "rose"), (700.0, 705.0, "flat")])
def test_loss_drop(first, last, verdict):
    assert loss_drop(first, last).verdict == verdict


def test_ll_trend_uses_the_errors():
    rows = [{"epoch": 1, "rbm_ll_ais": -60.0, "rbm_ll_ais_err": 0.3}, {"epoch": 9, "rbm_ll_ais": -47.0, "rbm_ll_ais_err": 0.3}]
    assert ll_trend(rows).verdict == "rose"
    rows[1]["rbm_ll_ais"] = -65.0
    assert ll_trend(rows).verdict == "fell"
    rows[1].update(rbm_ll_ais=-60.5, rbm_ll_ais_err=1.0)
    assert ll_trend(rows).verdict == "flat"
    assert ll_trend(rows[:1]).verdict == "unknown"


def test_latent_activity_follows_the_numbers():
    from calolib.reports.takeaways.training import latent_activity

    h = [{"epoch": 0, "val_active_units": 192, "val_active_fraction": 1.0},
         {"epoch": 1, "val_active_units": 180, "val_active_fraction": 180 / 192}]
    assert latent_activity(h).verdict == "used" and "180 of its 192" in latent_activity(h).text
    h[1].update(val_active_units=13, val_active_fraction=13 / 192)
    assert latent_activity(h).verdict == "collapsed"
    assert latent_activity([{"epoch": 1}]).verdict == "unknown"
