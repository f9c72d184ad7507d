"""order-sign: a draft order of a bone-modifying agent checked against the patient's record.

The record (from prefetch / the FHIR server) gets the draft order as a plan on the day it is signed
when it starts or changes the agent, and then goes through the core's `assess`: the dose (by
creatinine clearance, `bma.dose_for`), the kidney withhold rule (`bma.renal_function`), calcium
(`bma.calcium_check`), the dental exam (`bma.dental_check`) and the dosing schedule are the core's
answers, never computed here. This module only compares the ordered dose with the core's dose, and
the order's date with the core's next due date.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from bonemets.core.pathway import Check, Dose, assess
from bonemets.core.pathway import bma as bma_rules
from bonemets.core.record import Agent, BmaPlan, Record, Route
from bonemets.faces.cds import fhir_bridge
from bonemets.faces.cds.cards import Finding, summary
from bonemets.faces.cds.models import Action, Indicator
from bonemets.faces.cds.models import Suggestion as CdsSuggestion

DOSE_TOLERANCE_MG = 0.05  # ordered and advised doses closer than this are the same dose
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


def _medication_concept(resource: Mapping[str, Any]) -> Any:
    concept = resource.get("medicationCodeableConcept")
    if concept is not None:
        return concept
    ref = resource.get("medicationReference")
    if isinstance(ref, Mapping) and isinstance(ref.get("reference"), str):
        target = ref["reference"].lstrip("#")
        for contained in resource.get("contained") or []:
            if isinstance(contained, Mapping) and contained.get("id") == target:
                return contained.get("code")
        return {"text": ref.get("display")} if ref.get("display") else None
    return None


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


def draft_bma_orders(resources: list[dict[str, Any]], patient_id: str) -> list[DraftBma]:
    """The bone-modifying-agent MedicationRequests among the draft orders."""
    out: list[DraftBma] = []
    for i, resource in enumerate(resources):
        if resource.get("resourceType") != "MedicationRequest":
            continue
        agent = fhir_bridge.agent_of(_medication_concept(resource))
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


def with_order(record: Record, order: DraftBma, as_of: dt.date) -> tuple[Record, bool]:
    """The record as if the order were signed today, and whether it continues the current course.

    A plan is added on `as_of` when the order starts an agent, changes it, restarts a stopped one,
    or names another route than the course's; otherwise the record is unchanged (the next dose of
    the same course is judged against its own schedule).
    """
    course = bma_rules.current_course(record.as_of(as_of))
    continues = course.agent == order.agent and not course.stopped
    if continues and (order.route is None or order.route == bma_rules.route_of(course)):
        return record, True
    plan = BmaPlan(
        date=as_of, agent=order.agent, route=order.route, interval_weeks=order.interval_weeks
    )
    return record.model_copy(update={"bma_plans": [*record.bma_plans, plan]}), continues


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


def _check(checks: list[Check], name: str) -> Check | None:
    return next((c for c in checks if c.check == name), None)


def _from_check(
    check: Check, indicator: Indicator, rule: str, order: DraftBma, headline: str | None = None
) -> Finding:
    detail = check.detail or check.check
    label = order.label.capitalize()
    return Finding(
        indicator=indicator,
        summary=summary(detail, f"{label}: {headline}: " if headline else f"{label}: "),
        message=detail,
        rule=rule,
        sources=list(check.sources),
        evidence=check.evidence,
        unverified=check.unverified,
    )


def order_findings(record: Record, order: DraftBma, as_of: dt.date) -> list[Finding]:
    """What the core says about giving `order` today."""
    try:
        ordered, continues = with_order(record, order, as_of)
    except ValidationError as exc:  # e.g. a route the agent is not given by
        msg = exc.errors()[0]["msg"].removeprefix("Value error, ")
        return [
            Finding(
                indicator="critical",
                summary=summary(f"{order.label.capitalize()} order cannot be checked: {msg}"),
                message=f"{order.reference}: {msg}.",
                rule="cds.order.unreadable",
            )
        ]
    bma = assess(ordered, as_of).bma
    out: list[Finding] = []
    out.extend(_dose_findings(order, bma.dose, _check(bma.checks, "creatinine_clearance")))

    renal = _check(bma.checks, "renal_function")
    if renal is not None and renal.status == "fail":
        out.append(_from_check(renal, "critical", "bma.kidney_rise", order, "withhold"))
    elif renal is not None and renal.status == "missing":
        out.append(
            _from_check(renal, "warning", "bma.creatinine_before_dose", order, "creatinine needed")
        )

    calcium = _check(bma.checks, "calcium")
    if calcium is not None and calcium.status == "fail":
        out.append(_from_check(calcium, "critical", "bma.low_calcium", order, "withhold"))
    elif calcium is not None and calcium.status == "missing":
        out.append(
            _from_check(calcium, "warning", "bma.calcium_before_dose", order, "calcium needed")
        )

    dental = _check(bma.checks, "dental_exam")
    if dental is not None and dental.status == "missing":
        out.append(_from_check(dental, "warning", "bma.dental_exam", order))

    if continues and bma.next_due is not None and bma.last_dose is not None:
        window = int(bma_rules.table()["timing"]["due_window_days"])
        early = (bma.next_due - as_of).days
        if early > window:
            timing = bma_rules.table()["timing"]
            agent_spec = bma_rules.agent_table(order.agent)
            text = (
                f"Too soon: the last {order.label} dose was on {bma.last_dose} and the next is due "
                f"on {bma.next_due} (every {bma.interval_weeks:g} weeks), {early} days from today."
            )
            out.append(
                Finding(
                    indicator="warning",
                    summary=summary(
                        f"{order.label.capitalize()} too soon: last dose on {bma.last_dose}, "
                        f"next due on {bma.next_due} (in {early} days)."
                    ),
                    message=text,
                    rule="bma.interval",
                    sources=[*agent_spec.get("interval_sources", []), *timing["sources"]],
                    evidence=timing["evidence"],
                    unverified=timing["evidence"] in ("U", "P"),
                    extra=[
                        f"A dose is *due* from {window} days before the due date "
                        "(a bonemets policy window)."
                    ],
                )
            )

    for w in bma.warnings:
        out.append(
            Finding(
                indicator="warning",
                summary=summary(w.text),
                message=w.text,
                rule=w.rule or "bma.warning",
                sources=list(w.sources),
                evidence=w.evidence,
                unverified=w.evidence in ("U", "P"),
            )
        )
    for f in out:
        f.extra.insert(0, _order_md(order))
    return out


def _order_md(order: DraftBma) -> str:
    dose = f"{order.dose:g} {order.unit or '(no unit)'}" if order.dose is not None else "no dose"
    route = order.route or "route not stated"
    every = f", every {order.interval_weeks:g} weeks" if order.interval_weeks else ""
    return f"**Order** `{order.reference}`: {order.label} {dose}, {route}{every}."


def _dose_findings(order: DraftBma, dose: Dose | None, cc: Check | None) -> list[Finding]:
    label = order.label.capitalize()
    if cc is not None and cc.status == "fail":
        text = cc.detail or "Not recommended at this creatinine clearance."
        suggestions = []
        if order.reference.startswith("MedicationRequest/"):
            suggestions.append(
                CdsSuggestion(
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
            )
        return [
            Finding(
                indicator="critical",
                summary=summary(text, f"{label}: do not give: "),
                message=text,
                rule="bma.dose",
                sources=list(cc.sources),
                evidence=cc.evidence,
                unverified=cc.unverified,
                suggestions=suggestions,
            )
        ]
    if dose is None or dose.value is None:
        basis = dose.basis if dose is not None else "No dose rule applies."
        return [
            Finding(
                indicator="warning",
                summary=summary(basis, f"{label} dose cannot be checked: "),
                message=basis,
                rule="bma.dose",
                sources=list(dose.sources) if dose is not None else [],
                evidence=dose.evidence if dose is not None else None,
            )
        ]
    advised: float = dose.value
    every = f" {dose.frequency}" if dose.frequency else ""

    def finding(indicator: Indicator, short: str, text: str) -> Finding:
        return Finding(
            indicator=indicator,
            summary=short,
            message=text,
            rule="bma.dose",
            sources=list(dose.sources),
            evidence=dose.evidence,
            unverified=dose.evidence in ("U", "P"),
            extra=[f"**Dose rule:** {dose.basis}"],
            suggestions=[_set_dose(order, advised)],
        )

    if order.dose is None or order.unit is None or order.unit.lower() != "mg":
        what = "no dose" if order.dose is None else f"a dose in {order.unit or 'no unit'}"
        text = f"The order gives {what}; the dose for this patient is {advised:g} mg{every}."
        return [finding("warning", summary(text, f"{label}: "), text)]
    if abs(order.dose - advised) <= DOSE_TOLERANCE_MG:
        return []
    crcl = f" for CrCl {dose.crcl_ml_min:g} mL/min" if dose.crcl_ml_min is not None else ""
    higher = order.dose > advised
    text = (
        f"{label} {order.dose:g} mg ordered; the dose{crcl} is {advised:g} mg{every} "
        f"({'above' if higher else 'below'} it)."
    )
    return [finding("critical" if higher else "warning", summary(text), text)]


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
