"""Report take-aways: every sentence that states a result is chosen and filled by code from numbers.

A report never hard-codes a conclusion.  It computes its numbers, then asks a small function (one per
claim, in ``calolib.reports.takeaways.<report>``) for a :class:`Takeaway`: the function *chooses* the
sentence from the numbers (a template per verdict) and *fills* it with them.  Tests feed numbers that
should flip the verdict and check that the sentence changes.  A seed's finding is quoted beside this
run's own result with :func:`beside_seed`, never instead of it.

The building blocks here are generic:

* :func:`fmt` formats a number (with its error) to a sensible number of significant digits;
* :func:`compare` says whether ``a`` is ``"lower"``, ``"higher"`` than ``b`` or ``"consistent"`` with it,
  given their errors;
* :func:`choose` picks a template by verdict and fills it (``{name}`` placeholders, numbers formatted
  with :func:`fmt` unless already strings);
* :func:`beside_seed` puts a seed's finding and this run's take-away side by side;
* :func:`show` displays take-aways as Markdown in a notebook and returns the Markdown;
  :func:`to_results` turns them into JSON-able dicts for ``results.json``.

Example:
    >>> t = choose("bracket", compare(1.0, 2.0, err_a=0.1, err_b=0.1),
    ...            {"lower": "AIS {ais} lies below RAIS {rais}.", "higher": "AIS {ais} exceeds RAIS {rais}.",
    ...             "consistent": "AIS {ais} and RAIS {rais} agree."}, ais=1.0, rais=2.0)
    >>> t.verdict, t.text
    ('lower', 'AIS 1 lies below RAIS 2.')
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from calolib.errors import ConfigError

__all__ = ["Takeaway", "fmt", "compare", "choose", "beside_seed", "show", "to_results", "markdown"]


def __dir__():
    return __all__


@dataclass(frozen=True)
class Takeaway:
    """One claim of a report.

    Attributes:
        key: stable identifier of the claim (e.g. ``"ais_rais_bracket"``), for tests and results.json.
        verdict: the case the numbers selected (e.g. ``"lower"``, ``"improved"``, ``"inconclusive"``).
        text: the Markdown sentence shown in the report.
        numbers: the numbers the sentence was chosen and filled from.
    """

    key: str
    verdict: str
    text: str
    numbers: dict[str, Any] = field(default_factory=dict)


def fmt(value: Any, err: float | None = None, *, digits: int = 3, unit: str = "") -> str:
    """Format ``value`` (``± err``) with ``digits`` significant digits; strings pass through.

    With an error the value is rounded to the error's first two significant digits.

    Example:
        >>> fmt(161.78213), fmt(0.000123456), fmt(12345678.0), fmt(161.782, 0.031), fmt(5, unit=" MeV")
        ('162', '0.000123', '1.23e+07', '161.782 ± 0.031', '5 MeV')
        >>> fmt(float("nan")), fmt(True)
        ('n/a', 'yes')
    """
    if isinstance(value, str):
        return value + unit
    if isinstance(value, bool):
        return ("yes" if value else "no") + unit
    if value is None:
        return "n/a"
    v = float(value)
    if not math.isfinite(v):
        return "n/a" if math.isnan(v) else ("∞" if v > 0 else "−∞")
    if err is not None and math.isfinite(float(err)) and float(err) > 0:
        e = float(err)
        decimals = max(0, 1 - int(math.floor(math.log10(e))))
        if decimals > 8 or abs(v) >= 1e7:
            return f"{v:.{digits - 1}e} ± {e:.1e}{unit}"
        return f"{v:.{decimals}f} ± {e:.{decimals}f}{unit}"
    if isinstance(value, int) or (v.is_integer() and abs(v) < 1e7):
        if v != 0 and abs(v) >= 10 ** digits and abs(v) < 1e7:
            return f"{int(v)}{unit}"
    if v == 0:
        return "0" + unit
    if abs(v) >= 1e7 or abs(v) < 1e-4:
        return f"{v:.{digits - 1}e}{unit}"
    s = f"{v:.{digits}g}"
    if "e" in s:  # e.g. 162 written as 1.62e+02
        s = f"{v:.0f}"
    return s + unit


def compare(a: float, b: float, *, err_a: float = 0.0, err_b: float = 0.0, n_sigma: float = 2.0,
            rel_tol: float = 0.0) -> str:
    """``"lower"`` / ``"higher"`` if ``a`` differs from ``b`` by more than ``n_sigma`` combined errors
    (and by more than ``rel_tol * max(|a|, |b|)``), else ``"consistent"``.  NaN gives ``"unknown"``.

    Example:
        >>> compare(1.0, 1.05, err_a=0.03, err_b=0.03), compare(1.0, 2.0), compare(3.0, 2.0, rel_tol=0.6)
        ('consistent', 'lower', 'consistent')
    """
    a, b = float(a), float(b)
    if not (math.isfinite(a) and math.isfinite(b)):
        return "unknown"
    tol = max(n_sigma * math.hypot(float(err_a), float(err_b)), rel_tol * max(abs(a), abs(b)))
    if a < b - tol:
        return "lower"
    if a > b + tol:
        return "higher"
    return "consistent"


def choose(key: str, verdict: str, templates: Mapping[str, str], **numbers: Any) -> Takeaway:
    """Pick ``templates[verdict]`` and fill its ``{name}`` placeholders from ``numbers``.

    Numbers are formatted with :func:`fmt` (pass strings for custom formatting); a placeholder
    ``{name_err}``-style pair is not special: format it yourself with ``fmt(x, err)`` and pass the string.

    Raises:
        ConfigError: no template for ``verdict``, or a placeholder without a number.

    Example:
        >>> choose("x", "up", {"up": "rose to {v}", "down": "fell to {v}"}, v=0.5).text
        'rose to 0.5'
    """
    if verdict not in templates:
        raise ConfigError(f"take-away {key!r}: no sentence for verdict {verdict!r} (have {', '.join(templates)})")
    filled = {k: (v if isinstance(v, str) else fmt(v)) for k, v in numbers.items()}
    try:
        text = templates[verdict].format(**filled)
    except KeyError as exc:
        raise ConfigError(f"take-away {key!r}: the sentence needs the number {exc.args[0]!r}") from None
    return Takeaway(key=key, verdict=verdict, text=text, numbers=dict(numbers))


def beside_seed(seed: str, finding: str, this_run: Takeaway) -> Takeaway:
    """Quote a seed's finding beside this run's own take-away (never instead of it).

    The verdict and numbers are this run's; the text reads ``Seed <seed> found: <finding> This run:
    <this_run.text>``.

    Example:
        >>> t = choose("sparsity_e", "larger", {"larger": "sparsity wants a larger E′ ({r}×)."}, r=7.2)
        >>> beside_seed("003", "sparsity wants a smaller E′.", t).text
        'Seed 003 found: sparsity wants a smaller E′. This run: sparsity wants a larger E′ (7.2×).'
    """
    text = f"Seed {seed} found: {finding.strip()} This run: {this_run.text}"
    return Takeaway(key=this_run.key, verdict=this_run.verdict, text=text,
                    numbers={**this_run.numbers, "seed": seed})


def markdown(takeaways: Iterable[Takeaway], *, title: str = "What this run shows") -> str:
    """The take-aways as a Markdown bullet list under a bold title.

    Example:
        >>> print(markdown([Takeaway("a", "ok", "One."), Takeaway("b", "ok", "Two.")], title="T"))
        **T**
        <BLANKLINE>
        - One.
        - Two.
    """
    lines = [f"**{title}**", ""] + [f"- {t.text}" for t in takeaways]
    return "\n".join(lines)


def show(takeaways: Iterable[Takeaway], *, title: str = "What this run shows") -> str:
    """Display the take-aways as Markdown inside IPython (a notebook); returns the Markdown either way."""
    takeaways = list(takeaways)
    md = markdown(takeaways, title=title)
    try:
        from IPython import get_ipython
        from IPython.display import Markdown, display
    except ImportError:  # pragma: no cover - IPython ships with ipykernel
        return md
    if get_ipython() is not None:
        display(Markdown(md))
    return md


def to_results(takeaways: Iterable[Takeaway]) -> list[dict[str, Any]]:
    """JSON-able ``[{key, verdict, text, numbers}, ...]`` for a notebook's ``results.json``.

    Example:
        >>> to_results([Takeaway("a", "ok", "One.", {"x": 1})])
        [{'key': 'a', 'verdict': 'ok', 'text': 'One.', 'numbers': {'x': 1}}]
    """
    from calolib.jsonutil import to_jsonable

    return [to_jsonable({"key": t.key, "verdict": t.verdict, "text": t.text, "numbers": t.numbers})
            for t in takeaways]
