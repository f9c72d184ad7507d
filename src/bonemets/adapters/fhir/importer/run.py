"""`fhir_to_records`: group resources by patient and read each one."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from pydantic import ValidationError

from bonemets.adapters.fhir.codes import (
    tables,
)
from bonemets.adapters.fhir.importer.common import (
    HANDLED,
    ImportResult,
    Json,
    Refusal,
    Refused,
    TypeCounts,
    patient_ref,
    validation_reason,
)
from bonemets.adapters.fhir.importer.reader import PatientReader

_HANDLERS: dict[str, Callable[[PatientReader, Json], bool]] = {
    "Observation": PatientReader.observation,
    "Condition": PatientReader.condition,
    "MedicationAdministration": PatientReader.medication_administration,
    "MedicationRequest": PatientReader.medication_request,
    "MedicationStatement": PatientReader.medication_statement,
    "Procedure": PatientReader.procedure,
    "DiagnosticReport": PatientReader.diagnostic_report,
    "ImagingStudy": PatientReader.imaging_study,
    "QuestionnaireResponse": PatientReader.questionnaire_response,
}


def _validator() -> Callable[[Json], str | None]:
    """A function returning None or the reason `fhir.resources` (R4B) refuses a resource."""
    from fhir.resources.R4B import get_fhir_model_class

    def check(res: Json) -> str | None:
        try:
            model = get_fhir_model_class(res["resourceType"])
        except (KeyError, ValueError):
            return f"unknown resource type {res.get('resourceType')!r}"
        try:
            model.model_validate(res)
        except ValidationError as exc:
            return f"not valid FHIR R4B: {validation_reason(exc)}"[:2000]
        return None

    return check


def fhir_to_records(resources: Iterable[Json], *, validate: bool = False) -> ImportResult:
    """Group FHIR R4 resources by patient and read each patient's record.

    Any order of resources is accepted. `validate=True` first checks every resource with the
    `fhir.resources` R4B models (slower; strict).
    """
    result = ImportResult()
    t = tables()
    check = _validator() if validate else None
    patients: dict[str, Json] = {}
    meds: dict[str, Json] = {}
    grouped: dict[str, list[Json]] = {}
    refused: dict[str, list[Refusal]] = {}
    counts = result.counts
    refs: dict[str, str] = {}  # reference text -> patient id

    def refuse(pid: str | None, rtype: str, res: Json, reason: str) -> None:
        rid = res.get("id") if isinstance(res.get("id"), str) else None
        refusal = Refusal(pid, rtype, rid, reason)
        result.refusals.append(refusal)
        result.count(rtype).refused += 1
        if pid is not None:
            refused.setdefault(pid, []).append(refusal)

    for res in resources:
        rtype = res.get("resourceType") if isinstance(res, dict) else None
        if not isinstance(rtype, str):
            result.count("(none)").read += 1
            refuse(None, "(none)", res if isinstance(res, dict) else {}, "no resourceType")
            continue
        c = counts.get(rtype)
        if c is None:
            c = counts[rtype] = TypeCounts()
        c.read += 1
        if check is not None and (rtype in HANDLED or rtype in ("Patient", "Medication")):
            reason = check(res)
            if reason is not None:
                pid = None
                if rtype == "Patient":
                    pid = res.get("id") if isinstance(res.get("id"), str) else None
                else:
                    try:
                        pid = patient_ref(res)
                    except Refused:
                        pid = None
                refuse(pid, rtype, res, reason)
                continue
        if rtype == "Patient":
            pid = res.get("id")
            if not isinstance(pid, str):
                refuse(None, rtype, res, "Patient without an id")
                continue
            patients[pid] = res
        elif rtype == "Medication":
            if isinstance(res.get("id"), str):
                meds[res["id"]] = res
            result.count(rtype).imported += 1
        elif rtype in HANDLED:
            try:
                pid = patient_ref(res, refs)
            except Refused as exc:
                refuse(None, rtype, res, exc.reason)
                continue
            group = grouped.get(pid)
            if group is None:
                grouped[pid] = [res]
            else:
                group.append(res)
        else:
            result.count(rtype).skipped += 1

    for pid in list(dict.fromkeys([*patients, *grouped])):
        builder = PatientReader(pid, t, meds, result.notes)
        pres = patients.get(pid)
        if pres is not None:
            try:
                builder.patient(pres)
                result.count("Patient").imported += 1
            except Refused as exc:
                # The Patient resource alone is refused (demographics unknown); the rest of
                # the patient is still read.
                refuse(pid, "Patient", pres, exc.reason)
        else:
            result.notes.append(f"patient {pid}: no Patient resource; demographics unknown")
        for res in grouped.get(pid, ()):
            rtype = res["resourceType"]
            try:
                used = _HANDLERS[rtype](builder, res)
            except Refused as exc:
                refuse(pid, rtype, res, exc.reason)
                continue
            except (TypeError, AttributeError, KeyError) as exc:  # a shape we did not expect
                refuse(pid, rtype, res, f"malformed resource ({type(exc).__name__}: {exc})")
                continue
            if used:
                counts[rtype].imported += 1  # counted as read above
            else:
                counts[rtype].skipped += 1
        try:
            record = builder.build()
        except Refused as exc:
            refuse(pid, "Patient", pres or {"id": pid}, exc.reason)
            result.refused_patients[builder.record_id] = exc.reason
            continue
        except ValidationError as exc:
            reason = validation_reason(exc)
            refuse(pid, "Patient", pres or {"id": pid}, reason)
            result.refused_patients[builder.record_id] = reason
            continue
        if builder.record_id in result.records:
            reason = f"two patients share the record id {builder.record_id!r}"
            refuse(pid, "Patient", pres or {"id": pid}, reason)
            result.refused_patients[builder.record_id] = reason
            del result.records[builder.record_id]
            continue
        result.records[builder.record_id] = record
        if pid in refused:
            # Issue 22: a resource we cannot read is listed with its reason and the rest of the
            # patient is assessed (one odd unit must not take a patient off every list).
            result.partial[builder.record_id] = list(refused[pid])
    return result
