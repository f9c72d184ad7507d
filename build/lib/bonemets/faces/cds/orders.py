"""order-sign: a draft order of a bone-modifying agent checked against the patient's record.

The draft MedicationRequest is read here (agent, dose, route, interval) and checked by the core's
`check_proposed` (`core/pathway/orders.py`), the same function the app runs when a clinician
records a dose: the dose for the kidney function, the kidney withhold rule, calcium, the dental
exam and the schedule are the core's answers, never computed here. This module turns the findings
into card findings, with the order corrected (or removed) as suggestions.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bonemets.core.pathway import bma as bma_rules
from bonemets.core.pathway.orders import ProposedDose, check_proposed
from bonemets.core.record import Agent, Record, Route
from bonemets.faces.cds import fhir_bridge
from bonemets.faces.cds.cards import Finding, summary
from bonemets.faces.cds.models import Action
from bonemets.faces.cds.models import Suggestion as CdsSuggestion

_WEEKS = {"wk": 1.0, "d": 1 / 7, "mo": 52 / 12}


class OrderError(ValueError):
    """A draft order that cannot be read (answered with 422, naming the field)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class DraftBma:
    """A draft MedicationRequest for a bone-modifying agent, as ordered."""

    resource: dict[str, Any]
    reference: str  # "MedicationRequest/<id>", or where it sits in draftOrders
    agent: Agent
    route: Route | None
    dose: float | None
    unit: str | None
    interval_weeks: float | None
    dose_path: tuple[str | int, ...] | None  # where the dose quantity sits, to correct it

    @property
    def label(self) -> str:
        return bma_rules.label(self.agent)


def _medication_concept(resource: Mapping[str, Any], medications: Mapping[str, Any]) -> Any:
    """The medication a request names: its CodeableConcept, or the code of the Medication its
    `medicationReference` points to (contained, held in the same Bundle, or fetched: keyed by id
    in `medications`), else the reference's display."""
    concept = resource.get("medicationCodeableConcept")
    if concept is not None:
        return concept
    ref = resource.get("medicationReference")
    if isinstance(ref, Mapping) and isinstance(ref.get("reference"), str):
        reference: str = ref["reference"]
        if reference.startswith("#"):
            for contained in resource.get("contained") or []:
                if isinstance(contained, Mapping) and contained.get("id") == reference[1:]:
                    return contained.get("code")
        else:
            med = medications.get(medication_id(reference))
            if isinstance(med, Mapping) and med.get("code") is not None:
                return med.get("code")
        return {"text": ref.get("display")} if ref.get("display") else None
    return None


def medication_id(reference: str) -> str:
    """The Medication id of a reference (`Medication/x`, a full URL or `urn:uuid:x`)."""
    return reference.rstrip("/").rpartition("/")[2].removeprefix("urn:uuid:")


def unread_medications(
    resources: list[dict[str, Any]], medications: Mapping[str, Any]
) -> dict[str, str]:
    """Draft MedicationRequests whose medication cannot be read at all: `Type/id` (or where it
    sits) -> the Medication reference to read."""
    out: dict[str, str] = {}
    for i, resource in enumerate(resources):
        if resource.get("resourceType") != "MedicationRequest":
            continue
        if _medication_concept(resource, medications) is not None:
            continue
        ref = resource.get("medicationReference")
        reference = ref.get("reference") if isinstance(ref, Mapping) else None
        rid = resource.get("id")
        where = f"MedicationRequest/{rid}" if rid else f"context.draftOrders.entry[{i}].resource"
        out[where] = reference if isinstance(reference, str) else "(no medication)"
    return out


def _dose(dosage: Mapping[str, Any]) -> tuple[Any, tuple[str | int, ...] | None]:
    rates = dosage.get("doseAndRate")
    if isinstance(rates, list):
        for i, rate in enumerate(rates):
            if isinstance(rate, Mapping) and isinstance(rate.get("doseQuantity"), Mapping):
                return rate["doseQuantity"], ("doseAndRate", i, "doseQuantity")
    if isinstance(dosage.get("doseQuantity"), Mapping):  # STU3
        return dosage["doseQuantity"], ("doseQuantity",)
    return None, None


def _interval_weeks(dosage: Mapping[str, Any]) -> float | None:
    timing = dosage.get("timing")
    repeat = timing.get("repeat") if isinstance(timing, Mapping) else None
    if not isinstance(repeat, Mapping):
        return None
    period, unit = repeat.get("period"), repeat.get("periodUnit")
    frequency = repeat.get("frequency", 1)
    if not isinstance(period, int | float) or unit not in _WEEKS or frequency != 1:
        return None
    weeks = float(period) * _WEEKS[str(unit)]
    return round(weeks, 2) if 0 < weeks <= 52 else None


def draft_medications(resources: list[dict[str, Any]]) -> dict[str, Any]:
    """The Medications held in the draft-orders Bundle, by id."""
    return {
        r["id"]: r
        for r in resources
        if r.get("resourceType") == "Medication" and isinstance(r.get("id"), str)
    }


