"""Take-aways of the compute-matched sampler study (report ``10_samplers``), chosen and filled from its rows.

Each function takes the study's numbers (``rows``: :meth:`calolib.diagnostics.sampler_study.SamplerStudy.rows`,
plain dicts with ``label``, ``family``, ``sweeps``, ``seconds_per_shower``, ``energy_distance``, ``fpd``,
``fpd_err``, ``auc_high``, ``probe_*`` ...) and returns a :class:`~calolib.reports.takeaways.Takeaway`.

A setting *reaches prior fidelity* when its RBM-energy distance to the long-chain reference is at most
``FIDELITY_FACTOR`` times the floor (the same distance between two independent long-chain references:
the finite-sample value of a perfect sampler; twice it is ~4 standard deviations of that value for 40
bins).  :func:`fidelity_settings` gives the cheapest such setting of each family.

Example:
    >>> rows = [{"label": "gibbs-10", "family": "gibbs", "sweeps": 10, "seconds_per_shower": 1e-5, "energy_distance": 0.01},
    ...         {"label": "sa-100", "family": "sa", "sweeps": 100, "seconds_per_shower": 1e-3, "energy_distance": 0.3}]
    >>> prior_fidelity(rows, floor=0.01).verdict
    'gibbs_only'
"""
from __future__ import annotations

import math
from collections.abc import Sequence

from calolib.reports.takeaways import Takeaway, beside_seed, choose, compare, fmt

__all__ = ["FIDELITY_FACTOR", "per_shower", "fidelity_settings", "prior_fidelity", "compute_matched", "shower_quality_spread",
           "annealer_temperature", "gibbs_mixing", "headline", "all_takeaways"]

FIDELITY_FACTOR = 2.0

FAMILY_NAMES = {"gibbs": "block Gibbs", "sa": "simulated annealing", "pimc": "path-integral annealing",
                "mock-qpu": "the mock QPU", "qpu": "the QPU"}


def __dir__():
    return __all__


def _ok(row: dict) -> bool:
    return not row.get("error") and math.isfinite(float(row.get("energy_distance", math.nan)))


def per_shower(seconds: float) -> str:
    """A time per shower in µs, ms or s with three significant digits.

    Example:
        >>> per_shower(3.21e-6), per_shower(0.0123), per_shower(2.5), per_shower(float("nan"))
        ('3.21 µs', '12.3 ms', '2.5 s', 'n/a')
    """
    s = float(seconds)
    if not math.isfinite(s):
        return "n/a"
    if s < 1e-3:
        return fmt(s * 1e6, unit=" µs")
    return fmt(s * 1e3, unit=" ms") if s < 1 else fmt(s, unit=" s")


_time = per_shower


def fidelity_settings(rows: Sequence[dict], floor: float, *, factor: float = FIDELITY_FACTOR) -> dict[str, dict]:
    """family -> the cheapest (seconds per shower) row whose energy distance is <= ``factor * floor``.

    Example:
        >>> rows = [{"family": "gibbs", "seconds_per_shower": 2.0, "energy_distance": 0.01},
        ...         {"family": "gibbs", "seconds_per_shower": 1.0, "energy_distance": 0.5}]
        >>> fidelity_settings(rows, 0.01)["gibbs"]["seconds_per_shower"]
        2.0
    """
    best: dict[str, dict] = {}
    for r in rows:
        if _ok(r) and float(r["energy_distance"]) <= factor * float(floor):
            fam = r["family"]
            if fam not in best or float(r["seconds_per_shower"]) < float(best[fam]["seconds_per_shower"]):
                best[fam] = r
    return best


def prior_fidelity(rows: Sequence[dict], floor: float) -> Takeaway:
    """Which of block Gibbs and SA reach the long-chain energy distribution, from how many sweeps, at what cost."""
    fid = fidelity_settings(rows, floor)
    g, s = fid.get("gibbs"), fid.get("sa")
    verdict = {(True, True): "both", (True, False): "gibbs_only", (False, True): "sa_only", (False, False): "neither"}[(g is not None, s is not None)]
    ran = [r for r in rows if _ok(r)]
    best = min(ran, key=lambda r: float(r["energy_distance"])) if ran else {"label": "none", "energy_distance": math.nan}
    nums = dict(floor=float(floor), limit=FIDELITY_FACTOR * float(floor), best=best["label"], best_d=float(best["energy_distance"]),
                g_sweeps=g["sweeps"] if g else "n/a", g_time=_time(g["seconds_per_shower"]) if g else "n/a",
                s_sweeps=s["sweeps"] if s else "n/a", s_time=_time(s["seconds_per_shower"]) if s else "n/a")
    lead = "The prior's RBM-energy distribution matches the long-chain Gibbs reference (separation power ≤ {limit}, twice the two-reference floor {floor})"
    return choose("prior_fidelity", verdict, {
        "both": lead + " with block Gibbs from {g_sweeps} sweeps ({g_time} per shower) and with simulated annealing from {s_sweeps} sweeps ({s_time} per shower).",
        "gibbs_only": lead + " with block Gibbs from {g_sweeps} sweeps ({g_time} per shower); no simulated-annealing setting does.",
        "sa_only": lead + " with simulated annealing from {s_sweeps} sweeps ({s_time} per shower); no block-Gibbs setting does.",
        "neither": "No block-Gibbs or simulated-annealing setting matches the long-chain RBM-energy distribution within twice the floor {floor}; the closest is {best} ({best_d}).",
    }, **nums)


