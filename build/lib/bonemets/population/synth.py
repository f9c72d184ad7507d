"""`synth_export(out_dir, patients, seed)`: a realistic synthetic FHIR Bulk Data export, fast.

Fictional patients of a breast-cancer bone-metastasis clinic, written as the NDJSON files of a
Bulk Data export (Patient, Condition, Observation, MedicationAdministration, Procedure), with the
noise of real data: unrelated conditions (hypertension, diabetes, hyperlipidaemia...), unrelated
observations (blood pressure, heart rate, glucose, sodium, potassium), several labs per visit, US
and SI unit systems, standard codes only (LOINC, SNOMED CT, RxNorm, ICD-10-CM, UCUM: every code the
adapter reads comes from its own tables, `bonemets.adapters.fhir.codes`), entries in error, and the
lines of different patients interleaved and spread over several files per resource type.

Speed: each kind of resource is a template dict serialised once by orjson into a bytes %-format,
filled per resource; one `random.Random(seed)` per shard; lines are streamed to the files in chunks.
The same seed, reference date and shard count give the same bytes.
"""

from __future__ import annotations

import datetime as dt
import gzip
import multiprocessing as mp
import random
import re
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

import orjson

from bonemets.adapters.fhir.codes import OBS_CATEGORY, tables

Json = dict[str, Any]
TYPES = ("Patient", "Condition", "Observation", "MedicationAdministration", "Procedure")
CHUNK_PATIENTS = 2000

_STR = re.compile(rb"@\{(\w+)\}")
_NUM = re.compile(rb'"#\{(\w+):([^}]*)\}"')


class Template:
    """A resource dict with ``@{name}`` (inside strings) and ``"#{name:fmt}"`` (numbers) holes,
    serialised once; `fill` is one bytes %-format."""

    def __init__(self, obj: Json) -> None:
        raw = orjson.dumps(obj).replace(b"%", b"%%")
        raw = _NUM.sub(rb"%(\1)\2", raw)
        self.fmt = _STR.sub(rb"%(\1)s", raw)

    def fill(self, values: dict[bytes, Any]) -> bytes:
        return self.fmt % values


def _cc(system: str, code: str, display: str, text: str | None = None) -> Json:
    out: Json = {"coding": [{"system": system, "code": code, "display": display}]}
    if text:
        out["text"] = text
    return out


def _qty(value_fmt: str, unit: str, ucum: str) -> Json:
    return {"value": value_fmt, "unit": unit, "system": "http://unitsofmeasure.org", "code": ucum}


# --- templates ------------------------------------------------------------------------------------

SUBJECT = {"reference": "Patient/@{pid}"}


def _obs(code: Json, category: str, value: Json | None = None, **more: Any) -> Template:
    res: Json = {
        "resourceType": "Observation",
        "id": "@{id}",
        "meta": {"lastUpdated": "@{updated}"},
        "status": "@{status}",
        "category": [{"coding": [{"system": OBS_CATEGORY, "code": category}]}],
        "code": code,
        "subject": SUBJECT,
        "encounter": {"reference": "Encounter/@{enc}"},
        "effectiveDateTime": "@{when}",
        "issued": "@{when}",
    }
    if value is not None:
        res["valueQuantity"] = value
    res.update(more)
    return Template(res)


@dataclass(frozen=True, slots=True)
class LabSpec:
    template: Template
    low: float
    high: float
    fmt_scale: float = 1.0  # value in the template's unit = canonical * scale


