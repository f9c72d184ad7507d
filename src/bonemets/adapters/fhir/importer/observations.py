"""Observation: labs, body measurements, receptor status, bone lesions."""

from __future__ import annotations

from typing import Any

from bonemets.adapters.fhir.codes import (
    CS_LESION_FIELD,
    CS_LESION_VALUE,
    CS_OBSERVATION,
    CS_RECEPTOR_STATUS,
    ID_LESION,
)
from bonemets.adapters.fhir.importer.base import PatientBase
from bonemets.adapters.fhir.importer.common import (
    SKIP_STATUS,
    Json,
    Refused,
    code_in,
    codings,
    make,
    status_of,
)
from bonemets.core.errors import InputError
from bonemets.core.record import (
    Height,
    Lab,
    Lesion,
    Weight,
)
from bonemets.core.units import ANALYTES, convert

PQ_TRANSLATION = "http://hl7.org/fhir/StructureDefinition/iso21090-PQ-translation"


class ObservationReader(PatientBase):
    # --- Observation -----------------------------------------------------------------------------

    def observation(self, res: Json) -> bool:
        if status_of(res) in SKIP_STATUS:
            return False
        t = self.t
        code = res.get("code")
        codings = code.get("coding") if isinstance(code, dict) else None
        if not isinstance(codings, list):
            return False
        loinc = t.systems["loinc"]
        for c in codings:
            if not isinstance(c, dict):
                continue
            system, value = c.get("system"), c.get("code")
            if system == loinc:
                if value in t.labs_by_loinc:
                    return self.lab(res, t.labs_by_loinc[value].analyte)
                if value in t.vitals_by_loinc:
                    return self.vital(res, *t.vitals_by_loinc[value])
                if value in t.receptor_by_loinc:
                    return self.receptor(res, t.receptor_by_loinc[value])
            elif system == CS_OBSERVATION and value == "bone-lesion":
                return self.lesion(res)
            elif (
                isinstance(system, str)
                and isinstance(value, str)
                and t.conditions.get((system, value)) == "bone_metastasis"
            ):
                return self.metastasis_finding(res)
        return False

    def metastasis_finding(self, res: Json) -> bool:
        """An Observation coded as a bone metastasis whose value is the skeletal site (how a
        Synthea module, which cannot put a body site on a condition, records where it is):
        read as a bone-metastasis condition at that site, dated by the observation."""
        site = self.site(res.get("valueCodeableConcept")) or self.site(res.get("bodySite"))
        if site is None:
            # The finding still says bone metastases are present: keep that, without a lesion.
            self.note(f"Observation/{res.get('id')}: bone metastasis site not placed in a region")
        self.bone_mets.append((True, self._effective(res), [site] if site else []))
        self.cancer_seen = True
        return True

    def _lab_unit(self, unit: str | None, what: str) -> str:
        if unit is None:
            raise Refused(f"{what} has no unit")
        return self.t.ucum_lab_units.get(unit, unit)

    def lab(self, res: Json, analyte: str) -> bool:
        q = res.get("valueQuantity")
        if q is None:
            self.note(f"Observation/{res.get('id')}: {analyte} has no valueQuantity; skipped")
            return False
        if isinstance(q, dict) and q.get("comparator") is not None:
            self.note(
                f"Observation/{res.get('id')}: {analyte} {q.get('comparator')}{q.get('value')} "
                "is a bound, not a value; skipped"
            )
            return False
        value, raw_unit = self._quantity(q, "valueQuantity")
        recorded = self._translation(q)
        if recorded is not None:
            # The value as first recorded (e.g. 25-OH vitamin D in nmol/L written under the mass
            # LOINC code in ng/mL): read back in its own unit, so a round trip is exact.
            value, raw_unit = recorded
        unit = self._lab_unit(raw_unit, "valueQuantity")
        data: Json = {
            "code": analyte,
            "unit": unit,
            "value": value,
            "date": self._effective(res),
        }
        ranges = res.get("referenceRange")
        if isinstance(ranges, list) and ranges and isinstance(ranges[0], dict):
            for key, name in (("low", "lower_limit"), ("high", "upper_limit")):
                if key in ranges[0]:
                    limit, limit_unit = self._quantity(ranges[0][key], f"referenceRange.{key}")
                    limit, limit_unit = self._translation(ranges[0][key]) or (limit, limit_unit)
                    lu = self._lab_unit(limit_unit or raw_unit, f"referenceRange.{key}")
                    if lu != unit:
                        if analyte not in ANALYTES:
                            raise Refused(f"referenceRange.{key} unit {lu!r} differs from {unit!r}")
                        try:
                            limit = convert(analyte, limit, lu, unit)
                        except InputError as exc:
                            raise Refused(f"referenceRange.{key}: {exc.message}") from None
                    data[name] = limit
        self.lists["labs"].append(make(Lab, data))
        return True

    def _translation(self, q: Any) -> tuple[float, str | None] | None:
        """The iso21090-PQ-translation extension's quantity of `q`, when it has one."""
        extensions = q.get("extension") if isinstance(q, dict) else None
        for ext in extensions if isinstance(extensions, list) else []:
            if isinstance(ext, dict) and ext.get("url") == PQ_TRANSLATION:
                return self._quantity(ext.get("valueQuantity"), "valueQuantity translation")
        return None

    def vital(self, res: Json, kind: str, units: dict[str, float]) -> bool:
        q = res.get("valueQuantity")
        if q is None:
            return False
        value, unit = self._quantity(q, "valueQuantity")
        if unit not in units and isinstance(unit, str):
            # A unit written as text without a UCUM code ("lbs"): read when it is unambiguous.
            unit = self.t.vital_unit_text.get(kind, {}).get(unit.strip().lower(), unit)
        if unit not in units:
            raise Refused(f"{kind} unit {unit!r} is not one of {sorted(units)}")
        date = self._effective(res)
        if kind == "weight":
            self.lists["weights"].append(make(Weight, {"date": date, "kg": value * units[unit]}))
        else:
            self.lists["heights"].append(make(Height, {"date": date, "cm": value * units[unit]}))
        return True

    def receptor(self, res: Json, receptor: str) -> bool:
        cc = res.get("valueCodeableConcept")
        value = code_in(cc, CS_RECEPTOR_STATUS)
        if value is None:
            for c in codings(cc):
                key = (c.get("system"), c.get("code"))
                if key in self.t.receptor_values:
                    value = self.t.receptor_values[key]
                    break
        if value is None:
            self.note(f"Observation/{res.get('id')}: {receptor} value not recognised; skipped")
            return False
        date = None
        if any(k in res for k in ("effectiveDateTime", "effectivePeriod", "effectiveInstant")):
            date = self._effective(res)
        old = self.receptors.get(receptor)
        if old is None or (date is not None and (old[0] is None or date >= old[0])):
            self.receptors[receptor] = (date, value)
        self.cancer_seen = True
        return True

    def lesion(self, res: Json) -> bool:
        site = self.site(res.get("bodySite"))
        if site is None:
            raise Refused("bone lesion without a recognised bodySite")
        data: Json = {"date": self._effective(res), "site": site}
        for ident in res.get("identifier") or []:
            if isinstance(ident, dict) and ident.get("system") == ID_LESION:
                data["id"] = ident.get("value")
        sins: Json | None = None
        for comp in res.get("component") or []:
            name = code_in(comp.get("code"), CS_LESION_FIELD)
            coded = code_in(comp.get("valueCodeableConcept"), CS_LESION_VALUE)
            if name == "type":
                data["type"] = coded
            elif name == "mirels-pain":
                data["pain"] = coded
            elif name == "size-fraction":
                data["size_fraction"] = self._quantity(comp.get("valueQuantity"), name)[0]
            elif name == "sins-recorded":
                sins = sins if sins is not None else {}
            elif name is not None and name.startswith("sins-"):
                sins = sins if sins is not None else {}
                sins[name.removeprefix("sins-")] = coded
        if sins is not None:
            data["sins"] = sins
        self.lists["lesions"].append(make(Lesion, data))
        return True
