"""CDS Hooks cards from bonemets findings: indicator, summary, markdown detail, source, links.

Indicators from our levels (knowledge/levels.toml): emergency -> critical; urgent and soon ->
warning; routine and self_care -> info. Pathway gaps (a check missing or failed that raised no
alert, a test never done, a suggestion) carry no level of their own: they are info cards.
"""

from __future__ import annotations

import re
import urllib.parse
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from bonemets import ENGINE_VERSION
from bonemets.adapters.fhir.codes import CS
from bonemets.core.knowledge import EVIDENCE_WORDS, sources
from bonemets.core.levels import Level
from bonemets.core.pathway import Alert, Assessment, Check
from bonemets.faces.cds.models import SUMMARY_MAX as SUMMARY_MAX
from bonemets.faces.cds.models import Card, Coding, Indicator, Link, Source
from bonemets.faces.cds.models import Suggestion as CdsSuggestion

RULE_SYSTEM = f"{CS}/cds-rule"  # our rule ids as a CodeSystem (card.source.topic)
OVERRIDE_SYSTEM = f"{CS}/cds-override-reason"

# Offered on every card a clinician must override with a reason to go ahead (the core's
# `DoseFinding.override`); the feedback endpoint stores the one chosen.
OVERRIDE_REASONS: tuple[Coding, ...] = tuple(
    Coding(system=OVERRIDE_SYSTEM, code=code, display=display)
    for code, display in (
        ("benefit-outweighs-risk", "Clinical judgement: the benefit outweighs the risk"),
        ("data-out-of-date", "The data this card used is wrong or out of date"),
        ("specialist-advice", "On specialist advice (oncology, renal or dental)"),
        ("already-addressed", "Already addressed (e.g. new result pending, dose adjusted)"),
    )
)

INDICATORS: dict[Level, Indicator] = {
    Level.EMERGENCY: "critical",
    Level.URGENT: "warning",
    Level.SOON: "warning",
    Level.ROUTINE: "info",
    Level.SELF_CARE: "info",
}
_RANK: dict[str, int] = {"critical": 0, "warning": 1, "info": 2}

CHECK_TITLES: dict[str, str] = {
    "dental_exam": "Dental exam",
    "renal_function": "Creatinine before the dose",
    "creatinine_clearance": "Creatinine clearance",
    "calcium": "Calcium before the dose",
    "calcium_vitamin_d_supplement": "Calcium and vitamin D supplements",
}
_STATUS_WORDS = {"missing": "missing", "fail": "not met", "unknown": "not recorded"}


def indicator_for(level: Level) -> Indicator:
    return INDICATORS[level]