class Templates:
    """All the templates, built once from the adapter's code tables."""

    def __init__(self) -> None:
        t = tables()
        loinc, snomed, rxnorm, icd = (
            t.systems["loinc"],
            t.systems["snomed"],
            t.systems["rxnorm"],
            t.systems["icd10cm"],
        )
        self.patient = Template(
            {
                "resourceType": "Patient",
                "id": "@{pid}",
                "meta": {"lastUpdated": "@{updated}"},
                "identifier": [
                    {
                        "type": {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                                    "code": "MR",
                                }
                            ]
                        },
                        "system": "urn:oid:2.16.840.1.113883.19.5",
                        "value": "@{mrn}",
                    }
                ],
                "name": [{"use": "official", "family": "@{family}", "given": ["@{given}"]}],
                "gender": "@{gender}",
                "birthDate": "@{birth}",
                "address": [{"city": "@{city}", "country": "GB"}],
            }
        )

        def lab(analyte: str, unit: str, low: float, high: float, fmt: str) -> LabSpec:
            code = t.lab_export[(analyte, unit)]
            ucum = next((k for k, v in t.ucum_lab_units.items() if v == unit and k == unit), unit)
            return LabSpec(
                _obs(
                    _cc(loinc, code.loinc, code.display, code.display),
                    "laboratory",
                    _qty(f"#{{value:{fmt}}}", unit, ucum),
                ),
                low,
                high,
            )

        # (analyte -> (US spec, SI spec)); ranges are typical, a few drawn outside on purpose.
        self.labs: dict[str, tuple[LabSpec, LabSpec]] = {
            "calcium_total": (
                lab("calcium_total", "mg/dL", 8.6, 10.3, ".1f"),
                lab("calcium_total", "mmol/L", 2.15, 2.58, ".2f"),
            ),
            "albumin": (
                lab("albumin", "g/dL", 3.2, 4.8, ".1f"),
                lab("albumin", "g/L", 32.0, 48.0, ".0f"),
            ),
            "creatinine": (
                lab("creatinine", "mg/dL", 0.55, 1.1, ".2f"),
                lab("creatinine", "umol/L", 50.0, 98.0, ".0f"),
            ),
            "alkaline_phosphatase": (
                lab("alkaline_phosphatase", "U/L", 40.0, 130.0, ".0f"),
                lab("alkaline_phosphatase", "U/L", 40.0, 130.0, ".0f"),
            ),
            "haemoglobin": (
                lab("haemoglobin", "g/dL", 10.5, 15.0, ".1f"),
                lab("haemoglobin", "g/L", 105.0, 150.0, ".0f"),
            ),
            "ca15_3": (
                lab("ca15_3", "U/mL", 8.0, 60.0, ".1f"),
                lab("ca15_3", "U/mL", 8.0, 60.0, ".1f"),
            ),
        }
        plt = t.labs_by_loinc["777-3"]
        self.platelets = (
            LabSpec(
                _obs(
                    _cc(loinc, plt.loinc, plt.display),
                    "laboratory",
                    _qty("#{value:.0f}", "10*3/uL", "10*3/uL"),
                ),
                150.0,
                400.0,
            ),
            LabSpec(
                _obs(
                    _cc(loinc, plt.loinc, plt.display),
                    "laboratory",
                    _qty("#{value:.0f}", "10*9/L", "10*9/L"),
                ),
                150.0,
                400.0,
            ),
        )
        # Noise: observations the pathway does not read.
        self.noise_labs = [
            LabSpec(
                _obs(
                    _cc(loinc, "2345-7", "Glucose [Mass/volume] in Serum or Plasma"),
                    "laboratory",
                    _qty("#{value:.0f}", "mg/dL", "mg/dL"),
                ),
                70.0,
                180.0,
            ),
            LabSpec(
                _obs(
                    _cc(loinc, "2951-2", "Sodium [Moles/volume] in Serum or Plasma"),
                    "laboratory",
                    _qty("#{value:.0f}", "mmol/L", "mmol/L"),
                ),
                134.0,
                146.0,
            ),
            LabSpec(
                _obs(
                    _cc(loinc, "2823-3", "Potassium [Moles/volume] in Serum or Plasma"),
                    "laboratory",
                    _qty("#{value:.1f}", "mmol/L", "mmol/L"),
                ),
                3.4,
                5.2,
            ),
            LabSpec(
                _obs(
                    _cc(loinc, "4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood"),
                    "laboratory",
                    _qty("#{value:.1f}", "%", "%"),
                ),
                5.0,
                8.5,
            ),
        ]
        self.bp = _obs(
            _cc(loinc, "85354-9", "Blood pressure panel with all children optional"),
            "vital-signs",
            None,
            component=[
                {
                    "code": _cc(loinc, "8480-6", "Systolic blood pressure"),
                    "valueQuantity": _qty("#{sys:.0f}", "mm[Hg]", "mm[Hg]"),
                },
                {
                    "code": _cc(loinc, "8462-4", "Diastolic blood pressure"),
                    "valueQuantity": _qty("#{dia:.0f}", "mm[Hg]", "mm[Hg]"),
                },
            ],
        )
        self.heart_rate = LabSpec(
            _obs(
                _cc(loinc, "8867-4", "Heart rate"),
                "vital-signs",
                _qty("#{value:.0f}", "/min", "/min"),
            ),
            55.0,
            100.0,
        )
        wt, ht = t.vitals["weight"], t.vitals["height"]
        self.weight = (
            _obs(
                _cc(loinc, wt["loinc"], wt["display"]),
                "vital-signs",
                _qty("#{value:.1f}", "lb", "[lb_av]"),
            ),
            _obs(
                _cc(loinc, wt["loinc"], wt["display"]),
                "vital-signs",
                _qty("#{value:.1f}", "kg", "kg"),
            ),
        )
        self.height = (
            _obs(
                _cc(loinc, ht["loinc"], ht["display"]),
                "vital-signs",
                _qty("#{value:.1f}", "in", "[in_i]"),
            ),
            _obs(
                _cc(loinc, ht["loinc"], ht["display"]),
                "vital-signs",
                _qty("#{value:.0f}", "cm", "cm"),
            ),
        )
        pos = t.receptor_value_export["positive"]
        neg = t.receptor_value_export["negative"]
        self.receptors: list[tuple[Template, Template]] = []
        for receptor in ("er", "pr", "her2"):
            test = t.receptor_export[receptor]
            pair = tuple(
                _obs(
                    _cc(loinc, test["loinc"], test["display"]),
                    "laboratory",
                    None,
                    valueCodeableConcept=_cc(snomed, v["code"], v["display"]),
                )
                for v in (pos, neg)
            )
            self.receptors.append((pair[0], pair[1]))

        def cond(system: str, code: str, display: str, **more: Any) -> Template:
            res: Json = {
                "resourceType": "Condition",
                "id": "@{id}",
                "meta": {"lastUpdated": "@{updated}"},
                "clinicalStatus": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                            "code": "active",
                        }
                    ]
                },
                "verificationStatus": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                            "code": "confirmed",
                        }
                    ]
                },
                "category": [
                    {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                                "code": "problem-list-item",
                            }
                        ]
                    }
                ],
                "code": _cc(system, code, display, display),
                "subject": SUBJECT,
                "onsetDateTime": "@{onset}",
                "recordedDate": "@{onset}",
            }
            res.update(more)
            return Template(res)

        def concept_code(concept: str, system: str) -> tuple[str, str]:
            for (sys_url, code), c in t.conditions.items():
                if c == concept and sys_url == system:
                    return code, concept.replace("_", " ")
            raise KeyError(concept)

        bc_snomed = next(e for e in [t.condition_export["breast_cancer"]])
        self.breast_cancer = [
            cond(snomed, bc_snomed["code"], bc_snomed["display"]),
            cond(icd, "C50.911", "Malignant neoplasm of unspecified site of right female breast"),
            cond(
                icd, "C50.412", "Malignant neoplasm of upper-outer quadrant of left female breast"
            ),
        ]
        mets_snomed, _ = concept_code("bone_metastasis", snomed)
        mets_icd, _ = concept_code("bone_metastasis", icd)
        self.bone_mets = [
            cond(snomed, mets_snomed, "Secondary malignant neoplasm of bone (disorder)"),
            cond(icd, mets_icd, "Secondary malignant neoplasm of bone"),
        ]
        self.sites = [(k, v) for k, v in t.site_export.items()]
        self.bone_mets_site = [
            cond(
                snomed,
                mets_snomed,
                "Secondary malignant neoplasm of bone (disorder)",
                bodySite=[_cc(snomed, v["code"], v["display"])],
            )
            for _, v in self.sites
        ]
        self.noise_conditions = [
            (0.40, cond(snomed, "38341003", "Hypertensive disorder, systemic arterial (disorder)")),
            (0.15, cond(icd, "E11.9", "Type 2 diabetes mellitus without complications")),
            (0.25, cond(snomed, "55822004", "Hyperlipidemia (disorder)")),
            (0.20, cond(snomed, "239873007", "Osteoarthritis of knee (disorder)")),
            (0.10, cond(icd, "J45.909", "Unspecified asthma, uncomplicated")),
            (0.12, cond(snomed, "35489007", "Depressive disorder (disorder)")),
        ]
        hf_code, _ = concept_code("heart_failure", snomed)
        self.heart_failure = cond(snomed, hf_code, "Heart failure (disorder)")

        def med(system: str, code: str, display: str, route: Json | None, dose: Json) -> Template:
            dosage: Json = {"dose": dose}
            if route is not None:
                dosage = {"route": route, "dose": dose}
            return Template(
                {
                    "resourceType": "MedicationAdministration",
                    "id": "@{id}",
                    "meta": {"lastUpdated": "@{updated}"},
                    "status": "@{status}",
                    "medicationCodeableConcept": _cc(system, code, display, display),
                    "subject": SUBJECT,
                    "context": {"reference": "Encounter/@{enc}"},
                    "effectiveDateTime": "@{when}",
                    "dosage": dosage,
                }
            )

        def route(name: str) -> Json:
            code = next(c for c, r in t.routes.items() if r == name)
            return _cc(snomed, code, {"iv": "Intravenous route", "sc": "Subcutaneous route"}[name])

        mg = _qty("#{dose:.0f}", "mg", "mg")
        self.zol = [
            med(rxnorm, "77655", "zoledronic acid", route("iv"), mg),
            med(rxnorm, "1114085", "100 ML zoledronic acid 0.04 MG/ML Injection", route("iv"), mg),
        ]
        self.deno = [
            med(rxnorm, "1046402", "1.7 ML denosumab 70 MG/ML Injection [Xgeva]", route("sc"), mg),
            med(rxnorm, "993449", "denosumab", route("sc"), mg),
        ]
        self.pam = [
            med(rxnorm, "1737449", "10 ML Pamidronate Disodium 3 MG/ML Injection", route("iv"), mg)
        ]
        for agent, _tmpls in (
            ("zoledronic_acid", self.zol),
            ("denosumab", self.deno),
            ("pamidronate", self.pam),
        ):
            assert all(
                t.meds.get(c) == agent
                for c in ("77655", "1046402", "1737449")
                if t.meds.get(c) == agent
            )
        self.noise_meds = [
            med(rxnorm, "26225", "ondansetron", route("iv"), mg),
            med(rxnorm, "3264", "dexamethasone", None, mg),
            med(rxnorm, "161", "acetaminophen", None, mg),
        ]

        def proc(system: str, code: str, display: str, **more: Any) -> Template:
            res: Json = {
                "resourceType": "Procedure",
                "id": "@{id}",
                "meta": {"lastUpdated": "@{updated}"},
                "status": "completed",
                "code": _cc(system, code, display, display),
                "subject": SUBJECT,
                "performedDateTime": "@{when}",
            }
            res.update(more)
            return Template(res)

        dental = t.dental_export["exam"]
        self.dental_exam = proc(snomed, dental["code"], dental["display"])
        img = {m: c for (s, c), m in t.imaging.items() if s == snomed}
        self.imaging = [
            proc(snomed, img["ct"], "Computerized axial tomography (procedure)"),
            proc(snomed, img["bone_scan"], "Nuclear medicine study of bone (procedure)"),
            proc(snomed, img["mri"], "Magnetic resonance imaging (procedure)"),
        ]
        rt = t.treatment_export["radiotherapy"]
        rt_res: Json = {
            "resourceType": "Procedure",
            "id": "@{id}",
            "status": "completed",
            "code": _cc(snomed, rt["code"], rt["display"], rt["display"]),
            "subject": SUBJECT,
            "performedPeriod": {"start": "@{start}", "end": "@{end}"},
        }
        self.radiotherapy = Template(rt_res)
        self.noise_procedures = [
            proc(snomed, "73761001", "Colonoscopy (procedure)"),
            proc(snomed, "71651007", "Mammography (procedure)"),
            proc(snomed, "86198006", "Influenza vaccination (procedure)"),
            proc(snomed, "430193006", "Medication reconciliation (procedure)"),
        ]


