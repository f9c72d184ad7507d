"""The triage engine: one report in, one explained decision out."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from pydantic import ValidationError

from bonemets.core.errors import InputError
from bonemets.core.knowledge import check_source_ids, is_unverified, load
from bonemets.core.levels import Level
from bonemets.core.triage.context import Context, build_context, describe
from bonemets.core.triage.free_text import find_symptoms, imply, quote_free_text, quotes_by_input
from bonemets.core.triage.models import Reason, TriageInput, TriageResult
from bonemets.core.triage.rules import (
    CATCH_ALL,
    FREE_TEXT,
    LABS,
    RULES,
    TRIGGERS,
    TWO_AMBERS,
    Firing,
)

UNVERIFIED_NOTE = (
    " [Based on an unverified number or a project policy: check before relying on it.]"
)


@cache
def rule_table() -> dict[str, dict[str, Any]]:
    table: dict[str, dict[str, Any]] = load("triage_rules")["rules"]
    for rule_id, entry in table.items():
        check_source_ids(entry["sources"], f"triage_rules.{rule_id}")
    return table


@cache
def level_meanings() -> dict[str, Any]:
    return load("levels")


def parse_input(data: Mapping[str, Any]) -> TriageInput:
    """Validate a triage report, turning the first problem into an InputError naming its field."""
    try:
        return TriageInput.model_validate(data)
    except ValidationError as exc:
        raise input_error(exc) from None


def input_error(exc: ValidationError) -> InputError:
    first = exc.errors()[0]
    path = ""
    for part in first.get("loc", ()):
        path += f"[{part}]" if isinstance(part, int) else ("." if path else "") + str(part)
    message = str(first.get("msg", "invalid value"))
    cause = (first.get("ctx") or {}).get("error")
    if isinstance(cause, InputError):
        path = f"{path}.{cause.field}" if path else cause.field
        message = cause.message
    elif message.startswith("Value error, "):
        message = message.removeprefix("Value error, ")
    return InputError(path or "input", message)


@cache
def rules_for(triggers: frozenset[str]) -> tuple[str, ...]:
    """The rules that can fire for a report holding `triggers`, in rule-table order."""
    return tuple(rule_id for rule_id in RULES if TRIGGERS[rule_id] & triggers)


@cache
def _rule_static(rule_id: str) -> tuple[Level | None, str, str, tuple[str, ...]]:
    """The parts of a rule's reason that do not depend on the report."""
    entry = rule_table()[rule_id]
    level = Level(entry["level"]) if "level" in entry else None
    return level, entry["explanation"], entry["evidence"], tuple(entry["sources"])


def _reason(rule_id: str, firing: Firing) -> Reason:
    level, explanation, evidence, static_sources = _rule_static(rule_id)
    level = firing.level or level
    assert level is not None, f"{rule_id} fired without a level"
    if firing.note:
        explanation += " " + firing.note
    if firing.evidence is not None and is_unverified(firing.evidence):
        evidence = firing.evidence
    sources = list(static_sources)
    sources += [s for s in firing.extra_sources if s not in sources]
    unverified = is_unverified(evidence)
    if unverified:
        explanation += UNVERIFIED_NOTE
    return Reason(
        rule=rule_id,
        level=level,
        because=firing.because,
        explanation=explanation,
        sources=sources,
        evidence=evidence,  # type: ignore[arg-type]
        unverified=unverified,
        symptoms=sorted(firing.explains),
        patient_why=rule_table()[rule_id].get("patient_why", ""),
    )


def triage_json(raw: bytes | str) -> TriageResult:
    """Triage a report given as JSON text (parsed and validated in one pass)."""
    try:
        report = TriageInput.model_validate_json(raw)
    except ValidationError as exc:
        raise input_error(exc) from None
    return triage(report)


