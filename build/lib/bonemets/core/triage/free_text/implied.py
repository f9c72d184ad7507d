"""From findings to the symptoms the triage rules run on, and the quotes reasons carry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from bonemets.core.triage.context import describe
from bonemets.core.triage.models import FreeTextFinding, Symptom

# --- from findings to symptoms ---------------------------------------------------------------

DEFAULT_SEVERITY = 2  # the contract's default when a severity is not given


@dataclass(slots=True)
class Implied:
    """A symptom the free text implies, with the findings (words) behind it."""

    symptom: Symptom
    findings: list[FreeTextFinding] = field(default_factory=list)


def imply(
    findings: Sequence[FreeTextFinding], reported: Sequence[Symptom]
) -> tuple[list[Implied], list[FreeTextFinding]]:
    """The symptoms the positive `findings` add to the `reported` ones, and every finding with
    its `use`: "implied" (it adds a symptom), "already_reported" (a reported symptom of the same
    code, site and features at no lower severity covers it), or "negated".

    An implied symptom never replaces or lowers a reported one: it is only added, so the rules
    (which only raise) can only raise the level. The same words are not counted twice: findings
    of one code, site, features, severity and trend make one symptom. A report's "none"
    (severity 0) does not cover a finding: when the text says otherwise, the text counts."""
    implied: dict[tuple[Any, ...], Implied] = {}
    used: list[FreeTextFinding] = []
    for finding in findings:
        if finding.negated:
            used.append(finding)
            continue
        covering = [
            s
            for s in reported
            if s.code == finding.code
            and s.severity > 0
            and s.site == finding.site
            and set(finding.features) <= set(s.features)
            and (finding.severity is None or finding.severity <= s.severity)
            and (finding.trend is None or finding.trend == s.trend)
        ]
        if covering:
            used.append(_with_use(finding, "already_reported"))
            continue
        key = (finding.code, finding.site, tuple(finding.features), finding.severity, finding.trend)
        if key not in implied:
            symptom = Symptom.model_validate(
                {
                    "code": finding.code,
                    "severity": finding.severity or DEFAULT_SEVERITY,
                    "site": finding.site,
                    "features": list(finding.features),
                    "trend": finding.trend,
                }
            )
            implied[key] = Implied(symptom)
        marked = _with_use(finding, "implied")
        implied[key].findings.append(marked)
        used.append(marked)
    return list(implied.values()), used


def _with_use(finding: FreeTextFinding, use: str) -> FreeTextFinding:
    return replace(finding, use=use)


def quotes_by_input(
    implied: Sequence[Implied], findings: Sequence[FreeTextFinding], reported: Sequence[Symptom]
) -> dict[str, str]:
    """What to add after each symptom's description in a reason's `because`: where an implied
    symptom came from, or that the free text also names a reported one. Descriptions are unique
    here: an implied symptom that would read like a reported one is covered by it (`imply`)."""
    out: dict[str, str] = {}
    for item in implied:
        words = ", ".join(f'"{f.quote}"' for f in item.findings)
        out[describe(item.symptom)] = f" from the free text: {words} [{_entries(item.findings)}]"
    for symptom in reported:
        also = [
            f
            for f in findings
            if f.use == "already_reported"
            and f.code == symptom.code
            and f.site == symptom.site
            and symptom.severity > 0
        ]
        if also:
            words = ", ".join(f'"{f.quote}"' for f in also)
            out.setdefault(describe(symptom), f" (also in the free text: {words})")
    return out


def _entries(findings: Sequence[FreeTextFinding]) -> str:
    return ", ".join(dict.fromkeys(f.entry for f in findings))


def quote_free_text(because: list[str], quotes: dict[str, str]) -> list[str]:
    """`because` with each description of a symptom in `quotes` followed by its quote. Rules
    write a symptom as its description, alone or followed by ": <what else fired it>"."""
    out = []
    for item in because:
        head, sep, rest = item.partition(": ")
        if head in quotes:
            item = head + quotes[head] + sep + rest
        out.append(item)
    return out
