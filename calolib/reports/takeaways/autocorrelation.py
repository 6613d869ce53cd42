"""Take-aways of the autocorrelation report (07, seed 004): which chains correlate, for how long, and thinning.

The numbers are :meth:`calolib.diagnostics.AutocorrelationResult.summary` dicts (τ_int of the magnetisation
and of the energy in records, their errors and windows, the thinning ``every`` and whether Sokal's window
criterion was met).

Example:
    >>> s = {"tau": 37.6, "tau_err": 3.3, "window": 188, "tau_energy": 12.0, "tau_energy_err": 0.6,
    ...      "window_energy": 60, "converged": True, "every": 1, "n_chains": 100, "n_records": 1000}
    >>> mixing("zephyr-N(0,1)-β3", s).verdict
    'correlated'
"""
from __future__ import annotations

import math

from calolib.reports.takeaways import Takeaway, beside_seed, choose, compare, fmt

__all__ = ["SEED_004_BIASES", "mixing", "thinning", "energy_vs_magnetisation", "bias_effect", "slowest"]

#: Seed 004's remark on the trained Zephyr RBM's ACF, quoted beside this run's own comparison.
SEED_004_BIASES = "making the biases 0 yields the same autocorrelation."


def __dir__():
    return __all__


def _tau(s: dict, which: str = "m") -> tuple[float, float]:
    return (s["tau"], s["tau_err"]) if which == "m" else (s["tau_energy"], s["tau_energy_err"])


def mixing(name: str, s: dict, *, threshold: float = 1.5) -> Takeaway:
    """Is the case correlated (τ_int of m or E significantly above ``threshold`` records) or not?

    Example:
        >>> s = {"tau": 1.01, "tau_err": 0.02, "window": 5, "tau_energy": 1.0, "tau_energy_err": 0.02,
        ...      "window_energy": 5, "converged": True, "every": 1}
        >>> mixing("zephyr", s).verdict
        'uncorrelated'
    """
    tm, em = _tau(s, "m")
    te, ee = _tau(s, "e") if s.get("tau_energy") is not None else (math.nan, math.nan)
    big = max((t for t in (tm, te) if math.isfinite(t)), default=math.nan)
    err = em if big == tm else ee
    if not s.get("converged", True):
        verdict = "lower_bound"
    elif math.isfinite(big) and big - 2 * err > threshold:
        verdict = "correlated"
    else:
        verdict = "uncorrelated"
    every = int(s.get("every", 1))
    unit = "sweeps" if every == 1 else f"records of Δt = {every} sweeps"
    e_part = f", of E(z) {fmt(te, ee)}" if math.isfinite(te) else ""
    t = {"correlated": "{name}: the chains are correlated — τ_int of m {m}{e} {unit}; one effectively independent sample "
                       "costs about {big} {unit}.",
         "uncorrelated": "{name}: the chains decorrelate within about one sweep — τ_int of m {m}{e} {unit}.",
         "lower_bound": "{name}: τ_int of m {m}{e} {unit} is only a lower bound — the automatic window did not close "
                        "within the lags computed; run longer chains."}
    return choose(f"mixing_{name}", verdict, t, name=name, m=fmt(tm, em), e=e_part, unit=unit, big=fmt(big, digits=2))


def thinning(name: str, dense: dict, thinned: dict) -> Takeaway:
    """Does recording every Δt sweeps (seed 004's Δt = 1000) leave independent records?

    Example:
        >>> d = {"tau": 37.6, "tau_err": 3.3, "tau_energy": 12.0, "tau_energy_err": 0.6, "every": 1}
        >>> th = {"tau": 1.1, "tau_err": 0.2, "tau_energy": 0.9, "tau_energy_err": 0.2, "every": 1000}
        >>> thinning("N(0,1), β = 3", d, th).verdict
        'independent'
    """
    tm, em = _tau(thinned, "m")
    verdict = "independent" if compare(tm, 1.0, err_a=em) != "higher" else "still_correlated"
    if not math.isfinite(tm):
        verdict = "unknown"
    t = {"independent": "Thinning {name} to one record every {dt} sweeps (seed 004 thinned by Δt = 1000) leaves "
                        "independent records: τ_int = {m} records, against {d} sweeps unthinned — Δt ≫ τ_int.",
         "still_correlated": "Even one record every {dt} sweeps, {name} stays correlated: τ_int = {m} records (unthinned "
                             "{d} sweeps) — the chains need more than {dt} sweeps per independent sample.",
         "unknown": "The thinned τ_int is not finite."}
    return choose("thinning", verdict, t, name=name, dt=int(thinned.get("every", 1)), m=fmt(tm, em),
                  d=fmt(*_tau(dense, "m")))


