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

from bonemets.education.patient_words import ENGLISH, Wording
from bonemets.education.plan import PlanItem

PRODID = "-//bonemets//care plan calendar//EN"


def uid_for(patient_id: str, item_key: str) -> str:
    """A stable UID that does not reveal the record id."""
    digest = hashlib.sha256(f"{patient_id}\x00{item_key}".encode()).hexdigest()[:24]
    return f"{digest}@bonemets"


REPEAT_COUNT = 12  # repeats shown ahead; the feed is rebuilt on every fetch, so it moves on
CHECK_IN_TIME = dt.time(10, 0)  # the weekly reminder, in the calendar's own (floating) time


def _repeat(item: PlanItem) -> dict[str, object] | None:
    """RRULE for an item that repeats in whole weeks or months (a fraction is not repeated: the
    next date would be a guess)."""
    if item.every_weeks and float(item.every_weeks).is_integer():
        return {"freq": "weekly", "interval": int(item.every_weeks), "count": REPEAT_COUNT}
    if item.every_months and float(item.every_months).is_integer():
        return {"freq": "monthly", "interval": int(item.every_months), "count": REPEAT_COUNT}
    return None


def next_check_in(as_of: dt.date, last_check_in: dt.date | None) -> dt.date:
    """The first weekly check-in reminder: a week after the last check-in (on the same weekday
    from then on), or the next Monday when there has been none. Stable from day to day, so a
    subscribed calendar does not see it move."""
    if last_check_in is None:
        return as_of + dt.timedelta(days=(7 - as_of.weekday()) % 7 or 7)
    first = last_check_in + dt.timedelta(days=7)
    while first < as_of:
        first += dt.timedelta(days=7)
    return first


def calendar_ics(
    patient_id: str,
    items: Sequence[PlanItem],
    as_of: dt.date,
    *,
    name: str | None = None,
    base_url: str | None = None,
    check_ins_from: dt.date | None = None,
    words: Wording = ENGLISH,
) -> bytes:
    """The items with a due date as all-day events, each with a reminder the day before; doses
    and tests repeat at their interval while the plan holds; with `check_ins_from`, a weekly
    check-in reminder from that date.

    DTSTAMP is the plan date at midnight UTC, so two exports of the same plan are identical.
    """
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name or words._("My bone care"))
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
        summary = item.title
        if item.status == "overdue":
            summary = words._("%(title)s (overdue)") % {"title": item.title}
        event.add("summary", summary)
        description = item.detail
        if base_url:
            portal = f"{base_url.rstrip('/')}/portal"
            description += "\n" + words._("My care: %(url)s") % {"url": portal}
        description += "\n" + words._("If you are worried, contact your care team.")
        event.add("description", description)
        event.add("categories", [words._("Dose") if item.kind == "dose" else words._("Test")])
        event.add("transp", "TRANSPARENT")
        repeat = _repeat(item) if item.status != "overdue" else None
        if repeat is not None:
            event.add("rrule", repeat)
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", words._("Tomorrow: %(title)s") % {"title": item.title})
        alarm.add("trigger", dt.timedelta(days=-1))
        event.add_component(alarm)
        cal.add_component(event)
    if check_ins_from is not None:
        cal.add_component(_check_in_event(patient_id, check_ins_from, stamp, base_url, words))
    data: bytes = cal.to_ical()
    return data


def _check_in_event(
    patient_id: str, first: dt.date, stamp: dt.datetime, base_url: str | None, words: Wording
) -> Event:
    event = Event()
    event.add("uid", uid_for(patient_id, "weekly-check-in"))
    event.add("dtstamp", stamp)
    event.add("last-modified", stamp)
    start = dt.datetime.combine(first, CHECK_IN_TIME)  # floating: the phone's own time zone
    event.add("dtstart", start)
    event.add("dtend", start + dt.timedelta(minutes=15))
    event.add("rrule", {"freq": "weekly"})
    event.add("summary", words._("Weekly check-in: tell your care team how you are"))
    description = words._("It takes about two minutes.")
    if base_url:
        link = f"{base_url.rstrip('/')}/portal/check-in"
        description += "\n" + words._("Check in: %(url)s") % {"url": link}
    description += "\n" + words._(
        "If you think it is an emergency, do not wait: call the emergency number."
    )
    event.add("description", description)
    event.add("categories", [words._("Check-in")])
    event.add("transp", "TRANSPARENT")
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", words._("Time for your weekly check-in"))
    alarm.add("trigger", dt.timedelta(0))
    event.add_component(alarm)
    return event