def triage(data: TriageInput | Mapping[str, Any]) -> TriageResult:
    """Triage one symptom report. Raises InputError (naming the field) on bad input."""
    report = data if isinstance(data, TriageInput) else parse_input(data)
    ctx = build_context(report)
    # Symptoms the free text names join the reported ones and meet the same rules; each reason
    # then quotes the words it came from.
    implied, findings = imply(find_symptoms(report.free_text or ""), report.symptoms)
    for item in implied:
        ctx.present.setdefault(item.symptom.code, []).append(item.symptom)
    quotes = quotes_by_input(implied, findings, report.symptoms) if findings else {}

    reasons: list[Reason] = []
    explained: set[str] = set()
    for rule_id in rules_for(frozenset(ctx.present) | ({LABS} if report.labs else frozenset())):
        firing = RULES[rule_id](ctx)
        if firing is not None:
            if quotes:
                firing.because = quote_free_text(firing.because, quotes)
            reasons.append(_reason(rule_id, firing))
            explained |= firing.explains
    unexplained = [s for code, group in ctx.present.items() if code not in explained for s in group]
    if unexplained:
        because = [describe(s) for s in unexplained]
        if quotes:
            because = quote_free_text(because, quotes)
        worst = max(s.severity for s in unexplained)
        reasons.append(
            _reason(
                CATCH_ALL,
                Firing(
                    because=because,
                    explains={s.code for s in unexplained},
                    level=_catch_all_level(worst),
                ),
            )
        )
    two = _two_ambers(reasons, ctx) if ctx.sact_possible else None
    if two is not None:
        reasons.append(_reason(TWO_AMBERS, Firing(because=[*two, ctx.sact_words()])))
    if report.free_text and report.free_text.strip():
        reasons.append(_reason(FREE_TEXT, Firing(because=["free_text given"])))

    # Most urgent first; the order of the rule table breaks ties.
    reasons.sort(key=lambda r: -r.level.rank)
    level = reasons[0].level if reasons else Level.ROUTINE
    return TriageResult(
        level=level,
        headline=_headline(reasons, level),
        reasons=reasons,
        advice=_advice(reasons, level),
        clinician_alert=level.alerts_care_team,
        free_text=report.free_text,
        patient_action=_meaning(level, "patient"),
        care_team_action=_meaning(level, "care_team"),
        lab_findings=ctx.findings,
        caveats=ctx.caveats,
        free_text_findings=findings,
    )


@cache
def _catch_all_levels() -> dict[int, Level]:
    by_severity: dict[str, str] = rule_table()[CATCH_ALL]["levels_by_severity"]
    return {int(k): Level(v) for k, v in by_severity.items()}


def _catch_all_level(severity: int) -> Level:
    """The catch-all by severity: a severe symptom no rule names is not left for the next visit."""
    return _catch_all_levels()[min(max(severity, 1), 4)]


@cache
def _ukons_category(rule_id: str) -> str | None:
    category: str | None = rule_table()[rule_id].get("ukons")
    return category


def _two_ambers(reasons: list[Reason], ctx: Context) -> list[str] | None:
    """UKONS: two or more Ambers (in different categories) in one call count as Red. Returns what
    fired it. Only today's symptoms count: a red flag carried open from an earlier report keeps
    its own level but does not make a new call Red (it was triaged on its day)."""
    ambers: dict[str, Reason] = {}
    for reason in reasons:
        category = _ukons_category(reason.rule)
        today = any(s.reported_on is None for code in reason.symptoms for s in ctx.get(code))
        if category is not None and reason.level is Level.URGENT and today:
            ambers.setdefault(category, reason)
    if len(ambers) < 2:
        return None
    return [f"UKONS Amber in {cat}: {reason.rule}" for cat, reason in ambers.items()]


def _meaning(level: Level, who: str) -> str:
    text: str = level_meanings()[level.value][who]
    if level is Level.EMERGENCY and who == "patient":
        text = text.rstrip(".") + f" ({level_meanings()['emergency_numbers']})."
    return text


def _headline(reasons: list[Reason], level: Level) -> str:
    if not reasons:
        return "Nothing was reported. Mention anything new at your next appointment."
    entry = rule_table()[reasons[0].rule]
    by_level: dict[str, str] = entry.get("headlines_by_level", {})
    headline: str = by_level.get(level.value, entry["headline"])
    return headline


def rule_advice(rule_id: str, level: Level | None = None) -> list[str]:
    """What rule `rule_id` tells the patient to do when it decides `level` (its own level when
    None): the one wording that triage, articles, care plans and the portal all show."""
    entry = rule_table()[rule_id]
    if level is not None and level.value in entry.get("advice_by_level", {}):
        return list(entry["advice_by_level"][level.value])
    return list(entry.get("advice", []))


def rule_level(rule_id: str) -> Level:
    """The level rule `rule_id` sets by itself (its minimum; lab rules: their lowest grade's)."""
    entry = rule_table()[rule_id]
    if "level" in entry:
        return Level(entry["level"])
    return min((Level(v) for v in entry["levels_by_grade"].values()), key=lambda lv: lv.rank)


def _advice(reasons: list[Reason], level: Level) -> list[str]:
    """What to do now (from the rules at the deciding level), then self-help tips of all rules."""
    out: list[str] = []
    for reason in reasons:
        entry = rule_table()[reason.rule]
        lines = list(entry.get("tips", []))
        if reason.level is level:
            lines = rule_advice(reason.rule, level) + lines
        for line in lines:
            if line not in out:
                out.append(line)
    return out
