"""Energy codes for the conditioning partition: Gray/binary/thermometer properties and round trips."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from calolib.codes import (
    bin_to_bits,
    code_hamming_profile,
    decode_energy_bin,
    encode_energy,
    energy_bin,
    energy_to_unit,
    n_levels,
)
from calolib.errors import ConfigError


@pytest.mark.parametrize("n_bits", [1, 3, 6, 10])
def test_gray_neighbours_differ_by_one_bit(n_bits):
    bits = bin_to_bits(np.arange(2**n_bits), n_bits, code="gray")
    d = np.abs(np.diff(bits, axis=0)).sum(axis=1)
    assert np.all(d == 1)
    assert len({tuple(b) for b in bits}) == 2**n_bits  # a bijection onto all bit patterns
    prof = code_hamming_profile("gray", n_bits)
    assert prof["mean"] == 1.0 and prof["max"] == 1


@pytest.mark.parametrize("n_bits", [2, 5, 8])
def test_binary_code_is_base_two_and_jumps(n_bits):
    k = np.arange(2**n_bits)
    bits = bin_to_bits(k, n_bits, code="binary")
    value = (bits * 2.0 ** np.arange(n_bits - 1, -1, -1)).sum(axis=1)
    np.testing.assert_array_equal(value, k)
    prof = code_hamming_profile("binary", n_bits)
    # crossing the middle (0111.. -> 1000..) flips every bit; the mean of bit flips of counting is 2 - 2^(1-n)
    assert prof["max"] == n_bits
    assert np.isclose(prof["mean"], (2**n_bits * 2 - n_bits - 2) / (2**n_bits - 1))


def test_thermometer_is_monotone_and_counts():
    n_bits = 7
    bits = bin_to_bits(np.arange(n_bits + 1), n_bits, code="thermometer")
    assert np.all(np.diff(bits, axis=0) >= 0)  # switching on more bits, never off
    np.testing.assert_array_equal(bits.sum(axis=1), np.arange(n_bits + 1))
    assert code_hamming_profile("thermometer", n_bits)["max"] == 1


@pytest.mark.parametrize("code", ["binary", "gray", "thermometer"])
def test_decode_inverts_encode(code):
    n_bits = 5
    k = np.arange(n_levels(code, n_bits))
    np.testing.assert_array_equal(decode_energy_bin(bin_to_bits(k, n_bits, code=code), code=code), k)


def test_energy_bins_are_equal_width_in_log_energy():
    rng = np.random.default_rng(0)
    e = 10 ** rng.uniform(3, 6, size=5000)
    edges = np.geomspace(1e3, 1e6, 2**4 + 1)
    expected = np.clip(np.searchsorted(edges, e, side="right") - 1, 0, 15)
    np.testing.assert_array_equal(energy_bin(e, 4, code="gray"), expected)
    assert np.all(np.diff(energy_bin(np.sort(e), 4, code="thermometer")) >= 0)
    assert np.allclose(energy_to_unit(np.array([1.0, 1e9])), [0.0, 1.0])  # clipped


def test_encode_energy_torch_and_numpy_agree():
    e = np.array([1.5e3, 3e4, 7e5])
    a = encode_energy(e, 6)
    b = encode_energy(torch.tensor(e), 6)
    assert a.dtype == torch.float32 and a.shape == (3, 6)
    assert torch.equal(a, b)
    k = decode_energy_bin(a, code="gray")
    np.testing.assert_array_equal(k, energy_bin(e, 6, code="gray"))


@pytest.mark.parametrize(
    "call",
    [
        lambda: bin_to_bits([0], 3, code="morse"),
        lambda: bin_to_bits([8], 3, code="binary"),
        lambda: energy_to_unit(np.array([-1.0])),
        lambda: energy_to_unit(np.array([1.0]), e_min=10, e_max=1),
        lambda: n_levels("gray", 0),
    ],
)
def test_bad_input_raises_config_error(call):
    with pytest.raises(ConfigError):
        call()
