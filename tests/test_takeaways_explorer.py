"""The decoder explorer's take-aways: each sentence is chosen by the sweep's numbers and changes with them."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from calolib.reports.takeaways.explorer import (FLAT_DEPTH, data_depth_slope, depth_trend, energy_scaling,
                                                explorer_takeaways, width_trend)

E3 = [3e3, 3e4, 3e5]


def test_energy_scaling_issue_numbers_are_flat_and_blame_the_transform():
    # issue 11: decoded E_dep/E' = 0.737 / 0.733 / 0.728 at 3 / 30 / 300 GeV
    e_dep = [0.737 * 3e3, 0.733 * 3e4, 0.728 * 3e5]
    t = energy_scaling(E3, e_dep, transform_scales=True, ratio_true=0.70)
    assert t.verdict == "flat"
    assert "0.737 / 0.733 / 0.728" in t.text and "3 / 30 / 300 GeV" in t.text
    assert "inverse preprocessing multiplies" in t.text and "E_dep/E_inc = 0.7" in t.text
    assert np.isclose(t.numbers["spread"], (0.737 - 0.728) / 0.733)
    # the same flat fraction from a transform that does not scale: no word about the transform
    assert "inverse preprocessing" not in energy_scaling(E3, e_dep, transform_scales=False).text


@pytest.mark.parametrize("ratios, verdict", [([0.5, 0.6, 0.7], "rises"), ([0.7, 0.6, 0.5], "falls"),
                                             ([0.70, 0.71, 0.705], "flat")])
def test_energy_scaling_verdict_follows_the_fraction(ratios, verdict):
    t = energy_scaling(E3, np.array(ratios) * np.array(E3))
    assert t.verdict == verdict
    assert (f"fraction {verdict} with E′" in t.text) == (verdict != "flat")
    assert ("grows in proportion to E′" in t.text) == (verdict == "flat")


def test_depth_trend_needs_a_real_shift_to_say_deeper():
    fixed = depth_trend(E3, [12.0, 12.1, 12.2], data_slope=1.5, data_slope_err=0.2)
    assert fixed.verdict == "fixed" and "does not get deeper" in fixed.text
    assert np.isclose(fixed.numbers["slope"], 0.1)  # 0.2 layers over two decades
    assert "+0.10 layers per decade" in fixed.text and "below the data's" in fixed.text
    deeper = depth_trend(E3, [10.0, 11.5, 13.0], data_slope=1.5, data_slope_err=0.2)
    assert deeper.verdict == "deeper" and "gets deeper" in deeper.text and "consistent with the data's" in deeper.text
    shallower = depth_trend(E3, [13.0, 12.0, 11.0])
    assert shallower.verdict == "shallower" and "data" not in shallower.text
    edge = depth_trend([1e3, 1e4], [5.0, 5.0 + FLAT_DEPTH * 1.5])
    assert edge.verdict == "deeper"


def test_width_trend():
    assert width_trend(E3, [20.0, 20.3, 20.5]).verdict == "unchanged"
    t = width_trend(E3, [20.0, 22.0, 24.0])
    assert t.verdict == "wider" and "+20.0 %" in t.text
    assert width_trend(E3, [24.0, 22.0, 20.0]).verdict == "narrower"


def test_data_depth_slope_matches_linregress():
    rng = np.random.default_rng(4)
    e = np.exp(rng.uniform(np.log(1e3), np.log(1e6), 200))
    depth = 4.0 + 1.7 * np.log10(e) + rng.normal(0, 0.8, e.size)
    slope, err = data_depth_slope(e, depth)
    ref = stats.linregress(np.log10(e), depth)
    assert np.isclose(slope, ref.slope) and np.isclose(err, ref.stderr)
    assert abs(slope - 1.7) < 4 * err
    assert all(np.isnan(data_depth_slope([1e3, 1e3, 1e3], [1.0, 2.0, 3.0])))


def test_explorer_takeaways_from_sweep_shapes():
    shapes = {"e_prime": np.array(E3), "e_dep": 0.73 * np.array(E3), "depth": np.array([12.0, 12.0, 12.1]),
              "radial_width": np.array([18.0, 18.1, 18.0])}
    keys = [(t.key, t.verdict) for t in explorer_takeaways(shapes, data_slope=1.9, data_slope_err=0.3)]
    assert keys == [("energy_scaling", "flat"), ("depth_trend", "fixed"), ("width_trend", "unchanged")]
    shapes["depth"] = np.array([10.0, 12.0, 14.0])
    assert explorer_takeaways(shapes)[1].verdict == "deeper"


def test_factorised_model_credits_the_energy_flow():
    from calolib.reports.takeaways.explorer import energy_scaling

    t = energy_scaling([3e3, 3e5], [1900.0, 207000.0], transform_scales=False, factorised=True)
    assert t.verdict == "rises" and "energy flow" in t.text and "decoder's own" not in t.text
    assert "decoder's own" in energy_scaling([3e3, 3e5], [1900.0, 207000.0], transform_scales=False).text
