"""EHR integration use cases: the CDS Hooks replay window and card feedback, SMART launches in
progress, the mapping of EHR users to ours, and finding our patient behind an EHR's patient.

How an EHR user becomes one of ours: an administrator links the user's `fhirUser` (e.g.
`Practitioner/123`) or, for tokens without one, its `sub`, under the token's issuer, to one of our
accounts (`bonemets user link-ehr`). A token whose user is not linked is refused: nobody is
created or guessed from a token. Access to records stays the one of the linked account
(`care.may_access`), narrowed by the token's scopes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bonemets.adapters.storage import ehr as store
from bonemets.adapters.storage import repository as repo
from bonemets.adapters.storage import tables as t
from bonemets.adapters.storage.repository import Database
from bonemets.service.accounts import AccountError

# --- CDS Hooks --------------------------------------------------------------------------------


def jti_key(issuer: str, jti: str) -> str:
    return hashlib.sha256(f"{issuer}\x1f{jti}".encode()).hexdigest()


def first_use_of_token(
    db: Database, issuer: str, jti: str, keep_until: dt.datetime, now: dt.datetime
) -> bool:
    """True the first time a client JWT (issuer, jti) is seen, in any worker; False for a replay.
    The id is kept until `keep_until`, after which the token is refused for its age anyway."""
    with db.transaction() as s:
        return store.remember_jti(s, jti_key(issuer, jti), keep_until, now)


@dataclass(frozen=True)
class IssuedCard:
    uuid: str
    rule: str


def record_cards(
    db: Database,
    *,
    service: str,
    hook_instance: str,
    ehr_patient: str,
    issuer: str | None,
    cards: Sequence[IssuedCard],
) -> None:
    """Keep the cards a clinician may override, so their feedback names the rule."""
    if not cards:
        return
    rows = [
        {
            "uuid": c.uuid,
            "service": service,
            "hook_instance": hook_instance[:200],
            "rule": c.rule[:120],
            "ehr_patient": ehr_patient,
            "issuer": issuer,
            "issued_at": t.utcnow(),
        }
        for c in cards
    ]
    with db.transaction() as s:
        store.add_cards(s, rows)


@dataclass(frozen=True)
class Feedback:
    card: str
    outcome: str  # accepted | overridden
    outcome_at: dt.datetime
    accepted: tuple[str, ...] = ()
    reason_system: str | None = None
    reason_code: str | None = None
    reason_display: str | None = None
    comment: str | None = None


def store_feedback(
    db: Database, service: str, items: Sequence[Feedback], issuer: str | None
) -> dict[str, str]:
    """Store the feedback (all or nothing); returns card uuid -> the rule of the card when we
    issued it as one that can be overridden."""
    rows: list[dict[str, Any]] = [
        {
            "service": service,
            "card_uuid": f.card,
            "outcome": f.outcome,
            "accepted_suggestions": list(f.accepted),
            "reason_system": f.reason_system,
            "reason_code": f.reason_code,
            "reason_display": f.reason_display,
            "user_comment": f.comment,
            "outcome_at": f.outcome_at,
            "issuer": issuer,
            "received_at": t.utcnow(),
        }
        for f in items
    ]
    with db.transaction() as s:
        store.add_feedback(s, rows)
        known = store.cards_by_uuid(s, [f.card for f in items])
        return {uuid: card.rule for uuid, card in known.items()}


# --- EHR identities ---------------------------------------------------------------------------


def link_identity(db: Database, username: str, issuer: str, subject: str) -> t.EhrIdentity:
    """Map an EHR user (`fhirUser` or `sub` under `issuer`) to our user `username`."""
    issuer, subject = issuer.strip(), subject.strip()
    if not issuer:
        raise AccountError("issuer", "give the issuer (the token's iss)")
    if not subject:
        raise AccountError("subject", "give the fhirUser (e.g. Practitioner/123) or sub")
    with db.transaction() as s:
        user = repo.user_by_name(s, username)
        if user is None:
            raise AccountError("username", f"no user {username!r}")
        if user.role in ("patient", "carer"):
            raise AccountError("username", "EHR identities map to care-team accounts only")
        return store.link_identity(s, issuer, subject, user.id)


def user_for(db: Database, issuer: str, subjects: Sequence[str]) -> t.User | None:
    """Our active user linked to the first of `subjects` (fhirUser, then sub) under `issuer`."""
    with db.transaction() as s:
        for subject in subjects:
            user = store.user_for_identity(s, issuer, subject)
            if user is not None:
                return user if user.active else None
    return None


# --- Patients behind an EHR's identifiers -----------------------------------------------------


def patient_by_identifier(
    db: Database, identifiers: Sequence[dict[str, Any]], mrn_system: str | None
) -> str | None:
    """Our patient id behind a FHIR Patient's identifiers: its MRN in the configured system
    (`mrn_system`), or our own record-id identifier. None when no identifier matches, or when
    two identifiers name two different patients (never a guess)."""
    from bonemets.adapters.fhir.codes import ID_RECORD

    found: set[str] = set()
    with db.transaction() as s:
        for ident in identifiers:
            system, value = ident.get("system"), ident.get("value")
            if not isinstance(value, str) or not value:
                continue
            if mrn_system and system == mrn_system:
                patient = store.patient_by_mrn(s, value)
                if patient is not None:
                    found.add(patient.id)
            elif system == ID_RECORD and s.get(t.Patient, value) is not None:
                found.add(value)
    return found.pop() if len(found) == 1 else None
