"""Condition: primary cancer, bone metastases, and the record's conditions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bonemets.adapters.fhir.codes import (
    CONDITION_VERIFICATION,
    CS_CONDITION,
    EXT_PRIMARY_SITE,
)
from bonemets.adapters.fhir.importer.base import PatientBase
from bonemets.adapters.fhir.importer.common import (
    Json,
    Refused,
    code_in,
    codings,
    make,
    parse_date,
)
from bonemets.core.record import (
    Condition,
)


class ConditionReader(PatientBase):
    # --- Condition -------------------------------------------------------------------------------

    def concept(self, cc: Any) -> str | None:
        own = code_in(cc, CS_CONDITION)
        if own is not None:
            return "primary_cancer" if own == "primary-cancer" else own
        for c in codings(cc):
            key = (c.get("system"), c.get("code"))
            if key in self.t.conditions:
                return self.t.conditions[key]
            code = c.get("code")
            if isinstance(code, str):
                for system, prefix, concept in self.t.condition_prefixes:
                    if c.get("system") == system and code.startswith(prefix):
                        return concept
        return None

    def primary(self, cc: Any) -> str | None:
        """The site of a primary cancer other than breast (knowledge: [[primary_cancer]])."""
        for c in codings(cc):
            system, code = c.get("system"), c.get("code")
            if not isinstance(system, str) or not isinstance(code, str):
                continue
            site = self.t.primaries.get((system, code))
            if site is not None:
                return site
            for url, prefix, where in self.t.primary_prefixes:
                if system == url and code.startswith(prefix):
                    return where
        return None

    def _onset(self, res: Json) -> dt.date | None:
        if "onsetDateTime" in res:
            return parse_date(res["onsetDateTime"], "onsetDateTime")
        period = res.get("onsetPeriod")
        if isinstance(period, dict) and "start" in period:
            return parse_date(period["start"], "onsetPeriod.start")
        if "recordedDate" in res:
            return parse_date(res["recordedDate"], "recordedDate")
        return None

    def condition(self, res: Json) -> bool:
        verification = code_in(res.get("verificationStatus"), CONDITION_VERIFICATION)
        if verification == "entered-in-error":
            return False
        concept = self.concept(res.get("code"))
        profiles = (res.get("meta") or {}).get("profile") or []
        other_site = self.primary(res.get("code")) if concept is None else None
        if other_site is not None:
            # Another solid-tumour primary: read and shown; breast wins when both are recorded
            # (the breast-specific rules need to know it is breast).
            if verification == "refuted":
                return False
            if self.cancer.get("primary_site") != "breast":
                self.cancer["primary_site"] = other_site
            self.cancer_seen = True
            return True
        if concept is None and self.t.profiles["primary_cancer_condition"] in profiles:
            concept = "primary_cancer"
        if concept in ("primary_cancer", "breast_cancer"):
            if verification == "refuted":
                return False
            site = None
            for ext in res.get("extension") or []:
                if isinstance(ext, dict) and ext.get("url") == EXT_PRIMARY_SITE:
                    site = ext.get("valueString")
            if site is None and concept == "breast_cancer":
                site = "breast"
            if site is not None and (site == "breast" or "primary_site" not in self.cancer):
                self.cancer["primary_site"] = site
            self.cancer_seen = True
            return True
        if concept == "bone_metastasis":
            present = {"refuted": False, "unconfirmed": None, "provisional": None}.get(
                verification or "", True
            )
            if verification == "differential":
                present = None
            sites = []
            for cc in res.get("bodySite") or []:
                site = self.site(cc)
                if site is None:
                    self.note(f"Condition/{res.get('id')}: bodySite not placed in a region")
                else:
                    sites.append(site)
            self.bone_mets.append((present, self._onset(res), sites))
            self.cancer_seen = True
            return True
        if concept in ("heart_failure", "pregnancy", "dialysis"):
            if verification == "refuted":
                return False
            date = self._onset(res)
            if date is None:
                raise Refused(f"{concept}: no onset or recorded date")
            data: Json = {"code": concept, "date": date}
            if "abatementDateTime" in res:
                data["resolved"] = parse_date(res["abatementDateTime"], "abatementDateTime")
            elif isinstance(res.get("abatementPeriod"), dict) and "end" in res["abatementPeriod"]:
                data["resolved"] = parse_date(res["abatementPeriod"]["end"], "abatementPeriod.end")
            else:
                status = code_in(
                    res.get("clinicalStatus"),
                    "http://terminology.hl7.org/CodeSystem/condition-clinical",
                )
                if status in ("resolved", "inactive", "remission"):
                    # Said not to be active, without a date: not active now. Read as resolved on
                    # its own date (the earliest it can have been), and said so.
                    data["resolved"] = date
                    self.note(
                        f"Condition/{res.get('id')}: {concept} {status} without a date: read as "
                        f"resolved on {date}"
                    )
            self.lists["conditions"].append(make(Condition, data))
            return True
        if concept is not None:
            self.note(f"Condition/{res.get('id')}: {concept} has no place in the record")
        return False
