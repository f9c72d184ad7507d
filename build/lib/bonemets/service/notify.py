"""Notifications that are true: alerts go out over real channels, and nothing claims they did
unless they will.

An alert at or above the notification level is written to the outbox (`notifications`) in the
same transaction that opens it, one row per channel and address; `deliver` sends what is pending
once the transaction has committed and records each attempt, so a failure is retried and never
lost. `sweep` runs every minute in the app (and as `bonemets notify run` for cron): it escalates
emergency and urgent alerts left open past the escalation time to the escalation address, opens a
task for each patient who has missed their weekly check-in, and retries failed deliveries.

A message carries the least a clinician needs to act (level, what the alert is about, the
patient's record number and a link); the record itself stays behind the login.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from urllib.parse import quote

from sqlalchemy.orm import Session

from bonemets.adapters.notify import EmailError, WebhookError, post_webhook, send_email
from bonemets.adapters.storage import repository as repo
from bonemets.adapters.storage import tables as t
from bonemets.adapters.storage.repository import Database
from bonemets.config import Settings
from bonemets.core.levels import Level

MAX_ATTEMPTS = 8  # then the row stays `failed` and shows on the admin's view of the outbox
RETRY_AFTER = dt.timedelta(minutes=1)  # doubled after each failed attempt
STALE_CLAIM = dt.timedelta(minutes=5)  # a claimed row not recorded by then is taken up again


@dataclass(frozen=True)
class Target:
    channel: str  # email | webhook
    address: str


def targets(settings: Settings, team: t.Team | None, purpose: str) -> list[Target]:
    """Where a team's alerts (or escalations) go: the team's own addresses, else the
    deployment's. E-mail needs an SMTP server."""
    out: list[Target] = []
    if settings.smtp_url:
        if purpose == "escalation":
            email = (team.escalation_email if team else None) or settings.escalation_email
        else:
            email = (team.alert_email if team else None) or settings.alert_email
        if email:
            out.append(Target("email", email))
    webhook = (team.webhook_url if team else None) or settings.webhook_url
    if webhook:
        out.append(Target("webhook", webhook))
    return out


def channels_configured(settings: Settings, team: t.Team | None) -> bool:
    return bool(targets(settings, team, "alert"))


def enqueue(
    s: Session, settings: Settings, patient: t.Patient, alert: t.Alert, *, purpose: str
) -> bool:
    """Put `alert` in the outbox of every channel when its level calls for it. True when at
    least one message will go out."""
    if Level(alert.level).rank < Level(settings.notify_level).rank:
        return False
    team = s.get(t.Team, patient.team_id)
    found = targets(settings, team, purpose)
    for target in found:
        repo.add_notification(s, alert.id, purpose, target.channel, target.address)
    return bool(found)


# --- Delivery --------------------------------------------------------------------------------


def _link(settings: Settings, patient_id: str) -> str:
    base = (settings.public_url or "").rstrip("/")
    path = f"/patients/{quote(patient_id, safe='')}#alerts"
    return f"{base}{path}" if base else path


def _subject(alert: t.Alert, patient: t.Patient, purpose: str) -> str:
    what = {"escalation": "ESCALATED, still open", "raised": "alert raised"}.get(
        purpose, "new alert"
    )
    who = patient.mrn or patient.id
    return f"[bonemets] {alert.level.upper()} {what}: patient {who}"


def _body(settings: Settings, alert: t.Alert, patient: t.Patient, purpose: str) -> str:
    opened = alert.created_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"Level: {alert.level}",
        f"Patient record number: {patient.mrn or patient.id}",
        f"Raised: {opened}",
        f"About: {alert.headline}",
        "",
        f"Open the record to see the details and acknowledge: {_link(settings, patient.id)}",
    ]
    if purpose == "escalation":
        lines.insert(
            0,
            f"This alert has been open for more than {settings.escalate_minutes:g} minutes "
            "without anyone acknowledging it.",
        )
    lines += ["", "bonemets supports, and does not replace, clinical judgement."]
    return "\n".join(lines)


def _payload(
    settings: Settings, alert: t.Alert, patient: t.Patient, purpose: str
) -> dict[str, object]:
    return {
        "type": {"escalation": "alert.escalated", "raised": "alert.raised"}.get(
            purpose, "alert.opened"
        ),
        "alert": {
            "id": alert.id,
            "level": alert.level,
            "kind": alert.kind,
            "about": alert.headline,
            "rules": alert.rules,
            "created_at": alert.created_at.astimezone(dt.UTC).isoformat(),
            "patient": {"id": patient.id, "mrn": patient.mrn},
            "url": _link(settings, patient.id),
        },
    }