# --- patients -------------------------------------------------------------------------------------

_FAMILY = [
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel",
    "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall",
    "Khan", "Lewis", "Clarke", "Jackson", "Wood", "Harris", "Martin", "Cooper", "King", "Lee",
]  # fmt: skip
_GIVEN_F = [
    "Olivia", "Amelia", "Isla", "Ava", "Emily", "Sophia", "Grace", "Mia", "Poppy", "Ella",
    "Margaret", "Susan", "Linda", "Patricia", "Helen", "Sarah", "Fatima", "Aisha", "Mary", "Joan",
]  # fmt: skip
_GIVEN_M = ["John", "David", "Michael", "Peter", "Ahmed", "James", "Robert", "Paul"]
_CITIES = ["Leeds", "Bristol", "Manchester", "Norwich", "Cardiff", "Glasgow", "York", "Leicester"]


class _Gen:
    """One shard's generator: its own RNG, as_of, templates."""

    def __init__(self, tp: Templates, as_of: dt.date, seed: int, shard: int) -> None:
        self.t = tp
        self.rng = random.Random(f"bonemets-synth:{seed}:{shard}")
        self.as_of = as_of
        self.days = [(as_of - dt.timedelta(days=d)).isoformat().encode() for d in range(5000)]
        self.updated = (as_of.isoformat() + "T06:00:00Z").encode()
        self.prefix = b""
        self.counter = 0
        self.times = [b"T%02d:%02d:00Z" % (h, m) for h in range(7, 19) for m in (0, 15, 30, 45)]

    def new_patient_id(self) -> bytes:
        """A random UUID-shaped id; the patient's resources share its first 24 characters."""
        h = b"%032x" % self.rng.getrandbits(128)
        self.prefix = b"%s-%s-4%s-a%s-" % (h[:8], h[8:12], h[13:16], h[17:20])
        self.counter = self.rng.getrandbits(40)
        return self.prefix + h[20:32]

    def uuid(self) -> bytes:
        """The next resource id of the current patient (UUID-shaped, unique in the export)."""
        self.counter += 1
        return b"%s%012x" % (self.prefix, self.counter)

    def when(self, days_ago: int) -> bytes:
        return self.days[days_ago] + self.times[int(self.rng.random() * len(self.times))]

    def patient(self, out: dict[str, list[bytes]]) -> None:
        r = self.rng.random
        rng = self.rng
        tp = self.t
        pid = self.new_patient_id()
        female = r() < 0.97
        age = int(35 + r() * 55)
        birth = self.as_of.toordinal() - age * 365 - int(r() * 365)
        us = r() < 0.5  # the hospital's unit system
        upd = self.updated
        obs, cond, meds, procs = (
            out["Observation"],
            out["Condition"],
            out["MedicationAdministration"],
            out["Procedure"],
        )
        out["Patient"].append(
            tp.patient.fill(
                {
                    b"pid": pid,
                    b"updated": upd,
                    b"mrn": b"MRN%08d" % rng.getrandbits(26),
                    b"family": rng.choice(_FAMILY).encode(),
                    b"given": rng.choice(_GIVEN_F if female else _GIVEN_M).encode(),
                    b"gender": b"female" if female else b"male",
                    b"birth": dt.date.fromordinal(birth).isoformat().encode(),
                    b"city": rng.choice(_CITIES).encode(),
                }
            )
        )

        def c(tmpl: Template, onset: int) -> None:
            cond.append(
                tmpl.fill(
                    {b"id": self.uuid(), b"updated": upd, b"pid": pid, b"onset": self.days[onset]}
                )
            )

        dx = int(200 + r() * 2500)  # breast cancer diagnosed this many days ago
        c(rng.choice(tp.breast_cancer), dx)
        has_mets = r() < 0.9
        mets = int(30 + r() * min(dx - 20, 1400)) if has_mets else 0
        if has_mets:
            if r() < 0.5:
                c(tp.bone_mets_site[int(r() * len(tp.bone_mets_site))], mets)
            else:
                c(rng.choice(tp.bone_mets), mets)
        for p, tmpl in tp.noise_conditions:
            if r() < p:
                c(tmpl, int(300 + r() * 4000))
        if r() < 0.03:
            c(tp.heart_failure, int(100 + r() * 2000))
        for pair in tp.receptors:
            if r() < 0.7:
                obs.append(
                    pair[0 if r() < 0.7 else 1].fill(
                        {
                            b"id": self.uuid(),
                            b"updated": upd,
                            b"status": b"final",
                            b"pid": pid,
                            b"enc": self.uuid(),
                            b"when": self.when(dx),
                        }
                    )
                )

        # Bone-modifying agent: regimen, schedule, and how the last dose sits today.
        x = r()
        if not has_mets or x < 0.12:
            regimen, interval, dose, tmpls = "none", 0, 0.0, tp.zol
        elif x < 0.47:
            regimen, interval, dose, tmpls = "zol4", 28, 4.0, tp.zol
        elif x < 0.62:
            regimen, interval, dose, tmpls = "zol12", 84, 4.0, tp.zol
        elif x < 0.95:
            regimen, interval, dose, tmpls = "deno", 28, 120.0, tp.deno
        else:
            regimen, interval, dose, tmpls = "pam", 28, 90.0, tp.pam
        visits: list[int] = []
        if regimen != "none":
            y = r()
            last = (
                int(r() * interval * 0.9)
                if y < 0.6
                else (interval + int(r() * 10) if y < 0.8 else interval + 15 + int(r() * 120))
            )
            start = max(last, mets - int(r() * 30))
            if r() < 0.85:
                procs.append(
                    tp.dental_exam.fill(
                        {
                            b"id": self.uuid(),
                            b"updated": upd,
                            b"pid": pid,
                            b"when": self.when(min(start + 14 + int(r() * 60), 4999)),
                        }
                    )
                )
            tmpl = rng.choice(tmpls)
            day = last
            n = 0
            while day <= start and n < 8:  # the last eight doses of the course
                status = b"completed" if r() > 0.02 else b"not-done"
                meds.append(
                    tmpl.fill(
                        {
                            b"id": self.uuid(),
                            b"updated": upd,
                            b"status": status,
                            b"pid": pid,
                            b"enc": self.uuid(),
                            b"when": self.when(day),
                            b"dose": dose,
                        }
                    )
                )
                visits.append(day)
                day += interval + int(r() * 5) - 2
                n += 1
        else:
            visits = sorted({int(r() * 400) for _ in range(1 + int(r() * 4))})
        if r() < 0.3:
            noise = rng.choice(tp.noise_meds)
            meds.append(
                noise.fill(
                    {
                        b"id": self.uuid(),
                        b"updated": upd,
                        b"status": b"completed",
                        b"pid": pid,
                        b"enc": self.uuid(),
                        b"when": self.when(int(r() * 365)),
                        b"dose": 8.0,
                    }
                )
            )

        # Labs at dose visits (always the first and the latest): several tests per draw, in the
        # patient's unit system, around the patient's own baseline.
        u = 0 if us else 1
        weight = 55 + r() * 40
        base_of: dict[str, float] = {}
        shift = {  # a few patients away from the usual range
            "creatinine": 1.0 if r() < 0.88 else 1.5 + r() * 1.5,
            "calcium_total": 1.0 if r() < 0.95 else (1.15 if r() < 0.6 else 0.85),
            "haemoglobin": 1.0 if r() < 0.8 else 0.8,
            "alkaline_phosphatase": 1.0 if r() < 0.8 else 2.5,
            "albumin": 1.0,
        }
        visits.sort(reverse=True)  # earliest first
        last_i = len(visits) - 1
        for i, day in enumerate(visits):
            if 0 < i < last_i and r() < 0.4:
                continue
            enc = self.uuid()
            when = self.when(day)
            base = {b"updated": upd, b"status": b"final", b"pid": pid, b"enc": enc, b"when": when}

            def lab(spec: LabSpec, name: str = "", base: dict[bytes, Any] = base) -> None:
                mid = (spec.low + spec.high) / 2
                if name:
                    if name not in base_of:
                        base_of[name] = (mid + (r() - 0.5) * 0.7 * (spec.high - spec.low)) * shift[
                            name
                        ]
                    value = base_of[name] * (0.97 + r() * 0.06)
                else:
                    value = spec.low + r() * (spec.high - spec.low)
                obs.append(spec.template.fill({**base, b"id": self.uuid(), b"value": value}))

            labs = tp.labs
            lab(labs["creatinine"][u], "creatinine")
            if r() < 0.9:
                lab(labs["calcium_total"][u], "calcium_total")
            if r() < 0.6:
                lab(labs["albumin"][u], "albumin")
            if r() < 0.5:
                lab(labs["alkaline_phosphatase"][u], "alkaline_phosphatase")
            if r() < 0.6:
                lab(labs["haemoglobin"][u], "haemoglobin")
            if r() < 0.5:
                lab(tp.platelets[u])
            if r() < 0.4:
                lab(rng.choice(tp.noise_labs))
            if r() < 0.5:
                obs.append(
                    tp.bp.fill(
                        {**base, b"id": self.uuid(), b"sys": 105 + r() * 50, b"dia": 60 + r() * 30}
                    )
                )
            if r() < 0.3:
                lab(tp.heart_rate)
            if i == last_i or r() < 0.3:
                kg = weight + r() * 2
                obs.append(
                    tp.weight[u].fill(
                        {**base, b"id": self.uuid(), b"value": kg / 0.45359237 if us else kg}
                    )
                )
        if r() < 0.01 and obs:  # an entry in error: the adapter skips it
            obs[-1] = obs[-1].replace(b'"status":"final"', b'"status":"entered-in-error"', 1)
        if r() < 0.6:
            spec = tp.labs["ca15_3"][u]
            marker = (spec.low + r() * (spec.high - spec.low)) * (1.0 if r() > 0.2 else 3.0)
            obs.append(
                spec.template.fill(
                    {
                        b"id": self.uuid(),
                        b"updated": upd,
                        b"status": b"final",
                        b"pid": pid,
                        b"enc": self.uuid(),
                        b"when": self.when(int(r() * 200)),
                        b"value": marker,
                    }
                )
            )
        if r() < 0.5:
            cm = 150 + r() * 30 if female else 165 + r() * 25
            obs.append(
                tp.height[u].fill(
                    {
                        b"id": self.uuid(),
                        b"updated": upd,
                        b"status": b"final",
                        b"pid": pid,
                        b"enc": self.uuid(),
                        b"when": self.when(int(r() * 700)),
                        b"value": cm / 2.54 if us else cm,
                    }
                )
            )

        # Procedures: restaging imaging, radiotherapy, and unrelated ones.
        if has_mets:
            last_scan = int(r() * 120) if r() < 0.75 else 180 + int(r() * 300)
            for k in range(1 + int(r() * 2)):
                procs.append(
                    rng.choice(tp.imaging).fill(
                        {
                            b"id": self.uuid(),
                            b"updated": upd,
                            b"pid": pid,
                            b"when": self.when(min(last_scan + k * 100, 4999)),
                        }
                    )
                )
            if r() < 0.2:
                s = int(r() * 600) + 10
                procs.append(
                    tp.radiotherapy.fill(
                        {
                            b"id": self.uuid(),
                            b"pid": pid,
                            b"start": self.days[s],
                            b"end": self.days[s - 5],
                        }
                    )
                )
        for _ in range(int(r() * 3)):
            procs.append(
                rng.choice(tp.noise_procedures).fill(
                    {
                        b"id": self.uuid(),
                        b"updated": upd,
                        b"pid": pid,
                        b"when": self.when(int(r() * 1500)),
                    }
                )
            )


