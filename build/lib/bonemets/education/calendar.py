"""The patient's upcoming doses and tests as an iCalendar (RFC 5545) feed, with the `icalendar`
library. Computed from the current assessment each time, so it follows plan changes. Each item
has a UID that depends only on the patient and the item (not its date), so a calendar app that
subscribes to the feed or re-imports the file moves the event instead of adding a second one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence

from icalendar import Alarm, Calendar, Event

from bonemets.education.plan import PlanItem

PRODID = "-//bonemets//care plan calendar//EN"


def uid_for(patient_id: str, item_key: str) -> str:
    """A stable UID that does not reveal the record id."""
    digest = hashlib.sha256(f"{patient_id}\x00{item_key}".encode()).hexdigest()[:24]
    return f"{digest}@bonemets"


def calendar_ics(
    patient_id: str,
    items: Sequence[PlanItem],
    as_of: dt.date,
    *,
    name: str = "My bone care",
    base_url: str | None = None,
) -> bytes:
    """The items with a due date as all-day events, each with a reminder the day before.

    DTSTAMP is the plan date at midnight UTC, so two exports of the same plan are identical.
    """
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    stamp = dt.datetime.combine(as_of, dt.time(0, 0), tzinfo=dt.UTC)
    for item in items:
        if item.due is None:
            continue
        event = Event()
        event.add("uid", uid_for(patient_id, item.key))
        event.add("dtstamp", stamp)
        event.add("last-modified", stamp)
        event.add("dtstart", item.due)
        event.add("dtend", item.due + dt.timedelta(days=1))
        summary = item.title + (" (overdue)" if item.status == "overdue" else "")
        event.add("summary", summary)
        description = item.detail
        if base_url:
            description += f"\nMy care: {base_url.rstrip('/')}/portal"
        description += "\nIf you are worried, contact your care team."
        event.add("description", description)
        event.add("categories", ["Dose" if item.kind == "dose" else "Test"])
        event.add("transp", "TRANSPARENT")
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", f"Tomorrow: {item.title}")
        alarm.add("trigger", dt.timedelta(days=-1))
        event.add_component(alarm)
        cal.add_component(event)
    data: bytes = cal.to_ical()
    return data
