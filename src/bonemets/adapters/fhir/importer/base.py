"""One patient's reader: the state it collects, the Patient resource, and `build()`.

The readers of each resource kind are mixins over this base (observations, conditions,
medications, procedures); `reader.PatientReader` puts them together.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from bonemets.adapters.fhir.codes import (
    CS_SKELETAL_SITE,
    ID_RECORD,
    Tables,
)
from bonemets.adapters.fhir.importer.common import (
    NUMBER,
    Json,
    Refused,
    codes_in,
    make,
    parse_date,
)
from bonemets.core.record import (
    Cancer,
    Demographics,
    Imaging,
    Lesion,
    Record,
    Treatment,
)


class PatientBase:
    """Collects one patient's entries; `build()` makes the Record."""

    def __init__(self, key: str, t: Tables, meds: dict[str, Json], notes: list[str]) -> None:
        self.key = key
        self.t = t
        self.meds = meds
        self.notes = notes
        self.record_id = key
        self.birth_date: dt.date | None = None
        self.sex: str | None = None
        self.deceased: bool | None = None
        self.deceased_date: dt.date | None = None
        self.cancer_seen = False
        self.cancer: Json = {}
        self.bone_mets: list[tuple[bool | None, dt.date | None, list[str]]] = []
        self.lists: dict[str, list[Any]] = {
            k: []
            for k in (
                "weights",
                "heights",
                "lesions",
                "labs",
                "bma_doses",
                "bma_plans",
                "dental_exams",
                "dental_procedures",
                "imaging",
                "supplements",
                "conditions",
                "treatments",
                "symptom_reports",
            )
        }
        self.extra_imaging: list[tuple[str, Imaging]] = []
        self.receptors: dict[str, tuple[dt.date | None, str]] = {}

    def note(self, text: str) -> None:
        self.notes.append(f"patient {self.record_id}: {text}")

    # --- Patient ---------------------------------------------------------------------------------

    def patient(self, res: Json) -> bool:
        for ident in res.get("identifier") or []:
            if isinstance(ident, dict) and ident.get("system") == ID_RECORD:
                value = ident.get("value")
                if isinstance(value, str):
                    self.record_id = value
        gender = res.get("gender")
        if gender in ("female", "male"):
            self.sex = gender
        elif gender is not None and gender not in ("other", "unknown"):
            raise Refused(f"gender {gender!r} is not a FHIR administrative gender")
        birth = res.get("birthDate")
        if birth is not None:
            if isinstance(birth, str) and re.fullmatch(r"\d{4}(-\d{2})?", birth):
                self.note(f"birthDate {birth!r} is partial: birth date left unknown")
            else:
                self.birth_date = parse_date(birth, "birthDate")
        # deceased[x]: a death date, or a plain yes/no (issue 22: dead patients got alerts).
        if isinstance(res.get("deceasedBoolean"), bool):
            self.deceased = res["deceasedBoolean"]
        elif "deceasedDateTime" in res:
            self.deceased = True
            value = res["deceasedDateTime"]
            if isinstance(value, str) and re.fullmatch(r"\d{4}(-\d{2})?", value):
                self.note(f"deceasedDateTime {value!r} is partial: deceased, date unknown")
            else:
                self.deceased_date = parse_date(value, "deceasedDateTime")
        return True

    # --- Shared by the readers ------------------------------------------------------------------

    def _effective(self, res: Json) -> dt.date:
        if "effectiveDateTime" in res:
            return parse_date(res["effectiveDateTime"], "effectiveDateTime")
        period = res.get("effectivePeriod")
        if isinstance(period, dict) and "start" in period:
            return parse_date(period["start"], "effectivePeriod.start")
        if "effectiveInstant" in res:
            return parse_date(res["effectiveInstant"], "effectiveInstant")
        raise Refused(
            "no effective date (effective[x]); 'issued' is when the result was released, not "
            "when it was measured"
            if "issued" in res
            else "no effective date"
        )

    def _quantity(self, q: Any, what: str) -> tuple[float, str | None]:
        if not isinstance(q, dict):
            raise Refused(f"{what} is not a Quantity")
        value = q.get("value")
        if isinstance(value, bool) or not isinstance(value, NUMBER):
            raise Refused(f"{what}.value is not a number: {value!r}")
        unit = q.get("code")
        if not isinstance(unit, str):
            unit = q.get("unit")
        return float(value), unit if isinstance(unit, str) else None

    def site(self, cc: Any) -> str | None:
        site, snomed = codes_in(cc, CS_SKELETAL_SITE, self.t.systems["snomed"])
        if site is not None:
            return site
        if snomed is not None:
            return self.t.sites_by_snomed.get(snomed)
        return None

    def treatment(self, res: Json, kind: str, prefix: str) -> bool:
        period = res.get(f"{prefix}Period")
        if isinstance(period, dict) and "start" in period:
            start = parse_date(period["start"], f"{prefix}Period.start")
        elif f"{prefix}DateTime" in res:
            start = parse_date(res[f"{prefix}DateTime"], f"{prefix}DateTime")
        else:
            raise Refused(f"{kind}: no start date")
        data: Json = {"kind": kind, "start": start}
        if isinstance(period, dict) and "end" in period:
            data["stop"] = parse_date(period["end"], f"{prefix}Period.end")
        self.lists["treatments"].append(make(Treatment, data))
        return True

    # --- Build -----------------------------------------------------------------------------------

    def build(self) -> Record:
        lesions: list[Lesion] = self.lists["lesions"]
        covered: set[str] = {lesion.site for lesion in lesions}
        cancer: Cancer | None = None
        if self.cancer_seen:
            data = dict(self.cancer)
            for receptor, (_, value) in self.receptors.items():
                data[receptor] = value
            if self.bone_mets:
                states = [p for p, _, _ in self.bone_mets]
                present = True if True in states else (False if False in states else None)
                dates = [d for p, d, _ in self.bone_mets if p is present and d is not None]
                data["bone_metastases"] = present
                data["bone_metastases_date"] = min(dates) if dates else None
                # Earliest first: a site seen again later keeps the date it was first seen.
                by_date = sorted(self.bone_mets, key=lambda x: (x[1] is None, x[1] or dt.date.min))
                for p, d, sites in by_date:
                    for site in sites:
                        if p is not True or site in covered:
                            continue
                        if d is None:
                            self.note(f"bone metastasis at {site} has no date: no lesion made")
                            continue
                        lesions.append(make(Lesion, {"date": d, "site": site}))
                        covered.add(site)
            cancer = make(Cancer, data)
        images: list[Imaging] = self.lists["imaging"]
        seen = {(i.date, i.modality) for i in images}
        for source in ("DiagnosticReport", "ImagingStudy"):
            for kind, img in self.extra_imaging:
                if kind == source and (img.date, img.modality) not in seen:
                    images.append(img)
                    seen.add((img.date, img.modality))
        demographics = Demographics.model_construct(
            birth_date=self.birth_date,
            sex=self.sex,  # type: ignore[arg-type]
            weights=self.lists.pop("weights"),
            heights=self.lists.pop("heights"),
            deceased=self.deceased,
            deceased_date=self.deceased_date,
        )
        return Record.model_validate(
            {"id": self.record_id, "demographics": demographics, "cancer": cancer, **self.lists}
        )
