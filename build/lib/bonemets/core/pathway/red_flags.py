"""Red flags stay part of the patient's picture until they are closed.

A symptom that made an earlier report urgent or emergency is carried into today's triage until the
patient says it has gone (a later report gives it with severity 0, "none"), a clinician records it
resolved (a `SymptomResolution`), or a later report gives it again (that report then speaks for
it). A check-in that does not mention it, or a report too old to be read as today's, does not
close it: silence is not "gone".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from bonemets.core.levels import Level
from bonemets.core.record import Record, SymptomReport
from bonemets.core.triage import TriageResult
from bonemets.core.triage.free_text import find_symptoms, imply
from bonemets.core.triage.models import Symptom

Key = tuple[str, str | None]  # (code, site)


def _key(symptom: Symptom) -> Key:
    return symptom.code, symptom.site


def report_symptoms(report: SymptomReport) -> list[Symptom]:
    """What a report says is there: the symptoms ticked, and those its free text names (read as
    triage reads them), so a red flag written rather than ticked is carried like any other."""
    if not report.free_text or not report.free_text.strip():
        return list(report.symptoms)
    implied, _findings = imply(find_symptoms(report.free_text), report.symptoms)
    return [*report.symptoms, *(item.symptom for item in implied)]


def _covers(old: Key, new: Key) -> bool:
    return old[0] == new[0] and (old[1] == new[1] or old[1] is None or new[1] is None)


def _resolved_after(record: Record, key: Key, day: dt.date) -> bool:
    code, site = key
    return any(
        r.code == code and (r.site is None or r.site == site) and r.date >= day
        for r in record.symptom_resolutions
    )


def open_red_flags(
    record: Record,
    current: int | None,
    triage_of: Callable[[SymptomReport], TriageResult],
) -> list[Symptom]:
    """The red-flag symptoms of earlier reports still open, each with `reported_on` set.

    `record` is cut to the day of the assessment; `current` is the index of the report read as
    today's (its own symptoms are already in today's triage), if any. `triage_of` triages an
    earlier report as it stood on its day (its reasons say which symptoms they account for).
    """
    order = sorted(range(len(record.symptom_reports)), key=lambda i: record.symptom_reports[i].date)
    said = {i: report_symptoms(record.symptom_reports[i]) for i in order}
    latest: dict[Key, int] = {}  # each symptom's latest mention, by report index
    for i in order:
        for symptom in said[i]:
            # A mention speaks for the same site, and a mention with no site given for every
            # site of the symptom (and is spoken for by any later mention of it).
            for key in [k for k in latest if _covers(k, _key(symptom))]:
                del latest[key]
            latest[_key(symptom)] = i
    # Today's report speaks for what it mentions; severity 0 is the patient saying "gone".
    candidates: dict[int, list[Key]] = {}
    for key, i in latest.items():
        report = record.symptom_reports[i]
        mention = next(s for s in reversed(said[i]) if _key(s) == key)
        if i == current or mention.severity == 0 or _resolved_after(record, key, report.date):
            continue
        candidates.setdefault(i, []).append(key)
    out: list[Symptom] = []
    for i in sorted(candidates, key=lambda i: record.symptom_reports[i].date):
        report = record.symptom_reports[i]
        result = triage_of(report)
        flagged = {
            code
            for reason in result.reasons
            if reason.level.rank >= Level.URGENT.rank
            for code in reason.symptoms
        }
        keys = set(candidates[i])
        for symptom in said[i]:
            if _key(symptom) in keys and symptom.code in flagged:
                keys.discard(_key(symptom))
                out.append(symptom.model_copy(update={"reported_on": report.date}))
    return out
