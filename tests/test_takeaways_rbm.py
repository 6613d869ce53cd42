"""Prior take-aways (02, 04): the sentence follows the numbers, and contradicting numbers change it."""
import pytest

from calolib.reports.takeaways import fmt
from calolib.reports.takeaways.rbm import active_units, ais_rais_bracket, exact_check, log_likelihood_range, \
    prior_vs_data


@pytest.mark.parametrize("ais,rais,verdict,phrase", [
    (161.70, 161.80, "lower", "AIS ≤ ln Z ≤ RAIS holds"),
    (161.782, 161.751, "consistent", "cannot be resolved"),  # issue 11's numbers, ±0.031 each: they agree
    (161.90, 161.75, "higher", "do not bracket"),
])
def test_bracket_sentence_follows_the_numbers(ais, rais, verdict, phrase):
    t = ais_rais_bracket(ais, 0.031 if verdict == "consistent" else 0.01, rais, 0.031 if verdict == "consistent" else 0.01)
    assert t.verdict == verdict and phrase in t.text
    if verdict != "lower":
        assert "AIS ≤ ln Z ≤ RAIS holds" not in t.text  # never claimed when the numbers do not bracket


def test_bracket_never_claimed_when_ais_exceeds_rais():
    t = ais_rais_bracket(161.782, 0.001, 161.751, 0.001)
    assert t.verdict == "higher" and fmt(161.782, 0.001) in t.text and "0.031" in t.text


def test_exact_check_flags_the_estimator_that_misses():
    assert exact_check(10.0, 10.001, 0.01, 9.999, 0.01).verdict == "both"
    assert exact_check(10.0, 9.5, 0.01, 10.0, 0.01).verdict == "ais_off"
    assert exact_check(10.0, 10.0, 0.01, 10.6, 0.01).verdict == "rais_off"
    t = exact_check(10.0, 9.0, 0.01, 11.0, 0.01)
    assert t.verdict == "both_off" and "do not trust" in t.text


def test_prior_vs_data_direction_flips_with_the_energies():
    data = [-136.0, -135.0, -137.0, -136.5]
    assert prior_vs_data(data, [-127.0, -126.0, -128.0, -127.5]).verdict == "higher"
    assert prior_vs_data(data, [-146.0, -145.0, -147.0, -146.5]).verdict == "lower"
    t = prior_vs_data(data, [-136.1, -135.2, -136.8, -136.4], sep_power=0.02)
    assert t.verdict == "consistent" and "separation power 0.02" in t.text


def test_ll_range_orders_the_bounds():
    t = log_likelihood_range(-47.02, -47.03, 0.3, n_states=2000)
    assert t.text.index("-47.03") < t.text.index("-47.02") and "2000 events" in t.text


def test_active_units_counts_free_units_only():
    t = active_units([0.5] * 4 + [0.3] * 8 + [0.0] * 2, n_clamped=4)
    assert t.verdict == "active" and t.numbers["k"] == 8 and t.numbers["n"] == 10
    t = active_units([0.5] * 4 + [0.3] * 2 + [0.999] * 8, n_clamped=4)
    assert t.verdict == "collapsed" and "latent collapse" in t.text and t.numbers["k"] == 2
