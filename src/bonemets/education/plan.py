"""What a patient's printed care plan and calendar hold, computed from the current assessment:
the schedule of doses and tests, the red flags with what to do, the team's contact numbers and the
current supplements. Pure: the caller passes the record and its assessment.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from typing import Any, Literal

from bonemets.core.knowledge import load
from bonemets.core.nutrition import daily_intake
from bonemets.core.pathway.models import Assessment
from bonemets.core.record import Record
from bonemets.education.patient_words import ENGLISH, N_, Wording

ItemKind = Literal["dose", "test"]

# English, as msgids (N_): said in the reader's language with Wording.tr.
TEST_WORDS = {
    "imaging": (
        N_("Scan"),
        N_("A scan (such as CT or a bone scan) to see how the cancer in the bones is."),
    ),
    "tumour_markers": (N_("Tumour marker blood test"), N_("A blood test for tumour markers.")),
    "blood_chemistry": (
        N_("Blood test: calcium and bone chemistry"),
        N_("A blood test for calcium and alkaline phosphatase (and usually the kidneys)."),
    ),
}
AGENT_WORDS = {
    "zoledronic_acid": "zoledronic acid (Zometa)",
    "pamidronate": "pamidronate (Aredia)",
    "ibandronate": "ibandronic acid (Bondronat)",
    "clodronate": "clodronate (Bonefos)",
    "denosumab": "denosumab (Xgeva)",
}
ROUTE_WORDS = {
    "iv": N_("drip into a vein"), "sc": N_("injection under the skin"), "oral": N_("tablet")
}  # fmt: skip
CHECK_BEFORE = {
    "zoledronic_acid": N_("You need a kidney blood test before each dose."),
    "pamidronate": N_("You need a kidney blood test before each dose."),
    "ibandronate": N_("Your team checks your kidneys and calcium with blood tests."),
    "clodronate": N_("Your team checks your kidneys and calcium with blood tests."),
    "denosumab": N_("Your team checks your calcium with blood tests."),
}
HELD = ("withhold", "overdue", "stopped", "not_indicated")  # no repeating dates for these
NO_CONTACTS = N_(
    "No care team contact numbers are set up in this app. Ask your team for their numbers and "
    "write them here."
)


@dataclass(frozen=True)
class PlanItem:
    """One dose or test on the schedule. `key` is stable for the same item across plan changes
    (the calendar's UID is made from it)."""

    key: str
    kind: ItemKind
    title: str
    due: dt.date | None
    status: str
    detail: str
    last: dt.date | None = None
    # How often it repeats while the plan holds (the calendar repeats the event): a dose every
    # so many weeks, a test every so many months. None when it should not repeat (a dose on
    # hold or overdue: the next date is the team's to set).
    every_weeks: float | None = None
    every_months: float | None = None


@dataclass(frozen=True)
class RedFlag:
    rule: str
    level: str
    headline: str
    action: str
    article: str | None = None


@dataclass(frozen=True)
class Contact:
    label: str
    number: str


@dataclass(frozen=True)
class SupplementLine:
    what: str
    amount: str
    since: dt.date


@dataclass
class CarePlan:
    patient_id: str
    display_name: str
    as_of: dt.date
    schedule: list[PlanItem]
    emergency_flags: list[RedFlag]
    urgent_flags: list[RedFlag]
    contacts: list[Contact]
    emergency_numbers: str
    supplements: list[SupplementLine]
    supplement_advice: list[str]
    lesions: list[Any] = field(default_factory=list)  # LesionResult, for the skeleton map
    notes: list[str] = field(default_factory=list)


# --- Schedule -----------------------------------------------------------------------------------


def schedule(assessment: Assessment, words: Wording = ENGLISH) -> list[PlanItem]:
    """The next dose of the bone-modifying agent and the next due date of each monitoring test."""
    items: list[PlanItem] = []
    bma = assessment.bma
    if bma.agent is not None and bma.status not in ("stopped", "not_indicated"):
        name = words.tr(AGENT_WORDS.get(bma.agent, bma.agent.replace("_", " ")))
        how = words.tr(ROUTE_WORDS.get(bma.route or "", ""))
        title = words._("Bone-strengthening treatment: %(name)s") % {"name": name}
        parts = [
            words._("%(title)s, %(how)s.") % {"title": title, "how": how} if how else f"{title}."
        ]
        if bma.interval_weeks:
            parts.append(
                words._("Given every %(weeks)s weeks.") % {"weeks": f"{bma.interval_weeks:g}"}
            )
        parts.append(words.tr(CHECK_BEFORE.get(bma.agent, "")))
        if bma.status == "withhold":
            parts.append(
                words._(
                    "Your team needs to check something before this dose; they will contact you."
                )
            )
        elif bma.status == "overdue":
            parts.append(words._("This dose is overdue: contact your care team to book it."))
        items.append(
            PlanItem(
                key=f"bma-{bma.agent}",
                kind="dose",
                title=title,
                due=bma.next_due,
                status=bma.status,
                detail=" ".join(p for p in parts if p),
                last=bma.last_dose,
                every_weeks=bma.interval_weeks if bma.status not in HELD else None,
            )
        )
    for m in assessment.monitoring:
        title, what = TEST_WORDS.get(m.test, (m.test.replace("_", " ").capitalize(), ""))
        title, what = words.tr(title), words.tr(what)
        every = words._("Usually every %(months)s months.") % {"months": f"{m.interval_months:g}"}
        parts = [what, every]
        if m.status == "overdue":
            parts.append(words._("This test is overdue: ask your care team to book it."))
        if m.due is None:
            parts.append(words._("Not yet booked: ask your care team when it is due."))
        items.append(
            PlanItem(
                key=f"test-{m.test}",
                kind="test",
                title=title,
                due=m.due,
                status=m.status,
                detail=" ".join(p for p in parts if p),
                last=m.last,
                every_months=m.interval_months if m.status not in HELD else None,
            )
        )
    items.sort(key=lambda i: (i.due is None, i.due or dt.date.max, i.key))
    return items


# --- Red flags ----------------------------------------------------------------------------------


def red_flags(words: Wording = ENGLISH) -> tuple[list[RedFlag], list[RedFlag]]:
    """The symptom red flags of the triage rules: (emergency, urgent), each with what to do.
    Rules graded on a lab result (levels_by_grade) are for the team and are left out."""
    from bonemets.education.library import article_for_rule

    rules: dict[str, dict[str, Any]] = load("triage_rules")["rules"]
    out: dict[str, list[RedFlag]] = {"emergency": [], "urgent": []}
    for rule_id, spec in rules.items():
        level = spec.get("level")
        if level not in out:
            continue
        found = article_for_rule(rule_id)
        advice = [str(a) for a in spec.get("advice", [])]
        if level == "emergency":  # the heading already says to call the emergency number
            advice = [a for a in advice if not a.startswith("Call the emergency number")] or advice
        out[level].append(
            RedFlag(
                rule=rule_id,
                level=level,
                headline=words.tr(str(spec["headline"])),
                action=" ".join(words.tr(a) for a in advice),
                article=found.id if found else None,
            )
        )
    return out["emergency"], out["urgent"]


# --- Contacts -----------------------------------------------------------------------------------


def parse_contacts(text: str | None) -> list[Contact]:
    """Contacts from a setting: one per line or separated by ';', each "Label: number"."""
    out: list[Contact] = []
    for raw in (text or "").replace(";", "\n").splitlines():
        line = raw.strip()
        if not line:
            continue
        label, sep, number = line.partition(":")
        out.append(Contact(label.strip(), number.strip()) if sep else Contact("Care team", line))
    return out


def team_contacts_setting(settings: object, stored: str | None = None) -> str:
    """The team's contact numbers: ``Settings.team_contacts`` when the deployment has that
    field, else the database setting ``team_contacts`` (`stored`), else the environment
    variable BONEMETS_TEAM_CONTACTS. Empty when none is configured."""
    value = getattr(settings, "team_contacts", None)
    if isinstance(value, str) and value.strip():
        return value
    if stored and stored.strip():
        return stored
    return os.environ.get("BONEMETS_TEAM_CONTACTS", "")


# --- Supplements --------------------------------------------------------------------------------


def current_supplements(
    record: Record, as_of: dt.date, words: Wording = ENGLISH
) -> list[SupplementLine]:
    """The latest report of each supplement kind, if the patient is taking it on `as_of`."""
    latest: dict[str, Any] = {}
    for s in sorted(record.supplements, key=lambda s: s.date):
        if s.date <= as_of:
            latest[s.kind] = s
    out: list[SupplementLine] = []
    for kind, s in sorted(latest.items()):
        if s.active is False or (s.stopped is not None and s.stopped <= as_of):
            continue
        what = words._("Calcium") if kind == "calcium" else words._("Vitamin D")
        amount = (
            words._("%(amount)s %(unit)s a day") % {"amount": f"{s.daily_amount:g}", "unit": s.unit}
            if s.daily_amount is not None
            else words._("amount not recorded")
        )
        out.append(SupplementLine(what=what, amount=amount, since=s.date))
    return out


def supplement_advice(assessment: Assessment, words: Wording = ENGLISH) -> list[str]:
    out: list[str] = []
    age, sex = assessment.patient.age, assessment.patient.sex
    if age is not None and 19 <= age <= 120:
        intake = daily_intake(age, sex)
        target = words._(
            "Daily target from food and supplements together (age %(band)s): %(calcium)s mg "
            "calcium and %(vitamin_d)s IU vitamin D."
        )
        out.append(
            target
            % {
                "band": intake.age_band,
                "calcium": f"{intake.calcium_mg:,}",
                "vitamin_d": intake.vitamin_d_iu,
            }
        )
        agent = (assessment.bma.agent or "").replace("_", " ")
        if agent in intake.drug_supplement.agents and assessment.bma.status not in (
            "stopped",
            "not_indicated",
        ):
            s = intake.drug_supplement
            with_agent = words._(
                "With your bone-strengthening treatment: at least %(calcium)s mg calcium and "
                "%(vitamin_d)s IU vitamin D a day as a supplement, unless your calcium is high."
            )
            out.append(with_agent % {"calcium": s.calcium_mg, "vitamin_d": s.vitamin_d_iu})
    out.append(
        words._(
            "If your blood calcium is high, do not take calcium supplements until your team says."
        )
    )
    return out


# --- The plan -----------------------------------------------------------------------------------


def build_care_plan(
    *,
    patient_id: str,
    display_name: str,
    record: Record,
    assessment: Assessment,
    contacts_text: str | None,
    words: Wording = ENGLISH,
) -> CarePlan:
    """The plan, said in `words`' language (English by default)."""
    emergency, urgent = red_flags(words)
    numbers = words.tr(str(load("levels")["emergency_numbers"]))
    notes = [
        words._(
            "This plan is made from your record on the date above. It changes when your "
            "treatment changes: print a new copy after each visit."
        ),
        words._(
            "It supports, and does not replace, the advice of your care team. If you are "
            "worried, contact them whatever this says."
        ),
    ]
    return CarePlan(
        patient_id=patient_id,
        display_name=display_name,
        as_of=assessment.as_of,
        schedule=schedule(assessment, words),
        emergency_flags=emergency,
        urgent_flags=urgent,
        contacts=parse_contacts(contacts_text),
        emergency_numbers=numbers,
        supplements=current_supplements(record, assessment.as_of, words),
        supplement_advice=supplement_advice(assessment, words),
        lesions=list(assessment.lesions),
        notes=notes,
    )
