"""The patient's weekly check-in, in two steps that lose nothing.

Step 1 (what is there now, and the red flags still open from before: "last time you told us X:
is it still there?") is kept as a draft, so a patient who leaves and comes back finds their
answers. When what was ticked already calls for the care team (soon, urgent or emergency, at the
contract's default severity), it is filed at once as a report: the patient sees what to do
straight away and the team is alerted even if the details are never given. Step 2 files the whole
report; its alert joins the first step's instead of opening a second one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bonemets.adapters.storage import repository as repo
from bonemets.adapters.storage import tables as t
from bonemets.adapters.storage.repository import Database
from bonemets.config import Settings
from bonemets.core.pathway import assess_with_triage
from bonemets.core.pathway.models import AlertSymptom
from bonemets.core.triage.models import symptom_catalogue
from bonemets.service import care, filing

Key = tuple[str, str | None]


@dataclass(frozen=True)
class Draft:
    chosen: list[Key]  # symptoms ticked (or still there), with their site when known
    gone: list[Key]  # open red flags the patient says have gone
    entry_id: int | None  # the report filed from step 1, if it already called for the team


@dataclass(frozen=True)
class Started:
    draft: Draft
    filed: filing.Filed | None  # step 1 filed at once (it already called for the team)


def _key(text: str) -> Key | None:
    code, _, site = text.partition(":")
    entry = symptom_catalogue().get(code)
    if entry is None or (site and site not in entry["sites"]):
        return None
    return code, site or None


def key_text(key: Key) -> str:
    return f"{key[0]}:{key[1] or ''}"


def open_red_flags(
    db: Database, settings: Settings, user: t.User, patient_id: str
) -> list[AlertSymptom]:
    """The red-flag symptoms still open on the patient's record (to ask about at step 1)."""
    return care.red_flags(care.cached_assessment(db, settings, user, patient_id))


def draft(db: Database, user: t.User, patient_id: str) -> Draft | None:
    with db.transaction() as s:
        care.authorize(db, s, user, patient_id, "read check-in draft")
        row = s.get(t.CheckInDraft, patient_id)
        if row is None:
            return None
        return _from_json(row.data, row.entry_id)


def _from_json(data: dict[str, Any], entry_id: int | None) -> Draft:
    def keys(name: str) -> list[Key]:
        return [k for k in (_key(str(x)) for x in data.get(name, [])) if k is not None]

    return Draft(keys("chosen"), keys("gone"), entry_id)


def _symptoms(draft: Draft) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for code, site in draft.chosen:
        item: dict[str, Any] = {"code": code}
        if site:
            item["site"] = site
        out.append(item)
    for code, site in draft.gone:
        item = {"code": code, "severity": 0}
        if site:
            item["site"] = site
        out.append(item)
    return out


def start(
    db: Database,
    settings: Settings,
    user: t.User,
    patient_id: str,
    chosen: list[str],
    gone: list[str],
) -> Started:
    """Step 1: keep the answers as a draft; file them at once when they already call for the
    team (nothing the patient ticked waits for step 2)."""
    picked = Draft(
        chosen=list(dict.fromkeys(k for k in map(_key, chosen) if k is not None)),
        gone=list(dict.fromkeys(k for k in map(_key, gone) if k is not None)),
        entry_id=None,
    )
    data = {"symptoms": _symptoms(picked)}
    filed = None
    if picked.chosen and _calls_for_team(db, settings, user, patient_id, data):
        filed = filing.submit_report(db, settings, user, patient_id, data, origin="portal")
        picked = Draft(picked.chosen, picked.gone, filed.entry_ids[-1])
    with db.transaction() as s:
        care.authorize(db, s, user, patient_id, "write check-in draft")
        row = s.get(t.CheckInDraft, patient_id)
        payload = {
            "chosen": [key_text(k) for k in picked.chosen],
            "gone": [key_text(k) for k in picked.gone],
        }
        if row is None:
            s.add(
                t.CheckInDraft(
                    patient_id=patient_id,
                    data=payload,
                    entry_id=picked.entry_id,
                    updated_at=t.utcnow(),
                )
            )
        else:
            row.data, row.entry_id, row.updated_at = payload, picked.entry_id, t.utcnow()
    return Started(picked, filed)


def _calls_for_team(
    db: Database, settings: Settings, user: t.User, patient_id: str, data: dict[str, Any]
) -> bool:
    """Whether these symptoms, as a report today, would themselves alert the team: a rule at
    `soon` or above accounts for one of them (nothing is stored; what the record already
    alerts about, such as an old lab, does not count)."""
    _labs, report = filing.report_models(settings, user, data)
    with db.transaction() as s:
        patient, key = care.authorize_record(db, s, user, patient_id, "read check-in preview")
        record = repo.cached_record(s, db.records, patient, key).record
    tentative = record.model_copy(update={"symptom_reports": [*record.symptom_reports, report]})
    result = assess_with_triage(tentative, settings.today())[1]
    ticked = {symptom.code for symptom in report.symptoms if symptom.severity > 0}
    return any(
        reason.level.alerts_care_team and ticked & set(reason.symptoms) for reason in result.reasons
    )


def finish(
    db: Database, settings: Settings, user: t.User, patient_id: str, data: dict[str, Any]
) -> filing.Filed:
    """Step 2: file the whole report (the open red flags the patient said have gone included);
    its alert joins step 1's while that one is open. The draft is cleared."""
    current = draft(db, user, patient_id)
    merge_into = None
    if current is not None:
        symptoms = list(data.get("symptoms") or [])
        given = {(x.get("code"), x.get("site")) for x in symptoms if isinstance(x, dict)}
        for code, site in current.gone:
            if (code, site) not in given:
                symptoms.append({"code": code, "severity": 0, **({"site": site} if site else {})})
        data = {**data, "symptoms": symptoms}
        if current.entry_id is not None:
            with db.transaction() as s:
                opened = repo.alert_for_entry(s, current.entry_id)
                merge_into = opened.id if opened is not None else None
    filed = filing.submit_report(
        db, settings, user, patient_id, data, origin="portal", merge_into=merge_into
    )
    with db.transaction() as s:
        row = s.get(t.CheckInDraft, patient_id)
        if row is not None:
            s.delete(row)
    return filed