def _send(settings: Settings, row: t.Notification, alert: t.Alert, patient: t.Patient) -> None:
    if row.channel == "email":
        send_email(
            settings.smtp_url,
            settings.mail_from,
            row.target,
            _subject(alert, patient, row.purpose),
            _body(settings, alert, patient, row.purpose),
        )
    else:
        post_webhook(
            row.target,
            settings.webhook_secret,
            f"bonemets-notification-{row.id}",
            _payload(settings, alert, patient, row.purpose),
        )


def deliver(db: Database, settings: Settings, now: dt.datetime | None = None) -> int:
    """Send every notification whose time has come. Returns the number sent.

    Each row is claimed in a short transaction (so two couriers never send it twice), sent with
    no transaction open (a slow mail server holds no lock), and its outcome recorded in another;
    a claim whose courier died is taken up again after `STALE_CLAIM`.
    """
    now = now or t.utcnow()
    sent = 0
    with db.transaction() as s:
        due = repo.due_notifications(s, now, MAX_ATTEMPTS, STALE_CLAIM)
    for notification_id in due:
        with db.transaction() as s:
            claimed = repo.claim_notification(s, notification_id, now, _backoff)
            if claimed is None:
                continue
            row, alert, patient = claimed
            s.expunge_all()  # plain values from here on: the send happens after this commits
        try:
            _send(settings, row, alert, patient)
        except (EmailError, WebhookError) as exc:
            error: str | None = str(exc)[:2000]
        else:
            error = None
        with db.transaction() as s:
            repo.record_delivery(s, notification_id, error, t.utcnow())
        sent += error is None
    return sent


def _backoff(attempts: int) -> dt.timedelta:
    return RETRY_AFTER * int(2 ** max(attempts - 1, 0))


# --- The sweep -------------------------------------------------------------------------------


def escalate(db: Database, settings: Settings, now: dt.datetime) -> int:
    """Mark emergency and urgent alerts open past the escalation time as escalated (once), and
    put them in the escalation outbox. Returns the number escalated."""
    before = now - dt.timedelta(minutes=settings.escalate_minutes)
    count = 0
    with db.transaction() as s:
        for alert in repo.alerts_to_escalate(s, before):
            alert.escalated_at = now
            patient = repo.get_patient(s, alert.patient_id)
            enqueue(s, settings, patient, alert, purpose="escalation")
            count += 1
    return count


def missed_check_ins(db: Database, settings: Settings, today: dt.date) -> int:
    """Open a task for each patient with a portal login whose last check-in (or, without one,
    their login's creation) is more than the check-in interval ago, unless one is open."""
    from bonemets.service.alerting import open_task

    limit = dt.timedelta(days=settings.check_in_days)
    count = 0
    with db.transaction() as s:
        for patient, last, since in repo.portal_patients_last_check_in(s):
            reference = last or since
            if today - reference <= limit:
                continue
            if repo.has_open_task(s, patient.id, "missed_check_in"):
                continue
            said = f"last on {last}" if last else f"none since the login was made on {since}"
            open_task(
                s,
                settings,
                patient,
                kind="missed_check_in",
                headline=f"Weekly check-in missed: {(today - reference).days} days ({said}). "
                "Contact the patient.",
            )
            count += 1
    return count


def sweep(db: Database, settings: Settings, now: dt.datetime | None = None) -> dict[str, int]:
    now = now or t.utcnow()
    return {
        "escalated": escalate(db, settings, now),
        "missed_check_ins": missed_check_ins(db, settings, settings.today()),
        "sent": deliver(db, settings, now),
    }


_COURIERS: list[Courier] = []


def wake() -> None:
    """Deliver now (after a commit that queued messages), if this process has a courier; the
    next sweep or `bonemets notify run` delivers otherwise."""
    for courier in _COURIERS:
        courier.poke()


class Courier:
    """Delivers in the background: at once after a commit (`poke`), and a sweep every
    `interval` seconds. One per app process; the outbox rows make several processes safe."""

    def __init__(self, db: Database, settings: Settings, interval: float = 60.0) -> None:
        self.db, self.settings, self.interval = db, settings, interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="bonemets-courier", daemon=True)
            self._thread.start()
            _COURIERS.append(self)

    def stop(self) -> None:
        if self in _COURIERS:
            _COURIERS.remove(self)
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def poke(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        last_sweep = 0.0
        import time

        while not self._stop.is_set():
            self._wake.wait(timeout=self.interval)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                if time.monotonic() - last_sweep >= self.interval:
                    sweep(self.db, self.settings)
                    last_sweep = time.monotonic()
                else:
                    deliver(self.db, self.settings)
            except Exception:
                import logging

                logging.getLogger("bonemets.notify").exception("notification round failed")