def energy_vs_magnetisation(name: str, s: dict) -> Takeaway:
    """Does E(z) decorrelate more slowly or faster than the magnetisation?

    Example:
        >>> s = {"tau": 37.6, "tau_err": 3.3, "tau_energy": 12.0, "tau_energy_err": 0.6, "every": 1}
        >>> energy_vs_magnetisation("x", s).verdict
        'energy_faster'
    """
    v = compare(s["tau_energy"], s["tau"], err_a=s["tau_energy_err"], err_b=s["tau_err"])
    verdict = {"lower": "energy_faster", "higher": "energy_slower", "consistent": "same"}.get(v, "unknown")
    t = {"energy_faster": "{name}: E(z) decorrelates faster than the magnetisation (τ_int {e} vs {m}); m is the slow mode.",
         "energy_slower": "{name}: E(z) decorrelates more slowly than the magnetisation (τ_int {e} vs {m}); the "
                          "magnetisation alone would understate the mixing time.",
         "same": "{name}: E(z) and the magnetisation decorrelate alike (τ_int {e} vs {m}).",
         "unknown": "{name}: no energy trajectory recorded."}
    return choose(f"energy_vs_m_{name}", verdict, t, name=name, e=fmt(s["tau_energy"], s["tau_energy_err"]),
                  m=fmt(s["tau"], s["tau_err"]))


def bias_effect(with_bias: dict, no_bias: dict) -> Takeaway:
    """Does zeroing the biases change τ_int (seed 004 found it did not)?  Quoted beside the seed.

    Example:
        >>> a = {"tau": 1.0, "tau_err": 0.02}; b = {"tau": 1.01, "tau_err": 0.02}
        >>> bias_effect(a, b).verdict
        'same'
    """
    v = compare(no_bias["tau"], with_bias["tau"], err_a=no_bias["tau_err"], err_b=with_bias["tau_err"])
    verdict = {"consistent": "same", "lower": "faster", "higher": "slower"}.get(v, "unknown")
    t = {"same": "the Zephyr RBM without biases mixes like the one with them (τ_int {b} vs {a}).",
         "faster": "zeroing the biases speeds up mixing (τ_int {b} vs {a}).",
         "slower": "zeroing the biases slows mixing (τ_int {b} vs {a}).",
         "unknown": "τ_int is not finite."}
    own = choose("bias_effect", verdict, t, a=fmt(with_bias["tau"], with_bias["tau_err"]),
                 b=fmt(no_bias["tau"], no_bias["tau_err"]))
    return beside_seed("004", SEED_004_BIASES, own)


def slowest(summaries: dict[str, dict]) -> Takeaway:
    """Which case mixes most slowly (largest τ_int of m or E, in sweeps)?

    Example:
        >>> slowest({"a": {"tau": 1.0, "tau_err": 0.1, "every": 1}, "b": {"tau": 5.0, "tau_err": 0.2, "every": 1}}).verdict
        'b'
    """
    def sweeps(s):
        vals = [v for v in (s["tau"], s.get("tau_energy", math.nan)) if v is not None and math.isfinite(v)]
        return max(vals, default=math.nan) * int(s.get("every", 1))

    dense = {k: v for k, v in summaries.items() if int(v.get("every", 1)) == 1}
    name = max(dense, key=lambda k: sweeps(dense[k]))
    return choose("slowest", name, {name: "The slowest case is {n}: τ_int ≈ {t} sweeps."}, n=name,
                  t=fmt(sweeps(dense[name]), digits=2))