def compute_matched(rows: Sequence[dict], floor: float) -> Takeaway:
    """Time per shower of block Gibbs against SA at matched prior fidelity (the cheapest setting of each)."""
    fid = fidelity_settings(rows, floor)
    g, s = fid.get("gibbs"), fid.get("sa")
    if g is None or s is None:
        missing = " and ".join(FAMILY_NAMES[f] for f in ("gibbs", "sa") if fid.get(f) is None)
        return choose("compute_matched", "unmatched", {"unmatched": "No compute-matched comparison: {missing} never reached prior fidelity here."},
                      missing=missing)
    ratio = float(s["seconds_per_shower"]) / max(float(g["seconds_per_shower"]), 1e-300)
    core = float(s.get("core_seconds_per_shower", math.nan))
    overhead = math.isfinite(core) and core < 0.8 * float(s["seconds_per_shower"])
    verdict = ("gibbs_faster" if ratio > 1 else "sa_faster") + ("_overhead" if overhead else "")
    note = " SA's own annealing takes {s_core} of it per shower; the rest is building and clamping one problem per E_inc code."
    return choose("compute_matched", verdict, {
        "gibbs_faster": "At matched prior fidelity block Gibbs ({g}, {g_time} per shower) is {ratio}× faster than simulated annealing ({s}, {s_time}).",
        "sa_faster": "At matched prior fidelity simulated annealing ({s}, {s_time} per shower) is {inv}× faster than block Gibbs ({g}, {g_time}).",
        "gibbs_faster_overhead": "At matched prior fidelity block Gibbs ({g}, {g_time} per shower) is {ratio}× faster than simulated annealing ({s}, {s_time})." + note,
        "sa_faster_overhead": "At matched prior fidelity simulated annealing ({s}, {s_time} per shower) is {inv}× faster than block Gibbs ({g}, {g_time})." + note,
    }, g=g["label"], s=s["label"], g_time=_time(g["seconds_per_shower"]), s_time=_time(s["seconds_per_shower"]),
        s_core=_time(core), ratio=ratio, inv=1.0 / ratio if ratio > 0 else math.inf)


def shower_quality_spread(rows: Sequence[dict], floor: float) -> Takeaway:
    """Do the showers depend on the sampler once the prior is sampled faithfully?  The FPD range over the
    settings at prior fidelity (compared with their bootstrap errors), and the worst setting off it."""
    ran = [r for r in rows if not r.get("error") and math.isfinite(float(r.get("fpd", math.nan)))]
    fid = [r for r in ran if float(r["energy_distance"]) <= FIDELITY_FACTOR * float(floor)]
    off = [r for r in ran if r not in fid]
    worst = max(off, key=lambda r: float(r["fpd"])) if off else None
    tail = (" Off the prior, {w} gives FPD {w_v}." if worst else "")
    nums = dict(w=worst["label"] if worst else "", w_v=fmt(float(worst["fpd"]), worst.get("fpd_err")) if worst else "", n=len(fid))
    if len(fid) < 2:
        return choose("shower_quality", "too_few", {"too_few": "Only {n} setting(s) sample the prior faithfully, too few to compare their showers." + tail}, **nums)
    lo = min(fid, key=lambda r: float(r["fpd"]))
    hi = max(fid, key=lambda r: float(r["fpd"]))
    verdict = compare(float(hi["fpd"]), float(lo["fpd"]), err_a=float(hi.get("fpd_err", 0.0) or 0.0), err_b=float(lo.get("fpd_err", 0.0) or 0.0))
    verdict = "sensitive" if verdict == "higher" else "insensitive"
    auc = [float(r["auc_high"]) for r in fid if math.isfinite(float(r.get("auc_high", math.nan)))]
    lead = "Among the {n} settings at prior fidelity the FPD ranges from {lo_v} ({lo}) to {hi_v} ({hi})"
    return choose("shower_quality", verdict, {
        "sensitive": lead + ", beyond twice the bootstrap errors: the showers still depend on the sampler (high-level AUC {auc_lo} to {auc_hi})." + tail,
        "insensitive": lead + ", within twice the bootstrap errors: a faithful prior sample gives the same showers whichever sampler drew it (high-level AUC {auc_lo} to {auc_hi})." + tail,
    }, lo=lo["label"], hi=hi["label"], lo_v=fmt(float(lo["fpd"]), lo.get("fpd_err")), hi_v=fmt(float(hi["fpd"]), hi.get("fpd_err")),
        auc_lo=min(auc) if auc else math.nan, auc_hi=max(auc) if auc else math.nan, **nums)


