"""Take-aways of the latent-clustering report (05, seed 003): E_inc degeneracy, energy sign, encoder noise.

Example:
    >>> degeneracy(0.35, 0.30, 0.33).verdict, degeneracy(0.60, 0.30, 0.33).verdict
    ('degenerate', 'separated')
"""
from __future__ import annotations

import math

from calolib.reports.takeaways import Takeaway, beside_seed, choose, fmt

__all__ = ["SEED_003", "degeneracy", "energy_sign", "encoder_determinism", "group_classifier", "seed_003_degeneracy"]

#: Seed 003's finding on latent clustering, quoted beside this run's own.
SEED_003 = ("there is great overlap between the encodings of different incident energies, so the RBM is "
            "“incidence energy” degenerate (H_RBM|φ(E_inc)⟩ = E|φ(E_inc)⟩ and H_RBM|φ(E′_inc)⟩ = E|φ(E′_inc)⟩).")


def __dir__():
    return __all__


def degeneracy(overlap: float, null_mean: float, null_q95: float, *, threshold: float = 0.1,
               energy: str = "free-unit energy") -> Takeaway:
    """E_inc-degenerate in the seed-003 sense: do the E_inc groups' energy histograms overlap (nearly) as much
    as groups drawn from one distribution (shuffled labels)?  Degenerate when overlap − shuffled < ``threshold``.

    Example:
        >>> degeneracy(0.35, 0.30, 0.33).text.startswith("The E_inc groups")
        True
    """
    excess = overlap - null_mean
    verdict = "unknown" if not math.isfinite(excess) else ("degenerate" if excess < threshold else "separated")
    t = {"degenerate": "The E_inc groups' {en} histograms overlap: mean pairwise separation power {o} against {n} for "
                       "shuffled E_inc groups (95 % of shuffles below {q}); the excess {x} is below {th}, so the prior is "
                       "E_inc-degenerate in the seed-003 sense — an energy level does not tell the E_inc apart.",
         "separated": "The E_inc groups' {en} histograms are separated: mean pairwise separation power {o} against {n} for "
                      "shuffled E_inc groups (95 % below {q}); the excess {x} exceeds {th}, so the prior is not "
                      "E_inc-degenerate in the seed-003 sense.",
         "unknown": "The overlap score is not defined (empty E_inc groups)."}
    return choose("degeneracy", verdict, t, en=energy, o=fmt(overlap), n=fmt(null_mean), q=fmt(null_q95),
                  x=fmt(excess, digits=2), th=fmt(threshold))


def seed_003_degeneracy(t: Takeaway) -> Takeaway:
    """:func:`degeneracy`'s take-away with seed 003's finding quoted beside it."""
    return beside_seed("003", SEED_003, t)


def energy_sign(corr_free: float, corr_full: float, n_events: int | None = None, *, n_sigma: float = 2.0) -> Takeaway:
    """Does leaving the clamped code bits out of E(z) change the sign of corr(E, log E_inc)?

    With ``n_events`` a correlation within ``n_sigma``/√(n − 3) of 0 (Fisher) counts as no correlation.

    Example:
        >>> energy_sign(-0.3, 0.6).verdict, energy_sign(0.2, 0.5).verdict, energy_sign(-0.04, 0.39, 200).verdict
        ('flips', 'same', 'free_uncorrelated')
    """
    zero = n_sigma / max(n_events - 3, 1) ** 0.5 if n_events else 0.0
    if not (math.isfinite(corr_free) and math.isfinite(corr_full)):
        verdict = "unknown"
    elif abs(corr_free) <= zero:
        verdict = "free_uncorrelated"
    else:
        verdict = "flips" if corr_free * corr_full < 0 else "same"
    t = {"flips": "corr(E, log E_inc) is {f} for the free units' energy but {a} with the clamped code bits in E(z): the "
                  "code bits, which encode E_inc by construction, reverse the trend — only the free-unit energy says "
                  "anything about the learned latents.",
         "same": "corr(E, log E_inc) is {f} for the free units' energy and {a} with the clamped code bits in E(z): the "
                 "sign does not depend on them.",
         "free_uncorrelated": "corr(E, log E_inc) is {f} for the free units' energy — consistent with none ({n} events: "
                              "|r| ≤ {z}) — but {a} with the clamped code bits in E(z): the E_inc trend of E(z) comes "
                              "from the code bits, not from the learned latents.",
         "unknown": "corr(E, log E_inc) is undefined (constant energies)."}
    return choose("energy_sign", verdict, t, f=fmt(corr_free, digits=2), a=fmt(corr_full, digits=2),
                  n=n_events or "n/a", z=fmt(zero, digits=2))


def encoder_determinism(median_distinct: float, n_repeats: int, *, max_fraction: float = 0.1) -> Takeaway:
    """Is the encoder (nearly) deterministic: how many distinct codes among ``n_repeats`` encodings of one event?

    Example:
        >>> encoder_determinism(1, 50).verdict, encoder_determinism(3, 50).verdict, encoder_determinism(40, 50).verdict
        ('deterministic', 'nearly_deterministic', 'stochastic')
    """
    if median_distinct <= 1:
        verdict = "deterministic"
    elif median_distinct <= max(2, max_fraction * n_repeats):
        verdict = "nearly_deterministic"
    else:
        verdict = "stochastic"
    t = {"deterministic": "The encoder is deterministic: every one of the {r} encodings of an event is the same code, "
                          "so each event is a single point in energy, not a distribution.",
         "nearly_deterministic": "The encoder is nearly deterministic: a median of {k} distinct codes among {r} encodings "
                                 "of one event, so each event is (almost) a single point in energy, not a distribution; "
                                 "the histograms below count events.",
         "stochastic": "The encoder is stochastic: a median of {k} distinct codes among {r} encodings of one event; each "
                       "event contributes a spread of energies."}
    return choose("encoder_determinism", verdict, t, k=fmt(median_distinct), r=int(n_repeats))


def group_classifier(acc: float, err: float, chance: float, *, n_sigma: float = 2.0) -> Takeaway:
    """Can a classifier read the E_inc group from the free latent bits (above chance)?

    Example:
        >>> group_classifier(0.75, 0.05, 0.22).verdict, group_classifier(0.25, 0.05, 0.22).verdict
        ('above_chance', 'chance')
    """
    if not (math.isfinite(acc) and math.isfinite(chance)):
        verdict = "unknown"
    else:
        verdict = "above_chance" if acc - n_sigma * err > chance else "chance"
    t = {"above_chance": "The free latent bits carry E_inc: a linear classifier reads the E_inc group from them "
                         "with accuracy {a} against {c} by chance.",
         "chance": "A linear classifier reads the E_inc group from the free latent bits no better than chance "
                   "(accuracy {a}, chance {c}).",
         "unknown": "The E_inc-group classifier did not run."}
    return choose("group_classifier", verdict, t, a=fmt(acc, err), c=fmt(chance, digits=2))