def md(text: str) -> str:
    """Our text made safe inside GitHub Flavored Markdown (no raw HTML, no stray emphasis)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def summary(text: str, prefix: str = "") -> str:
    """One sentence, under 140 characters: the first sentence, cut at a word if still too long."""
    text = " ".join(text.split())
    first = re.split(r"(?<=[.!?])\s(?=[A-Z])", text, maxsplit=1)[0]
    out = f"{prefix}{first}"
    out = out[:1].upper() + out[1:]
    if len(out) <= SUMMARY_MAX:
        return out
    cut = out[: SUMMARY_MAX - 1]
    if " " in cut[SUMMARY_MAX // 2 :]:
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip(" ,;:") + "…"


@dataclass(frozen=True)
class Context:
    """What every card of one response shares."""

    base_url: str  # our app, from the request
    patient_id: str
    as_of: str
    inputs: str  # markdown: the FHIR data read, and where it came from
    incomplete: bool = False  # some data could not be had: every card says so
    links: tuple[Link, ...] = ()  # into our app (see `card_links`)


@dataclass
class Finding:
    """One thing to tell the clinician, before it becomes a card."""

    indicator: Indicator
    summary: str
    message: str  # the full statement (markdown-safe text is made here)
    rule: str
    sources: list[str] = field(default_factory=list)
    evidence: str | None = None
    unverified: bool = False
    because: list[str] = field(default_factory=list)
    level: Level | None = None
    extra: list[str] = field(default_factory=list)  # further markdown paragraphs
    suggestions: list[CdsSuggestion] = field(default_factory=list)
    override: bool = False  # going ahead needs a reason: the card offers override reasons


def _source(rule: str, ids: Sequence[str]) -> Source:
    return _source_of(rule, tuple(ids))


# Sources and links are frozen models, so one validated instance can sit on many cards: a rule's
# source is the same on every call, and a response's link the same on each of its cards.
@lru_cache(maxsize=1024)
def _source_of(rule: str, ids: tuple[str, ...]) -> Source:
    known = sources()
    url = next((known[i].url for i in ids if i in known and known[i].url), None)
    shown = ", ".join(ids[:2]) + (", …" if len(ids) > 2 else "")
    label = f"bonemets {rule}" + (f" ({shown})" if shown else "")
    return Source.model_validate(
        {
            "label": label,
            "url": url,
            "topic": Coding(system=RULE_SYSTEM, code=rule, display=rule),
        }
    )


def _sources_md(ids: Iterable[str]) -> str:
    return _sources_md_of(tuple(ids))


@lru_cache(maxsize=1024)
def _sources_md_of(ids: tuple[str, ...]) -> str:
    known = sources()
    lines = []
    for sid in ids:
        src = known.get(sid)
        if src is None:
            lines.append(f"- `{sid}`")
            continue
        link = f" [{src.url}]({src.url})" if src.url else ""
        lines.append(f"- `{sid}`: {md(src.citation)}{link}")
    return "**Sources**\n\n" + "\n".join(lines) if lines else ""


def card(f: Finding, ctx: Context) -> Card:
    parts = [f"**{md(f.message)}**"]
    if f.because and any(b not in f.message for b in f.because):
        parts.append("**Because**\n\n" + "\n".join(f"- {md(b)}" for b in f.because))
    parts.extend(f.extra)
    rule_line = f"Rule `{f.rule}`"
    if f.level is not None:
        rule_line += f"; bonemets level **{f.level.value}**, shown as *{f.indicator}*"
    if f.evidence:
        rule_line += f"; evidence {f.evidence} ({EVIDENCE_WORDS.get(f.evidence, f.evidence)})"
    parts.append(rule_line + ".")
    if f.unverified:
        parts.append(
            "**Unverified:** this rests on an unverified number or a bonemets policy choice."
        )
    if ctx.incomplete:
        parts.append(
            "**Incomplete data:** some of the patient's data could not be read (see the data "
            "card); this finding may change with it."
        )
    parts.append(ctx.inputs)
    sources_md = _sources_md(f.sources)
    if sources_md:
        parts.append(sources_md)
    parts.append(
        f"_bonemets {ENGINE_VERSION}, as of {ctx.as_of}. Decision support: it does not replace "
        "clinical judgement._"
    )
    return Card(
        uuid=str(uuid.uuid4()),
        summary=f.summary,
        detail="\n\n".join(p for p in parts if p),
        indicator=f.indicator,
        source=_source(f.rule, f.sources),
        suggestions=f.suggestions or None,
        selectionBehavior="at-most-one" if f.suggestions else None,
        overrideReasons=list(OVERRIDE_REASONS) if f.override else None,
        links=list(ctx.links) or None,
    )


@lru_cache(maxsize=256)
def card_links(base_url: str, identifier: tuple[str, str] | None) -> tuple[Link, ...]:
    """Links into our patient page: a SMART app launch (the EHR adds `iss` and `launch`; our app
    finds its patient by the EHR patient's identifier), and, when the EHR patient's MRN is known,
    a plain link that finds the patient by that identifier after signing in."""
    links = [
        Link.model_validate(
            {
                "label": "Open the patient in bonemets (SMART app)",
                "url": f"{base_url}/smart/launch",
                "type": "smart",
            }
        )
    ]
    if identifier is not None:
        token = urllib.parse.quote(f"{identifier[0]}|{identifier[1]}", safe="")
        links.append(
            Link.model_validate(
                {
                    "label": "Open the patient in bonemets",
                    "url": f"{base_url}/ehr/patient?identifier={token}",
                    "type": "absolute",
                }
            )
        )
    return tuple(links)


def ordered(cards: list[Card]) -> list[Card]:
    """Most urgent first; the order of findings otherwise kept."""
    return sorted(cards, key=lambda c: _RANK[c.indicator])


# --- patient-view ---------------------------------------------------------------------------------


def alert_finding(alert: Alert) -> Finding:
    return Finding(
        indicator=indicator_for(alert.level),
        summary=summary(alert.message),
        message=alert.message,
        rule=alert.rule,
        sources=list(alert.sources),
        evidence=alert.evidence,
        unverified=alert.unverified,
        because=list(alert.because),
        level=alert.level,
    )


def check_finding(check: Check, rule: str | None = None) -> Finding:
    title = CHECK_TITLES.get(check.check, check.check.replace("_", " ").capitalize())
    detail = check.detail or f"{title}: {check.status}."
    return Finding(
        indicator="info",
        summary=summary(detail, f"{title} {_STATUS_WORDS.get(check.status, check.status)}: "),
        message=detail,
        rule=rule or f"bma.checks.{check.check}",
        sources=list(check.sources),
        evidence=check.evidence,
        unverified=check.unverified,
    )


def patient_view_findings(a: Assessment) -> list[Finding]:
    """The assessment's alerts, then its pathway gaps that raised no alert."""
    out = [alert_finding(alert) for alert in a.alerts]
    alerted = {alert.rule for alert in a.alerts}
    bma = a.bma
    withheld = bma.status == "withhold"
    for check in bma.checks:
        if check.status not in ("missing", "fail", "unknown"):
            continue
        blocking = check.check in ("renal_function", "creatinine_clearance", "calcium")
        if blocking and (check.status == "fail" or withheld):
            continue  # the withhold alert says it, with this check's detail
        out.append(check_finding(check))
    for warning in bma.warnings:
        if warning.rule is not None and warning.rule not in alerted:
            out.append(
                Finding(
                    indicator="info",
                    summary=summary(warning.text),
                    message=warning.text,
                    rule=warning.rule,
                    sources=list(warning.sources),
                    evidence=warning.evidence,
                    unverified=warning.evidence in ("U", "P"),
                )
            )
    for s in bma.suggestion_details:
        out.append(
            Finding(
                indicator="info",
                summary=summary(s.text),
                message=s.text,
                rule=s.rule or "bma.suggestion",
                sources=list(s.sources),
                evidence=s.evidence,
                unverified=s.evidence in ("U", "P"),
            )
        )
    for item in a.monitoring:
        if item.status == "never":
            name = item.test.replace("_", " ").capitalize()
            text = f"{name}: none on record (advised every {item.interval_months:g} months)." + (
                f" {item.note}" if item.note else ""
            )
            out.append(
                Finding(
                    indicator="info",
                    summary=summary(text),
                    message=text,
                    rule=f"monitoring.{item.test}_never",
                    sources=list(item.sources),
                    evidence=item.evidence,
                    unverified=item.unverified,
                )
            )
    return out