@dataclass(slots=True)
class SynthResult:
    files: list[Path]
    patients: int
    resources: int
    seconds: float


def _shard_paths(out: Path, shard: int, files_per_type: int, gz: bool) -> dict[str, list[Path]]:
    ext = ".ndjson.gz" if gz else ".ndjson"
    return {
        rtype: [
            out / f"{rtype}.{shard * files_per_type + i:03d}{ext}" for i in range(files_per_type)
        ]
        for rtype in TYPES
    }


def _write_shard(args: tuple[Path, int, int, int, int, dt.date, int, bool]) -> int:
    out, shard, _first, count, seed, as_of, files_per_type, gz = args
    gen = _Gen(Templates(), as_of, seed, shard)
    paths = _shard_paths(out, shard, files_per_type, gz)
    handles: dict[str, list[IO[bytes]]] = {}

    def opener(p: Path, stack: ExitStack) -> IO[bytes]:
        if gz:
            return cast(IO[bytes], stack.enter_context(gzip.open(p, "wb", compresslevel=1)))
        return stack.enter_context(p.open("wb", buffering=1 << 20))

    total = 0
    with ExitStack() as stack:
        for rtype, ps in paths.items():
            handles[rtype] = [opener(p, stack) for p in ps]
        done = 0
        while done < count:
            n = min(CHUNK_PATIENTS, count - done)
            buf: dict[str, list[bytes]] = {rtype: [] for rtype in TYPES}
            for _ in range(n):
                gen.patient(buf)
            for rtype, lines in buf.items():
                gen.rng.shuffle(lines)  # patients interleaved within a file
                fhs = handles[rtype]
                k = len(fhs)
                parts: list[list[bytes]] = [[] for _ in range(k)]
                for line in lines:
                    parts[int(gen.rng.random() * k)].append(line)
                for fh, part in zip(fhs, parts, strict=True):
                    if part:
                        fh.write(b"\n".join(part) + b"\n")
                total += len(lines)
            done += n
    return total


