"""Medications: bone-modifying agents (doses, orders), supplements, treatments."""

from __future__ import annotations

from typing import Any

from bonemets.adapters.fhir.codes import (
    CS_AGENT,
    CS_ROUTE,
    CS_SUPPLEMENT,
    CS_TREATMENT,
)
from bonemets.adapters.fhir.importer.base import PatientBase
from bonemets.adapters.fhir.importer.common import (
    PERIOD_WEEKS,
    SKIP_STATUS,
    Json,
    Refused,
    code_in,
    codes_in,
    codings,
    make,
    number,
    parse_date,
    status_of,
)
from bonemets.core.record import (
    BmaDose,
    BmaPlan,
    Supplement,
    Treatment,
)


class MedicationReader(PatientBase):
    # --- Medications -----------------------------------------------------------------------------

    def medication(self, res: Json) -> Any:
        if "medicationCodeableConcept" in res:
            return res["medicationCodeableConcept"]
        ref = res.get("medicationReference")
        if isinstance(ref, dict) and isinstance(ref.get("reference"), str):
            text = ref["reference"]
            if text.startswith("#"):
                for contained in res.get("contained") or []:
                    if isinstance(contained, dict) and contained.get("id") == text[1:]:
                        return contained.get("code")
            else:
                med = self.meds.get(text.rpartition("/")[2].removeprefix("urn:uuid:"))
                if med is not None:
                    return med.get("code")
            if isinstance(ref.get("display"), str):
                return {"text": ref["display"]}
        return None

    def _by_text(self, cc: Any, table: dict[str, str]) -> str | None:
        texts = [cc.get("text")] if isinstance(cc, dict) else []
        texts += [c.get("display") for c in codings(cc)]
        for text in texts:
            if isinstance(text, str):
                low = text.lower()
                for needle, value in table.items():
                    if needle in low:
                        return value
        return None

    def agent(self, cc: Any) -> str | None:
        own, rx = codes_in(cc, CS_AGENT, self.t.systems["rxnorm"])
        if own is not None:
            return own
        if rx is not None and rx in self.t.meds:
            return self.t.meds[rx]
        return self._by_text(cc, self.t.med_text)

    def route(self, cc: Any) -> str | None:
        if cc is None:
            return None
        own, snomed = codes_in(cc, CS_ROUTE, self.t.systems["snomed"])
        if own is not None:
            return own
        if snomed is not None and snomed in self.t.routes:
            return self.t.routes[snomed]
        self.note(f"route {cc!r} not recognised: route left unknown")
        return None

    def product(self, cc: Any) -> str | None:
        """The RxNorm code of a bone-modifying agent's product (a regimen tells by it). Not read
        from our own export, whose product coding is derived from the dose (the dose is read)."""
        own, rx = codes_in(cc, CS_AGENT, self.t.systems["rxnorm"])
        if own is not None:
            return None
        return rx if rx is not None and rx in self.t.meds else None

    def treatment_kind(self, cc: Any) -> str | None:
        """A treatment (chemotherapy, endocrine therapy) named by a standard code."""
        for c in codings(cc):
            key = (c.get("system"), c.get("code"))
            if key in self.t.treatments:
                return self.t.treatments[key]
        return None

    def medication_administration(self, res: Json) -> bool:
        cc = self.medication(res)
        agent = self.agent(cc)
        if agent is None or status_of(res) not in ("completed", "in-progress", None):
            return False
        data: Json = {
            "agent": agent,
            "date": self._effective(res),
            "product_code": self.product(cc),
        }
        dosage = res.get("dosage")
        if isinstance(dosage, dict):
            if "dose" in dosage:
                value, unit = self._quantity(dosage["dose"], "dosage.dose")
                if unit not in ("mg", None):
                    raise Refused(f"dose unit {unit!r}: bone-modifying agent doses are in mg")
                data["dose"] = value
            data["route"] = self.route(dosage.get("route"))
        self.lists["bma_doses"].append(make(BmaDose, data))
        return True

    def medication_request(self, res: Json) -> bool:
        cc = self.medication(res)
        agent = self.agent(cc)
        status = status_of(res)
        if status not in ("active", "completed", "on-hold", "stopped"):
            return False
        if agent is None:
            kind = self.treatment_kind(cc)
            return kind is not None and self.ordered_treatment(res, kind, status)
        if "authoredOn" not in res:
            raise Refused("no authoredOn date")
        # A stopped *plan* authored on a day is a decision to stop on that day (how bonemets
        # writes one). A stopped *order* (Synthea writes every ended prescription so) says only
        # that it ended some time after it was authored: read as started then, never as a stop on
        # the day it began, which would silence every later due date.
        stop = status == "stopped" and res.get("intent") == "plan"
        if status == "stopped" and not stop:
            self.note(
                f"MedicationRequest/{res.get('id')}: {agent} order stopped on an unknown date; "
                "read as started on authoredOn"
            )
        data: Json = {
            "agent": agent,
            "date": parse_date(res["authoredOn"], "authoredOn"),
            "stop": stop,
            # An order on hold holds the course; a completed or stopped order has ended at an
            # unknown date: it no longer keeps a course active (issue 22: decades-old orders
            # were 'overdue').
            "hold": status == "on-hold",
            "ended": status in ("completed", "stopped") and not stop,
            "product_code": self.product(cc),
            "indication": self.indication(res),
        }
        if stop:
            data["stop_reason"] = self.stop_reason(res.get("statusReason"))
        instructions = res.get("dosageInstruction")
        if isinstance(instructions, list) and instructions and isinstance(instructions[0], dict):
            dosage = instructions[0]
            data["route"] = self.route(dosage.get("route"))
            for dr in dosage.get("doseAndRate") or []:
                if isinstance(dr, dict) and "doseQuantity" in dr:
                    value, unit = self._quantity(dr["doseQuantity"], "doseQuantity")
                    if unit in ("mg", None):
                        data["dose"] = value
            repeat = (dosage.get("timing") or {}).get("repeat")
            if isinstance(repeat, dict) and "period" in repeat:
                period = number(repeat["period"], "timing.repeat.period")
                unit = repeat.get("periodUnit")
                if unit not in PERIOD_WEEKS:
                    raise Refused(f"timing.repeat.periodUnit {unit!r} not understood")
                frequency = number(repeat.get("frequency", 1), "timing.repeat.frequency")
                # Exact for the weekly form bonemets writes (frequency 1 per n weeks).
                data["interval_weeks"] = period * PERIOD_WEEKS[unit] / frequency
        self.lists["bma_plans"].append(make(BmaPlan, data))
        return True

    def indication(self, res: Json) -> str | None:
        """What the order is for, from its reasonCode text or codes (bone metastases or
        osteoporosis; nothing else is read)."""
        for cc in res.get("reasonCode") or []:
            text = " ".join(
                str(x).lower()
                for x in [cc.get("text"), *(c.get("display") for c in codings(cc))]
                if x
            )
            concepts = {
                self.t.conditions.get((str(c.get("system")), str(c.get("code"))))
                for c in codings(cc)
            }
            if "bone_metastasis" in concepts or "secondary malignant neoplasm of bone" in text:
                return "bone_metastases"
            if "osteopor" in text or "bone loss" in text:
                return "osteoporosis"
        return None

    @staticmethod
    def stop_reason(cc: Any) -> str | None:
        text = " ".join(
            str(x).lower()
            for x in [
                cc.get("text") if isinstance(cc, dict) else None,
                *(c.get("display") for c in codings(cc)),
                *(c.get("code") for c in codings(cc)),
            ]
            if x
        )
        if not text:
            return None
        for needle, reason in (
            ("osteonecrosis", "onj"),
            ("onj", "onj"),
            ("m87.180", "onj"),
            ("complete", "completed"),
            ("patient", "patient_choice"),
            ("adverse", "adverse_event"),
        ):
            if needle in text:
                return reason
        return "other"

    def ordered_treatment(self, res: Json, kind: str, status: str | None) -> bool:
        """A cancer treatment ordered (MedicationRequest): started on authoredOn; an ended order
        has stopped at an unknown date (`ended`), never read as still going."""
        if "authoredOn" not in res:
            raise Refused("no authoredOn date")
        data: Json = {
            "kind": kind,
            "start": parse_date(res["authoredOn"], "authoredOn"),
            "ended": status in ("completed", "stopped"),
        }
        self.lists["treatments"].append(make(Treatment, data))
        return True

    def medication_statement(self, res: Json) -> bool:
        status = status_of(res)
        if status in SKIP_STATUS:
            return False
        cc = self.medication(res)
        treatment = code_in(cc, CS_TREATMENT) or self.treatment_kind(cc)
        if treatment is not None:
            return self.treatment(res, treatment, "effective")
        kind = code_in(cc, CS_SUPPLEMENT)
        if kind is None:
            rx = code_in(cc, self.t.systems["rxnorm"])
            kind = self.t.supplements.get(rx or "")
        agent = self.agent(cc)
        if agent is not None:
            if "effectiveDateTime" not in res:
                self.note(f"MedicationStatement/{res.get('id')}: {agent} without a dose date")
                return False
            date = parse_date(res["effectiveDateTime"], "effectiveDateTime")
            dose = {"agent": agent, "date": date, "product_code": self.product(cc)}
            self.lists["bma_doses"].append(make(BmaDose, dose))
            return True
        if kind is None:
            kind = self._by_text(cc, self.t.supplement_text)
        if kind is None:
            return False
        return self.supplement(res, kind, status)

    def supplement(self, res: Json, kind: str, status: str | None) -> bool:
        if "dateAsserted" in res:
            date = parse_date(res["dateAsserted"], "dateAsserted")
        else:
            date = self._effective(res)
        active = {
            "active": True,
            "intended": True,
            "not-taken": False,
            "stopped": False,
            "completed": False,
            "on-hold": False,
        }.get(status or "")
        data: Json = {"date": date, "kind": kind, "active": active}
        data["unit"] = "mg" if kind == "calcium" else "IU"
        period = res.get("effectivePeriod")
        if isinstance(period, dict) and "end" in period:
            data["stopped"] = parse_date(period["end"], "effectivePeriod.end")
        dosages = res.get("dosage")
        if isinstance(dosages, list) and dosages and isinstance(dosages[0], dict):
            for dr in dosages[0].get("doseAndRate") or []:
                if isinstance(dr, dict) and "doseQuantity" in dr:
                    value, unit = self._quantity(dr["doseQuantity"], "doseQuantity")
                    if unit in ("[iU]", "[IU]", "IU"):
                        unit = "IU"
                    data["unit"] = unit
                    repeat = (dosages[0].get("timing") or {}).get("repeat") or {}
                    per_day = repeat.get("frequency", 1) if repeat.get("periodUnit") == "d" else 0
                    if repeat.get("period", 1) == 1 and per_day:
                        data["daily_amount"] = value * number(per_day, "frequency")
                    else:
                        self.note(f"MedicationStatement/{res.get('id')}: not a daily dose")
        self.lists["supplements"].append(make(Supplement, data))
        return True
