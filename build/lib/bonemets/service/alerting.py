"""The one place that decides which alerts a change to a record raises.

Every path into a record (a check-in, a form, the API, a FHIR import, the demo) ends here after it
has stored its entries and assessed the record: the assessment's alerts at `soon` or above are
compared with the alerts the team already has (core.pathway.budget); what is news opens one alert,
repeats fold into the alert they repeat, and an alert at or above the notification level is put
in the outbox in the same transaction (service/notify.py delivers it once committed).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from bonemets.adapters.storage import repository as repo
from bonemets.adapters.storage import tables as t
from bonemets.config import Settings
from bonemets.core.levels import Level
from bonemets.core.pathway import Alert, Assessment
from bonemets.core.pathway.budget import Prior, Signal, absorbed_by, signal_of
from bonemets.service import notify

ALERT_FLOOR = Level.SOON  # the triage contract: emergency, urgent and soon alert the team


@dataclass(frozen=True)
class Raised:
    alert: t.Alert | None  # the alert opened, if anything was news
    folded: list[int]  # alerts that absorbed a repeat
    notified: bool  # the opened alert is in the outbox of at least one channel


def _priors(s: Session, patient_id: str, settings: Settings, now: dt.datetime) -> list[Prior]:
    """The signals the team already has, newest alert first: open alerts of any age, and
    acknowledged ones within the fold window."""
    since = now - dt.timedelta(days=settings.alert_fold_days)
    out: list[Prior] = []
    for alert in repo.alerts_with_signals(s, patient_id, acknowledged_since=since):
        for data in alert.signals or []:
            out.append(Prior(Signal.from_json(data), alert.acknowledged_at is not None, alert.id))
    return out


def raise_alerts(
    s: Session,
    settings: Settings,
    patient: t.Patient,
    assessment: Assessment,
    *,
    kind: str,
    entry_id: int | None,
    now: dt.datetime | None = None,
    merge_into: int | None = None,
) -> Raised:
    """Open an alert for what is news in `assessment`; fold repeats into the alerts they
    repeat. `kind`: "report" (a symptom report) or "record" (any other entry).

    `merge_into`: the alert the first part of the same check-in opened (red flags are filed at
    once, the details follow): while it is open, the details' news joins it instead of opening a
    second alert; if they raise its level, it is notified again."""
    now = now or t.utcnow()
    candidates = [a for a in assessment.alerts if a.level.rank >= ALERT_FLOOR.rank]
    if not candidates:
        return Raised(None, [], False)
    priors = _priors(s, patient.id, settings, now)
    news = []
    folded: list[int] = []
    for candidate in candidates:
        signal = signal_of(candidate)
        if kind != "report":
            # No new report: its symptoms' trends were judged when their report was filed.
            signal = dataclasses.replace(signal, stable=True)
        found = absorbed_by(signal, priors)
        if found is None:
            news.append(candidate)
        elif found.alert_id is not None and found.alert_id not in folded:
            folded.append(found.alert_id)
    if folded:
        repo.note_repeats(s, folded, now)
    if not news:
        return Raised(None, folded, False)
    news.sort(key=lambda a: -a.level.rank)
    top = news[0]
    if merge_into is not None:
        merged = _merge(s, settings, patient, merge_into, news, now)
        if merged is not None:
            return Raised(merged, folded, False)
    alert = repo.add_alert(
        s,
        patient.id,
        level=top.level.value,
        headline=top.message,
        rules=list(dict.fromkeys(a.rule for a in news)),
        entry_id=entry_id,
        kind=kind,
        signals=[signal_of(a).to_json() for a in news],
        created_at=now,
    )
    notified = notify.enqueue(s, settings, patient, alert, purpose="alert")
    return Raised(alert, folded, notified)


def _merge(
    s: Session,
    settings: Settings,
    patient: t.Patient,
    alert_id: int,
    news: list[Alert],
    now: dt.datetime,
) -> t.Alert | None:
    alert = s.get(t.Alert, alert_id)
    if alert is None or alert.acknowledged_at is not None or alert.patient_id != patient.id:
        return None
    fresh = {signal_of(a).key: signal_of(a).to_json() for a in news}
    kept = [x for x in alert.signals or [] if x["key"] not in fresh]
    alert.signals = [*kept, *fresh.values()]
    alert.rules = list(dict.fromkeys([*alert.rules, *(a.rule for a in news)]))
    alert.last_seen_at = now
    top = news[0]
    raised = top.level.rank > Level(alert.level).rank
    if top.level.rank >= Level(alert.level).rank:
        alert.headline = top.message  # the details say it more fully than the first step
    if raised:
        alert.level = top.level.value
        s.flush()
        notify.enqueue(s, settings, patient, alert, purpose="raised")
    s.flush()
    return alert


def open_task(
    s: Session,
    settings: Settings,
    patient: t.Patient,
    *,
    kind: str,
    headline: str,
    entry_id: int | None = None,
    level: Level = Level.ROUTINE,
    now: dt.datetime | None = None,
) -> t.Alert:
    """A task for the team (read the patient's message, a missed check-in): an alert that the
    worklist shows and a clinician closes like any other, at a low level."""
    alert = repo.add_alert(
        s,
        patient.id,
        level=level.value,
        headline=headline,
        rules=[f"task.{kind}"],
        entry_id=entry_id,
        kind=kind,
        signals=None,
        created_at=now or t.utcnow(),
    )
    notify.enqueue(s, settings, patient, alert, purpose="alert")
    return alert