def draft_bma_orders(
    resources: list[dict[str, Any]],
    patient_id: str,
    medications: Mapping[str, Any] | None = None,
) -> list[DraftBma]:
    """The bone-modifying-agent MedicationRequests among the draft orders (`medications`: the
    Medications their references may point to, by id; by default those in the Bundle)."""
    meds = draft_medications(resources) if medications is None else medications
    out: list[DraftBma] = []
    for i, resource in enumerate(resources):
        if resource.get("resourceType") != "MedicationRequest":
            continue
        agent = fhir_bridge.agent_of(_medication_concept(resource, meds))
        if agent is None:
            continue
        where = f"context.draftOrders.entry[{i}].resource"
        subject = resource.get("subject")
        ref = subject.get("reference") if isinstance(subject, Mapping) else None
        if isinstance(ref, str) and not (
            ref == f"Patient/{patient_id}" or ref.endswith(f"/Patient/{patient_id}")
        ):
            raise OrderError(f"{where}.subject", f"names {ref}, not Patient/{patient_id}")
        dosages = resource.get("dosageInstruction")
        dosage: Mapping[str, Any] = (
            dosages[0]
            if isinstance(dosages, list) and dosages and isinstance(dosages[0], Mapping)
            else {}
        )
        quantity, path = _dose(dosage)
        value = quantity.get("value") if isinstance(quantity, Mapping) else None
        if value is not None and (
            not isinstance(value, int | float) or isinstance(value, bool) or value <= 0
        ):
            raise OrderError(f"{where}.dosageInstruction[0]", "the dose must be a positive number")
        unit = None
        if isinstance(quantity, Mapping):
            unit = quantity.get("code") or quantity.get("unit")
        rid = resource.get("id")
        out.append(
            DraftBma(
                resource=resource,
                reference=f"MedicationRequest/{rid}" if rid else where,
                agent=agent,
                route=fhir_bridge.route_of(dosage.get("route")),
                dose=float(value) if value is not None else None,
                unit=str(unit) if unit is not None else None,
                interval_weeks=_interval_weeks(dosage),
                dose_path=("dosageInstruction", 0, *path) if path is not None else None,
            )
        )
    return out


# --- The record with the order --------------------------------------------------------------------


def proposed(order: DraftBma, as_of: dt.date) -> ProposedDose:
    """The draft order as the core's proposed dose, on the day it is signed."""
    return ProposedDose(
        agent=order.agent,
        date=as_of,
        dose=order.dose,
        unit=order.unit,
        route=order.route,
        interval_weeks=order.interval_weeks,
    )


def _set(resource: dict[str, Any], path: tuple[str | int, ...], value: Any) -> None:
    node: Any = resource
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value


def corrected(order: DraftBma, dose: float) -> dict[str, Any]:
    """The whole MedicationRequest with the dose set to `dose` mg (text kept in step)."""
    resource = copy.deepcopy(order.resource)
    quantity = {"value": dose, "unit": "mg", "system": fhir_bridge.ucum_system(), "code": "mg"}
    if order.dose_path is not None:
        _set(resource, order.dose_path, quantity)
    else:
        dosages = resource.setdefault("dosageInstruction", [{}])
        if not dosages:
            dosages.append({})
        dosages[0]["doseAndRate"] = [{"doseQuantity": quantity}]
    text = resource["dosageInstruction"][0].get("text")
    if isinstance(text, str) and order.dose is not None:
        pattern = rf"(?<![\d.]){re.escape(f'{order.dose:g}')}(?:\.0+)?\s*mg\b"
        resource["dosageInstruction"][0]["text"] = re.sub(pattern, f"{dose:g} mg", text)
    return resource


# --- Findings -------------------------------------------------------------------------------------


def order_findings(record: Record, order: DraftBma, as_of: dt.date) -> list[Finding]:
    """What the core says about giving `order` today (`check_proposed`), as card findings with
    the suggestions an EHR can apply (the corrected dose, or removing the order)."""
    out: list[Finding] = []
    for found in check_proposed(record, proposed(order, as_of)):
        suggestions: list[CdsSuggestion] = []
        extra: list[str] = []
        if found.remove and order.reference.startswith("MedicationRequest/"):
            suggestions.append(_remove(order))
        elif found.advised_dose is not None:
            suggestions.append(_set_dose(order, found.advised_dose))
            if found.basis and order.dose is not None and order.unit == "mg":
                extra.append(f"**Dose rule:** {found.basis}")
        if found.rule == "bma.interval":
            extra.append(
                f"A dose is *due* from {bma_rules.table()['timing']['due_window_days']} days "
                "before the due date (a bonemets policy window)."
            )
        message = found.message
        if found.rule == "bma.order_unreadable":
            message = f"{order.reference}: {found.message}"
        out.append(
            Finding(
                indicator=found.severity,
                summary=summary(found.headline),
                message=message,
                rule="cds.order.unreadable" if found.rule == "bma.order_unreadable" else found.rule,
                sources=found.sources,
                evidence=found.evidence,
                unverified=found.unverified,
                extra=[_order_md(order), *extra],
                suggestions=suggestions,
                override=found.override,
            )
        )
    return out


def _order_md(order: DraftBma) -> str:
    dose = f"{order.dose:g} {order.unit or '(no unit)'}" if order.dose is not None else "no dose"
    route = order.route or "route not stated"
    every = f", every {order.interval_weeks:g} weeks" if order.interval_weeks else ""
    return f"**Order** `{order.reference}`: {order.label} {dose}, {route}{every}."


def _remove(order: DraftBma) -> CdsSuggestion:
    return CdsSuggestion(
        label=f"Remove the {order.label} order",
        uuid=_uuid(),
        actions=[
            Action(
                type="delete",
                description=f"Remove the draft {order.label} order {order.reference}",
                resourceId=order.reference,
            )
        ],
    )


def _uuid() -> str:
    return str(uuid.uuid4())


def _set_dose(order: DraftBma, dose: float) -> CdsSuggestion:
    before = f"{order.dose:g} {order.unit or ''}".strip() if order.dose is not None else "no dose"
    return CdsSuggestion(
        label=f"Change the dose to {dose:g} mg",
        uuid=_uuid(),
        isRecommended=True,
        actions=[
            Action(
                type="update",
                description=f"{order.label.capitalize()}: {before} -> {dose:g} mg "
                f"({order.reference})",
                resource=corrected(order, dose),
            )
        ],
    )