def annealer_temperature(rows: Sequence[dict], probe_floor: float, *, family: str = "mock-qpu") -> Takeaway:
    """β_eff of an annealer's probe samples and whether reweighting to β = 1 brings them to the reference."""
    cand = [r for r in rows if r.get("family") == family and not r.get("error") and math.isfinite(float(r.get("probe_beta_eff", math.nan)))]
    if not cand:
        t = choose("annealer_temperature", "not_run", {"not_run": "{name} did not run here, so there is no β_eff to report."}, name=FAMILY_NAMES.get(family, family).capitalize())
        return beside_seed("004", "weighing the samples fixed the discrepancy.", t)
    r = cand[-1]
    raw, rew, ess = float(r["probe_energy_distance"]), float(r["probe_energy_distance_reweighted"]), float(r["probe_ess_fraction"])
    limit = FIDELITY_FACTOR * float(probe_floor)
    if not math.isfinite(ess) or ess < 0.05:
        verdict = "ess_collapse"
    elif raw <= limit:
        verdict = "already_close"
    elif rew <= limit:
        verdict = "fixed"
    elif rew < raw:
        verdict = "improved"
    else:
        verdict = "not_improved"
    nums = dict(name=FAMILY_NAMES.get(family, family), label=r["label"], beta=fmt(float(r["probe_beta_eff"]), float(r["probe_beta_eff_err"])),
                nominal=float(r.get("probe_beta_nominal", math.nan)), raw=raw, rew=rew, ess=100 * ess, limit=limit)
    lead = "Samples of {name} ({label}) follow β_eff = {beta} (nominal {nominal}); "
    t = choose("annealer_temperature", verdict, {
        "ess_collapse": lead + "reweighting them to β = 1 leaves an effective sample size of only {ess} % (energy distance {raw} → {rew}).",
        "already_close": lead + "they already match the reference energy distribution (distance {raw} ≤ {limit}); reweighting keeps {ess} % of the samples (→ {rew}).",
        "fixed": lead + "reweighting to β = 1 brings the energy distance from {raw} to {rew} (≤ {limit}) at an effective sample size of {ess} %.",
        "improved": lead + "reweighting to β = 1 lowers the energy distance from {raw} to {rew}, still above {limit}, at an effective sample size of {ess} %.",
        "not_improved": lead + "reweighting to β = 1 does not lower the energy distance ({raw} → {rew}; effective sample size {ess} %).",
    }, **nums)
    return beside_seed("004", "weighing the samples fixed the discrepancy.", t)


def gibbs_mixing(tau: float, tau_err: float, rows: Sequence[dict]) -> Takeaway:
    """τ_int of the equilibrium magnetisation against the longest Gibbs setting."""
    sweeps = [int(r["sweeps"]) for r in rows if r.get("family") == "gibbs" and not r.get("error")]
    longest = max(sweeps) if sweeps else 0
    verdict = "mixes" if math.isfinite(tau) and longest >= 10 * tau else "slow"
    return choose("gibbs_mixing", verdict, {
        "mixes": "At equilibrium the prior's magnetisation decorrelates in τ_int = {tau} sweeps: the longest Gibbs setting ({longest} sweeps) spans {n} τ_int.",
        "slow": "At equilibrium the prior's magnetisation has τ_int = {tau} sweeps: even the longest Gibbs setting ({longest} sweeps) spans only {n} τ_int.",
    }, tau=fmt(float(tau), float(tau_err)), longest=longest, n=longest / tau if tau > 0 else math.inf)


def headline(rows: Sequence[dict], floor: float, tau: float, tau_err: float) -> dict:
    """The index's headline numbers: τ_int, sweeps and µs per shower to prior fidelity (Gibbs), the SA/Gibbs time ratio."""
    fid = fidelity_settings(rows, floor)
    out: dict = {"τ_int prior (sweeps)": {"value": float(tau), "err": float(tau_err)}}
    if "gibbs" in fid:
        out["Gibbs sweeps to prior fidelity"] = int(fid["gibbs"]["sweeps"])
        out["Gibbs µs/shower at fidelity"] = 1e6 * float(fid["gibbs"]["seconds_per_shower"])
    if "gibbs" in fid and "sa" in fid:
        out["SA/Gibbs time at equal fidelity"] = float(fid["sa"]["seconds_per_shower"]) / float(fid["gibbs"]["seconds_per_shower"])
    return out


def all_takeaways(rows: Sequence[dict], floor: float, probe_floor: float, tau: float, tau_err: float) -> list[Takeaway]:
    """The report's sentences, in order."""
    return [prior_fidelity(rows, floor), compute_matched(rows, floor), shower_quality_spread(rows, floor),
            annealer_temperature(rows, probe_floor), gibbs_mixing(tau, tau_err, rows)]