def synth_export(
    out: Path,
    patients: int,
    seed: int,
    *,
    as_of: dt.date,
    shards: int = 2,
    files_per_type: int = 2,
    gz: bool = False,
    workers: int = 2,
) -> SynthResult:
    """Write a synthetic Bulk Data export of `patients` patients to folder `out`.

    Patients are split over `shards` independent generators (each with its own seeded RNG and its
    own `files_per_type` files per resource type), run on up to `workers` processes. The same
    `seed`, `as_of`, `shards` and `files_per_type` give the same files, whatever `workers`.
    """
    if patients < 0:
        raise ValueError("patients must be >= 0")
    start = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    shards = max(1, min(shards, max(patients, 1)))
    per = [patients // shards + (1 if i < patients % shards else 0) for i in range(shards)]
    firsts = [sum(per[:i]) for i in range(shards)]
    jobs = [(out, i, firsts[i], per[i], seed, as_of, files_per_type, gz) for i in range(shards)]
    if workers > 1 and shards > 1:
        method = "fork" if sys.platform.startswith("linux") else "spawn"
        with mp.get_context(method).Pool(min(workers, shards)) as pool:
            counts = pool.map(_write_shard, jobs)
    else:
        counts = [_write_shard(job) for job in jobs]
    files = sorted(
        p
        for i in range(shards)
        for ps in _shard_paths(out, i, files_per_type, gz).values()
        for p in ps
    )
    return SynthResult(files, patients, sum(counts), time.perf_counter() - start)
