"""E_inc sweep: decoders with a known optimum E′ are recovered by every criterion."""
import numpy as np
import pytest
import torch

from calolib.diagnostics.einc_sweep import einc_sweep
from calolib.errors import CalolibError

GRID = np.geomspace(1e3, 1e6, 31)  # MeV


def linear_decoder(z, e):
    """x̂ = z · E′: MSE, total energy and sparsity all optimal at E′ = E_true."""
    return z * e[:, None]


def make_events(n=40, v=20, seed=0):
    rng = np.random.default_rng(seed)
    e_true = GRID[rng.integers(0, len(GRID), n)]
    z = rng.dirichlet(np.ones(v), size=n)  # voxel fractions, sum 1
    return z, z * e_true[:, None], e_true


def test_known_minimum_on_grid():
    z, x, e = make_events()
    sw = einc_sweep(linear_decoder, z, x, e, GRID)
    for c in ("mse", "energy"):
        np.testing.assert_allclose(sw.argmin[c], e)
    assert sw.curves["mse"].shape == (40, 31)
    # MSE(E′) = (E′ − E)² · mean(z²): an exact parabola in E′
    expected = (GRID[None] - e[:, None]) ** 2 * (z**2).mean(1, keepdims=True)
    np.testing.assert_allclose(sw.curves["mse"], expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(sw.curves["energy"], np.abs(GRID[None] / e[:, None] - 1), rtol=1e-10)
    summary = sw.summary()
    assert summary["mse"] == 1.0 and summary["energy"] == 1.0
    # no voxel is ever empty: the sparsity criterion is flat, its "argmin" is the first grid point for every
    # event, which is an edge, not a minimum: no interior minimum, no median
    assert (sw.at_edge["sparsity"] == -1).all() and np.isnan(summary["sparsity"])
    assert np.nanmax(np.abs(sw.bias["mse"]["median_ratio"] - 1)) == 0.0


def test_off_grid_truth_gives_nearest_grid_point():
    z, _, _ = make_events(seed=1)
    rng = np.random.default_rng(1)
    e = 10 ** rng.uniform(3.05, 5.95, len(z))
    sw = einc_sweep(linear_decoder, z, z * e[:, None], e, GRID)
    nearest = GRID[np.argmin(np.abs(GRID[None] - e[:, None]), axis=1)]  # the MSE parabola is symmetric in E′
    np.testing.assert_allclose(sw.argmin["mse"], nearest)


def test_sparsity_criterion_and_threshold():
    rng = np.random.default_rng(2)
    n, v = 30, 2000
    e = GRID[rng.integers(5, 25, n)]
    z = 10 ** rng.uniform(-4, 0, (n, v))  # log-uniform: the hit fraction changes at every grid step
    decode = lambda zz, ee: np.clip(zz * ee[:, None] / 1e3 - 1.0, 0, None)  # more E′ -> more hit voxels
    x = decode(z, e)
    sw = einc_sweep(decode, z, x, e, GRID, threshold_mev=0.0)
    np.testing.assert_allclose(sw.argmin["sparsity"], e)
    s_hat = (decode(np.repeat(z[:1], len(GRID), 0), GRID) <= 0).mean(1)
    np.testing.assert_allclose(sw.curves["sparsity"][0], np.abs(s_hat - (x[0] <= 0).mean()))


def test_biased_decoder_shows_up_in_bias_summary():
    z, x, e = make_events(seed=3)
    biased = lambda zz, ee: zz * ee[:, None] / 2.0  # needs E′ = 2·E to reproduce x
    sw = einc_sweep(biased, z, x, e, GRID)
    ok = e * 2 <= GRID.max()
    ratio = sw.argmin["mse"][ok] / e[ok]
    np.testing.assert_allclose(ratio, 2.0, rtol=0.12)  # grid spacing is a factor 10^0.1 = 1.26
    assert np.nanmedian(sw.bias["energy"]["median_ratio"]) > 1.5


def test_torch_decoder_chunking_and_mev_space():
    z, x, e = make_events(seed=4)
    zt = torch.tensor(z)
    calls = []

    def dec_log(zz, ee):  # decoder working in log space; to_mev maps back to MeV
        calls.append(len(zz))
        return torch.log(zz * ee[:, None] + 1.0)

    to_mev = lambda xx, ee: torch.exp(torch.as_tensor(xx)) - 1.0
    x_log = np.log(x + 1.0)
    sw = einc_sweep(dec_log, zt, x_log, e, GRID, to_mev=to_mev, max_batch=100)
    assert max(calls) <= 100 and sum(calls) == len(GRID) * len(e)
    np.testing.assert_allclose(sw.argmin["energy"], e)
    sw_mev = einc_sweep(dec_log, zt, x_log, e, GRID, to_mev=to_mev, space="mev", max_batch=10**6)
    np.testing.assert_allclose(sw_mev.argmin["mse"], e)
    np.testing.assert_allclose(sw_mev.curves["energy"], sw.curves["energy"], rtol=1e-9)
    assert sw.space == "decoder" and sw_mev.space == "mev"


def test_bad_arguments():
    z, x, e = make_events()
    with pytest.raises(CalolibError):
        einc_sweep(linear_decoder, z, x, e, [-1.0, 2.0])
    with pytest.raises(CalolibError):
        einc_sweep(linear_decoder, z[:3], x, e, GRID)
    with pytest.raises(CalolibError):
        einc_sweep(linear_decoder, z, x, e, GRID, space="logit")


def normalised_decoder(z, e):
    """x̂ = the voxel fractions z, whatever E′: a decoder that ignores its conditioning."""
    return np.asarray(z, dtype=float)


def test_inverting_with_the_decoder_energy_is_a_tautology():
    """The MeV conversion multiplies by an energy.  With E′ it puts the energy criterion's minimum at E_inc for a
    decoder that ignores E′ entirely; with the true E_inc the criterion is flat: no minimum, every argmin on the edge."""
    z, _, e = make_events(30)
    to_mev = lambda x, ee: np.asarray(x) * np.asarray(ee)[:, None]  # noqa: E731 - fractions of E_inc -> MeV
    taut = einc_sweep(normalised_decoder, z, z, e, GRID, to_mev=to_mev, showers_true=z * e[:, None], invert_with="decoder")
    np.testing.assert_allclose(taut.argmin["energy"], e)  # "faithful" — by construction, not by the decoder
    true = einc_sweep(normalised_decoder, z, z, e, GRID, to_mev=to_mev, showers_true=z * e[:, None])
    assert true.invert_with == "true"
    np.testing.assert_allclose(true.curves["energy"], 0.0, atol=1e-12)  # the decoder ignores E′: nothing to minimise
    assert (true.at_edge["energy"] == -1).all() and np.isnan(true.summary()["energy"])


def test_decoder_that_wants_a_larger_energy_and_edge_flags():
    """x̂ fractions scale like (E′/(4 E))^½: the energy criterion is minimised at E′ = 4 E_inc — off the grid for
    the highest energies, whose argmins are flagged and left out of the medians."""
    z, x, e = make_events(60, seed=3)
    ratio = {}

    def decode(zz, ee):
        ee = np.asarray(ee)
        tt = np.asarray(ratio["e"])
        return np.asarray(zz) * np.sqrt(ee / (4 * tt))[:, None]

    ratio["e"] = np.tile(e, len(GRID))  # the decoder knows each row's true energy (grid-major tiling)
    to_mev = lambda xx, ee: np.asarray(xx) * np.asarray(ee)[:, None]  # noqa: E731
    sw = einc_sweep(decode, z, z, e, GRID, to_mev=to_mev, showers_true=z * e[:, None], max_batch=10**6)
    high = e * 4 > GRID[-1]
    assert (sw.at_edge["energy"][high] == 1).all() and (sw.at_edge["energy"][~high] == 0).all()
    st = sw.stats()["energy"]
    assert st["median_ratio"] == pytest.approx(4.0, rel=0.3) and st["lo"] > 1.1
    assert st["n_interior"] == int((~high).sum()) and st["frac_high_edge"] == pytest.approx(high.mean(), abs=1e-3)
    with pytest.raises(CalolibError, match="invert_with"):
        einc_sweep(decode, z, z, e, GRID, invert_with="guess")
