"""Procedures, imaging (DiagnosticReport, ImagingStudy) and symptom reports."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bonemets.adapters.fhir.codes import (
    CS_DENTAL_OUTCOME,
    CS_DENTAL_PROCEDURE,
    CS_IMAGING_FINDING,
    CS_IMAGING_MODALITY,
    CS_TREATMENT,
    EXT_INVASIVE,
    QUESTIONNAIRE_SYMPTOMS,
    SYMPTOM_INTEGERS,
)
from bonemets.adapters.fhir.importer.base import PatientBase
from bonemets.adapters.fhir.importer.common import (
    SKIP_STATUS,
    Json,
    Refused,
    code_in,
    codes_in,
    codings,
    make,
    parse_date,
    status_of,
)
from bonemets.core.record import (
    DentalExam,
    DentalProcedure,
    Imaging,
    SymptomReport,
)


class ProcedureReader(PatientBase):
    # --- Procedures, imaging, symptom reports ----------------------------------------------------

    def _performed(self, res: Json) -> dt.date:
        if "performedDateTime" in res:
            return parse_date(res["performedDateTime"], "performedDateTime")
        period = res.get("performedPeriod")
        if isinstance(period, dict) and "start" in period:
            return parse_date(period["start"], "performedPeriod.start")
        raise Refused("no performed date")

    def modality(self, cc: Any) -> str | None:
        own = code_in(cc, CS_IMAGING_MODALITY)
        if own is not None:
            return own
        for c in codings(cc):
            key = (c.get("system"), c.get("code"))
            if key in self.t.imaging:
                return self.t.imaging[key]
        return None

    def procedure(self, res: Json) -> bool:
        if status_of(res) in ("entered-in-error", "not-done", "preparation"):
            return False
        cc = res.get("code")
        t = self.t
        dental, snomed = codes_in(cc, CS_DENTAL_PROCEDURE, t.systems["snomed"])
        invasive: bool | None = None
        if dental is None and snomed in t.dental:
            dental, invasive = t.dental[snomed]
        if dental == "exam":
            outcome = code_in(res.get("outcome"), CS_DENTAL_OUTCOME)
            self.lists["dental_exams"].append(
                make(DentalExam, {"date": self._performed(res), "outcome": outcome})
            )
            return True
        if dental is not None:
            for ext in res.get("extension") or []:
                if isinstance(ext, dict) and ext.get("url") == EXT_INVASIVE:
                    invasive = ext.get("valueBoolean")
            data = {"date": self._performed(res), "kind": dental, "invasive": invasive}
            self.lists["dental_procedures"].append(make(DentalProcedure, data))
            return True
        modality = self.modality(cc)
        if modality is not None:
            finding = code_in(res.get("outcome"), CS_IMAGING_FINDING)
            data = {"date": self._performed(res), "modality": modality, "finding": finding}
            self.lists["imaging"].append(make(Imaging, data))
            return True
        kind = code_in(cc, CS_TREATMENT)
        if kind is None:
            for c in codings(cc):
                key = (c.get("system"), c.get("code"))
                if key in t.treatments:
                    kind = t.treatments[key]
        if kind is not None:
            return self.treatment(res, kind, "performed")
        return False

    def radiology_modality(self, res: Json) -> str | None:
        """A radiology report's modality: from a known procedure code, else, for a report in the
        radiology category or under the generic imaging LOINC, from its code's words ('other'
        when they name none)."""
        modality = self.modality(res.get("code"))
        if modality is not None:
            return modality
        rad = self.t.radiology
        categories = res.get("category") or []
        in_category = any(
            c.get("system") == rad["category_system"] and c.get("code") in rad["categories"]
            for cc in categories
            for c in codings(cc)
        )
        loinc = code_in(res.get("code"), self.t.systems["loinc"])
        if not in_category and loinc not in rad["loinc"]:
            return None
        code = res.get("code")
        cc: Json = code if isinstance(code, dict) else {}
        text = " ".join(
            str(x) for x in [cc.get("text"), *(c.get("display") for c in codings(cc))] if x
        )
        words = f" {text.lower()} "
        for needle, found in rad["modality_words"]:
            if needle in words:
                return str(found)
        return "other"

    def diagnostic_report(self, res: Json) -> bool:
        if status_of(res) in SKIP_STATUS:
            return False
        modality = self.radiology_modality(res)
        if modality is None:
            return False
        date = self._effective(res) if "issued" not in res or "effectiveDateTime" in res else None
        if date is None:
            if any(k in res for k in ("effectivePeriod", "effectiveInstant")):
                date = self._effective(res)
            else:
                # A report without effective[x]: its issue date is the nearest date recorded
                # (a scan is reported days after it is done, never before).
                date = parse_date(res["issued"], "issued")
        finding = None
        for cc in res.get("conclusionCode") or []:
            finding = finding or code_in(cc, CS_IMAGING_FINDING)
        img = make(Imaging, {"date": date, "modality": modality, "finding": finding})
        self.extra_imaging.append(("DiagnosticReport", img))
        return True

    def imaging_study(self, res: Json) -> bool:
        if status_of(res) in ("entered-in-error", "cancelled"):
            return False
        modality = None
        for cc in res.get("procedureCode") or []:
            modality = modality or self.modality(cc)
        if modality is None:
            codes = [m.get("code") for m in res.get("modality") or [] if isinstance(m, dict)]
            for series in res.get("series") or []:
                if isinstance(series, dict) and isinstance(series.get("modality"), dict):
                    codes.append(series["modality"].get("code"))
            for code in codes:
                if isinstance(code, str) and code in self.t.dicom:
                    modality = self.t.dicom[code]
                    break
        if modality is None:
            return False
        if "started" not in res:
            raise Refused("no started date")
        date = parse_date(res["started"], "started")
        img = make(Imaging, {"date": date, "modality": modality})
        self.extra_imaging.append(("ImagingStudy", img))
        return True

    def questionnaire_response(self, res: Json) -> bool:
        if res.get("questionnaire") != QUESTIONNAIRE_SYMPTOMS or status_of(res) in SKIP_STATUS:
            return False
        if "authored" not in res:
            raise Refused("no authored date")
        symptoms: list[Json] = []
        free_text = filled_in_by = None
        for item in res.get("item") or []:
            link = item.get("linkId")
            answers = item.get("answer") or [{}]
            if link == "free_text":
                free_text = answers[0].get("valueString")
            elif link == "filled_in_by":
                filled_in_by = answers[0].get("valueString")
            elif link == "symptom":
                answer = answers[0]
                code = (answer.get("valueCoding") or {}).get("code")
                symptom: Json = {"code": code}
                for sub in answer.get("item") or []:
                    name = sub.get("linkId")
                    values = sub.get("answer") or []
                    if not values:
                        continue
                    if name == "severity":
                        symptom["severity"] = values[0].get("valueInteger")
                    elif name in ("duration_days", "temperature_c"):
                        symptom[name] = values[0].get("valueDecimal")
                    elif name in SYMPTOM_INTEGERS:
                        symptom[name] = values[0].get("valueInteger")
                    elif name == "trend":
                        symptom["trend"] = (values[0].get("valueCoding") or {}).get("code")
                    elif name == "site":
                        symptom["site"] = (values[0].get("valueCoding") or {}).get("code")
                    elif name == "features":
                        symptom["features"] = [
                            (v.get("valueCoding") or {}).get("code") for v in values
                        ]
                symptoms.append(symptom)
        data = {
            "date": parse_date(res["authored"], "authored"),
            "symptoms": symptoms,
            "free_text": free_text,
            "filled_in_by": filled_in_by,
        }
        self.lists["symptom_reports"].append(make(SymptomReport, data))
        return True
