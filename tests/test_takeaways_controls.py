"""The prior-control take-aways follow the numbers."""
from calolib.reports.takeaways.controls import latent_usage, reconstruction_ranking


def _rows(ae_rbm, frac_rbm=0.8, frac_g=0.75):
    return {"rbm": {"val_ae": ae_rbm, "val_hits": 1000.0, "val_active_fraction": frac_rbm},
            "bernoulli": {"val_ae": 300.0, "val_hits": 1000.0, "val_active_fraction": 0.9},
            "gaussian": {"val_ae": 320.0, "val_hits": 1000.0, "val_active_fraction": frac_g}}


def test_winner_and_tie_follow_the_numbers():
    assert reconstruction_ranking(_rows(200.0)).verdict == "rbm"
    t = reconstruction_ranking(_rows(400.0))
    assert t.verdict == "bernoulli" and t.text.startswith("The bernoulli prior")
    assert reconstruction_ranking(_rows(301.0)).verdict == "tie"


def test_latent_usage_verdicts():
    assert latent_usage(_rows(200.0)).verdict == "all"
    t = latent_usage(_rows(200.0, frac_rbm=0.3))
    assert t.verdict == "some" and "rbm 30 %" in t.text
    assert latent_usage(_rows(200.0, 0.1, 0.1) | {"bernoulli": {"val_ae": 1, "val_hits": 1,
                                                                 "val_active_fraction": 0.2}}).verdict == "none"
