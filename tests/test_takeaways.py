"""The take-away machinery: sentences follow the numbers (and change when the numbers do)."""
from __future__ import annotations

import pytest

from calolib.errors import ConfigError
from calolib.reports.takeaways import beside_seed, choose, compare, fmt, markdown, to_results

BRACKET = {"lower": "AIS {ais} ≤ RAIS {rais}: they bracket ln Z.",
           "higher": "AIS {ais} > RAIS {rais}: they do not bracket ln Z.",
           "consistent": "AIS {ais} and RAIS {rais} agree within errors."}


@pytest.mark.parametrize("ais,rais,verdict", [(161.70, 161.80, "lower"), (161.782, 161.751, "higher"),
                                              (161.76, 161.77, "consistent")])
def test_sentence_follows_numbers(ais, rais, verdict):
    t = choose("bracket", compare(ais, rais, err_a=0.01, err_b=0.01), BRACKET, ais=ais, rais=rais)
    assert t.verdict == verdict
    assert t.text == BRACKET[verdict].format(ais=fmt(ais), rais=fmt(rais))


def test_compare_uses_errors_and_tolerance():
    assert compare(1.0, 1.1, err_a=0.1) == "consistent"
    assert compare(1.0, 1.1, err_a=0.01) == "lower"
    assert compare(1.2, 1.0, rel_tol=0.1) == "higher"
    assert compare(float("nan"), 1.0) == "unknown"


def test_fmt_digits_and_errors():
    assert fmt(0.123456) == "0.123"
    assert fmt(0.123456, digits=2) == "0.12"
    assert fmt(2.5, 0.25) == "2.50 ± 0.25"
    assert fmt(-3e-7) == "-3.00e-07"


def test_missing_template_or_number_is_a_clear_error():
    with pytest.raises(ConfigError, match="no sentence for verdict"):
        choose("k", "sideways", BRACKET, ais=1, rais=2)
    with pytest.raises(ConfigError, match="needs the number 'rais'"):
        choose("k", "lower", BRACKET, ais=1)


def test_seed_quoted_beside_this_run():
    own = choose("e", "larger", {"larger": "this model wants a {r}× larger E′."}, r=7.0)
    t = beside_seed("003", "sparsity wants a smaller E′.", own)
    assert t.text.startswith("Seed 003 found: sparsity wants a smaller E′.")
    assert t.text.endswith("This run: this model wants a 7× larger E′.")
    assert t.verdict == "larger"
    assert to_results([t])[0]["numbers"] == {"r": 7.0, "seed": "003"}
    assert markdown([t]).count("- ") == 1
