"""The patient record: typed pydantic models of what the pathway rules read.

Unknown stays unknown: every clinical value is optional and defaults to ``None`` or an empty list,
never to a typical patient. Lab units are checked against the knowledge files
(``bonemets.core.units``) when the record is read, so a unit mix-up is refused naming the field.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

from bonemets.core.errors import InputError
from bonemets.core.knowledge import load
from bonemets.core.triage.models import LabCode as TriageLabCode
from bonemets.core.triage.models import Symptom, SymptomCode, symptom_catalogue
from bonemets.core.types import IsoDate
from bonemets.core.units import ANALYTES, check_plausible, normalise_unit

Date = IsoDate
Sex = Literal["female", "male"]
Agent = Literal["zoledronic_acid", "pamidronate", "ibandronate", "clodronate", "denosumab"]
Route = Literal["iv", "sc", "oral"]
Receptor = Literal["positive", "negative", "low", "unknown"]
# What a bone-modifying agent is given for: the regimens of knowledge/agents.toml are per
# indication (a Prolia course for bone loss is not the bone-metastasis regimen).
Indication = Literal["bone_metastases", "adjuvant", "osteoporosis"]
StopReason = Literal["onj", "completed", "patient_choice", "adverse_event", "other"]

# The triage contract's lab codes, plus tumour markers (which no rule grades).
LabCode = Literal[TriageLabCode, "ca15_3", "ca27_29", "cea"]
TUMOUR_MARKERS: tuple[str, ...] = ("ca15_3", "ca27_29", "cea")
# Units accepted for tumour markers (not in the labs knowledge file: no rule grades them).
_MARKER_UNITS: dict[str, dict[str, str]] = {
    "ca15_3": {"u/ml": "U/mL", "ku/l": "U/mL", "iu/ml": "U/mL"},
    "ca27_29": {"u/ml": "U/mL", "ku/l": "U/mL", "iu/ml": "U/mL"},
    "cea": {"ng/ml": "ng/mL", "ug/l": "ng/mL", "µg/l": "ng/mL", "μg/l": "ng/mL"},
}

_VERTEBRAE: tuple[str, ...] = (
    *(f"C{i}" for i in range(1, 8)),
    *(f"T{i}" for i in range(1, 13)),
    *(f"L{i}" for i in range(1, 6)),
    *(f"S{i}" for i in range(1, 6)),
)
LesionSite = Literal[
    "C1", "C2", "C3", "C4", "C5", "C6", "C7",
    "T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9", "T10", "T11", "T12",
    "L1", "L2", "L3", "L4", "L5",
    "S1", "S2", "S3", "S4", "S5",
    "femur_head_neck", "femur_peritrochanteric", "femur_shaft", "femur_distal",
    "humerus_proximal", "humerus_shaft", "humerus_distal",
    "radius", "ulna", "tibia", "fibula",
    "pelvis_ilium", "pelvis_acetabulum", "pelvis_pubis", "pelvis_ischium",
    "sacrum", "rib", "sternum", "scapula", "clavicle", "skull",
]  # fmt: skip
VERTEBRAL_LEVELS: frozenset[str] = frozenset(_VERTEBRAE)
SPINAL_SITES: frozenset[str] = VERTEBRAL_LEVELS | {"sacrum"}

# Symptoms use the triage contract's own model: one catalogue, one validation.


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- Demographics ---------------------------------------------------------------------------------


class Weight(_Model):
    date: Date
    kg: float = Field(gt=0, lt=1000, description="Body weight in kilograms (actual body weight).")


class Height(_Model):
    date: Date
    cm: float = Field(gt=0, lt=300)


class Demographics(_Model):
    birth_date: Date | None = None
    sex: Sex | None = None
    weights: list[Weight] = Field(default_factory=list)
    heights: list[Height] = Field(default_factory=list)
    deceased: bool | None = Field(
        None, description="True when the record says the patient has died (date may be unknown)."
    )
    deceased_date: Date | None = Field(None, description="Date of death, when recorded.")


# --- Cancer and lesions ---------------------------------------------------------------------------


class Cancer(_Model):
    primary_site: str | None = Field(None, description='e.g. "breast"')
    er: Receptor | None = None
    pr: Receptor | None = None
    her2: Receptor | None = None
    bone_metastases: bool | None = Field(
        None, description="True when bone metastases are diagnosed; None when not recorded."
    )
    bone_metastases_date: Date | None = Field(
        None, description="Date bone metastases were diagnosed."
    )


class SinsInputs(_Model):
    """SINS components other than location and lesion type (Fisher 2010)."""

    pain: Literal["mechanical", "occasional", "none"] | None = None
    alignment: Literal["subluxation", "de_novo_deformity", "normal"] | None = None
    collapse: Literal["over_50", "under_50", "none_over_50_involved", "none"] | None = None
    posterolateral: Literal["bilateral", "unilateral", "none"] | None = None


class Lesion(_Model):
    id: str | None = Field(
        None,
        description="Same id across dates means the same lesion seen again; the latest counts.",
    )
    date: Date = Field(description="Date the lesion was seen (imaging or examination).")
    site: LesionSite
    type: Literal["lytic", "blastic", "mixed"] | None = None
    size_fraction: float | None = Field(
        None, ge=0, le=1, description="Fraction of the bone's diameter involved (Mirels), 0-1."
    )
    pain: Literal["mild", "moderate", "functional"] | None = Field(
        None, description="Mirels pain (long bones)."
    )
    sins: SinsInputs | None = Field(None, description="SINS inputs (spinal lesions).")


# --- Labs -----------------------------------------------------------------------------------------


class Lab(_Model):
    code: LabCode
    unit: str
    value: float
    date: Date
    lower_limit: float | None = None
    upper_limit: float | None = None
    reported_by_patient: bool = Field(
        False,
        description="True for a value the patient typed in (not from a laboratory or the care "
        "team): triaged and shown as needing confirmation, never used for dosing, holds, lab "
        "alerts or monitoring, and never in place of a confirmed value.",
    )

    @field_validator("unit")
    @classmethod
    def _unit_fits(cls, unit: str, info: ValidationInfo) -> str:
        code = info.data.get("code")
        if code is None:
            return unit
        if code in TUMOUR_MARKERS:
            accepted = _MARKER_UNITS[code]
            if unit in accepted.values():
                return unit
            spelled = accepted.get(unit.strip().lower())
            if spelled is None:
                raise ValueError(
                    f"unit {unit!r} does not fit {code}; expected {sorted(set(accepted.values()))}"
                )
            return spelled
        try:
            return normalise_unit(code, unit)
        except InputError as exc:
            raise ValueError(exc.message) from None

    @field_validator("value")
    @classmethod
    def _plausible(cls, value: float, info: ValidationInfo) -> float:
        code, unit = info.data.get("code"), info.data.get("unit")
        if code is None or unit is None:
            return value
        if code in TUMOUR_MARKERS:
            if value < 0:
                raise ValueError(f"{code} cannot be negative")
            return value
        try:
            check_plausible(code, value, unit)
        except InputError as exc:
            raise ValueError(exc.message) from None
        return value


assert set(ANALYTES) | set(TUMOUR_MARKERS) == set(get_args(LabCode))


# --- Bone-modifying agents ------------------------------------------------------------------------


def _route_fits(agent: str, route: str | None) -> str | None:
    routes: list[str] = load("agents")["agents"][agent]["routes"]
    if route is not None and route not in routes:
        raise ValueError(f"{agent} is not given by route {route!r}; expected one of {routes}")
    return route


class BmaDose(_Model):
    agent: Agent
    date: Date
    dose: float | None = Field(None, gt=0)
    unit: Literal["mg"] = "mg"
    route: Route | None = None
    product_code: str | None = Field(
        None, max_length=40, description="RxNorm code of the product given, when recorded."
    )
    indication: Indication | None = None

    @field_validator("route")
    @classmethod
    def _route(cls, route: str | None, info: ValidationInfo) -> str | None:
        agent = info.data.get("agent")
        return route if agent is None else _route_fits(agent, route)


class BmaPlan(_Model):
    """A decision about the bone-modifying agent, effective from `date` until the next plan."""

    date: Date
    agent: Agent
    route: Route | None = None
    interval_weeks: float | None = Field(None, gt=0, le=52)
    stop: bool = Field(False, description="True: the agent was stopped on this date.")
    stop_reason: StopReason | None = Field(None, description="Why it was stopped, when known.")
    hold: bool = Field(
        False, description="True: doses are on hold from this date (the course is not over)."
    )
    ended: bool = Field(
        False,
        description="True: the order is known to have ended at an unknown date after `date` "
        "(an outside system's completed or stopped prescription): no longer an active order.",
    )
    dose: float | None = Field(None, gt=0, description="Planned dose (mg), when recorded.")
    product_code: str | None = Field(None, max_length=40)
    indication: Indication | None = None

    @field_validator("route")
    @classmethod
    def _route(cls, route: str | None, info: ValidationInfo) -> str | None:
        agent = info.data.get("agent")
        return route if agent is None else _route_fits(agent, route)


class DentalExam(_Model):
    date: Date
    outcome: Literal["fit", "treatment_needed", "unknown"] | None = None


class DentalProcedure(_Model):
    date: Date
    kind: Literal["extraction", "implant", "root_canal", "periodontal_surgery", "other"]
    invasive: bool | None = None


class Imaging(_Model):
    date: Date
    modality: Literal["ct", "bone_scan", "mri", "pet_ct", "x_ray", "other"]
    finding: Literal["progression", "stable", "response", "new_lesion", "other"] | None = None


class Supplement(_Model):
    """What the patient takes daily, as reported on `date`."""

    date: Date
    kind: Literal["calcium", "vitamin_d"]
    daily_amount: float | None = Field(None, ge=0, description="mg calcium or IU vitamin D a day.")
    unit: Literal["mg", "IU"]
    active: bool | None = Field(None, description="False: reported as not taking it.")
    stopped: Date | None = None

    @field_validator("unit")
    @classmethod
    def _unit_fits(cls, unit: str, info: ValidationInfo) -> str:
        kind = info.data.get("kind")
        expected = {"calcium": "mg", "vitamin_d": "IU"}.get(kind or "")
        if expected is not None and unit != expected:
            raise ValueError(f"{kind} is recorded in {expected}, not {unit}")
        return unit


class Condition(_Model):
    code: Literal["heart_failure", "pregnancy", "dialysis"]
    date: Date = Field(description="Date recorded or onset.")
    resolved: Date | None = None


class Treatment(_Model):
    kind: Literal[
        "chemotherapy",
        "endocrine_therapy",
        "targeted_therapy",
        "immunotherapy",
        "radiotherapy",
        "opioid",
        "central_line",
    ]
    start: Date
    stop: Date | None = None
    ended: bool = Field(
        False,
        description="True: known to have ended at an unknown date (an outside system's completed "
        "order): whether it is still going is unknown, never assumed.",
    )


FilledInBy = Literal["patient", "carer", "care_team"]


class SymptomReport(_Model):
    date: Date
    symptoms: list[Symptom] = Field(default_factory=list)
    free_text: str | None = None
    # Who filled it in (the triage contract's optional `filled_in_by`): set by the app from the
    # account that sent it, never taken from the sender; None when not known (older reports,
    # imports).
    filled_in_by: FilledInBy | None = None

    @field_validator("symptoms")
    @classmethod
    def _as_reported(cls, symptoms: list[Symptom]) -> list[Symptom]:
        for i, symptom in enumerate(symptoms):
            if symptom.reported_on is not None:
                raise ValueError(
                    f"symptoms[{i}].reported_on is set by the engine on open red flags; a report "
                    "gives what is felt on its own date"
                )
        return symptoms


class SymptomResolution(_Model):
    """A clinician's record that a reported symptom is resolved (or explained and no longer a
    red flag): it closes that symptom from reports on or before `date`. A later report of it
    opens it again."""

    date: Date
    code: SymptomCode
    site: str | None = Field(None, description="Only this site of the symptom; none: every site.")
    note: str | None = Field(None, max_length=2000)

    @field_validator("site")
    @classmethod
    def _site_fits(cls, site: str | None, info: ValidationInfo) -> str | None:
        code = info.data.get("code")
        if site is not None and code is not None:
            allowed: list[str] = symptom_catalogue()[code]["sites"]
            if site not in allowed:
                raise ValueError(f"{site!r} does not apply to {code} (allowed: {allowed})")
        return site


class Record(_Model):
    """One patient's record: the input of ``bonemets.core.pathway.assess``."""

    id: str
    demographics: Demographics = Field(default_factory=Demographics)
    cancer: Cancer | None = None
    lesions: list[Lesion] = Field(default_factory=list)
    labs: list[Lab] = Field(default_factory=list)
    bma_doses: list[BmaDose] = Field(default_factory=list)
    bma_plans: list[BmaPlan] = Field(default_factory=list)
    dental_exams: list[DentalExam] = Field(default_factory=list)
    dental_procedures: list[DentalProcedure] = Field(default_factory=list)
    imaging: list[Imaging] = Field(default_factory=list)
    supplements: list[Supplement] = Field(default_factory=list)
    conditions: list[Condition] = Field(default_factory=list)
    treatments: list[Treatment] = Field(default_factory=list)
    symptom_reports: list[SymptomReport] = Field(default_factory=list)
    symptom_resolutions: list[SymptomResolution] = Field(default_factory=list)

    def _dated_after(self, day: dt.date) -> bool:
        """True when a date in the record (of an entry, a stop or a resolution) is after `day`."""
        demo, mets = self.demographics, self.cancer.bone_metastases_date if self.cancer else None
        if mets is not None and mets > day:
            return True
        if demo.deceased_date is not None and demo.deceased_date > day:
            return True
        for dated in (
            demo.weights,
            demo.heights,
            self.lesions,
            self.labs,
            self.bma_doses,
            self.bma_plans,
            self.dental_exams,
            self.dental_procedures,
            self.imaging,
            self.symptom_reports,
            self.symptom_resolutions,
        ):
            for x in dated:
                if x.date > day:
                    return True
        return (
            any(
                x.date > day or (x.stopped is not None and x.stopped > day)
                for x in self.supplements
            )
            or any(
                x.date > day or (x.resolved is not None and x.resolved > day)
                for x in self.conditions
            )
            or any(x.start > day or (x.stop is not None and x.stop > day) for x in self.treatments)
        )

    def as_of(self, day: dt.date) -> Record:
        """The record as it stood on `day`: everything dated after it is dropped.

        Stop/resolution dates after `day` are not yet known on `day`, so they are cleared (entries
        are frozen: those that do not change are shared, not copied). A record with nothing after
        `day`, the usual case, is returned as it is.
        """
        return self._cut(day) if self._dated_after(day) else self

    def _cut(self, day: dt.date) -> Record:
        def keep(d: dt.date) -> bool:
            return d <= day

        def later(d: dt.date | None) -> bool:  # a stop not yet known on `day`
            return d is not None and d > day

        died_later = later(self.demographics.deceased_date)
        demo = self.demographics.model_copy(
            update={
                "weights": [w for w in self.demographics.weights if keep(w.date)],
                "heights": [h for h in self.demographics.heights if keep(h.date)],
                # A death after `day` is not known on `day`.
                "deceased": None if died_later else self.demographics.deceased,
                "deceased_date": None if died_later else self.demographics.deceased_date,
            }
        )
        cancer = self.cancer
        if (
            cancer is not None
            and cancer.bone_metastases_date is not None
            and not keep(cancer.bone_metastases_date)
        ):
            cancer = cancer.model_copy(
                update={"bone_metastases_date": None, "bone_metastases": None}
            )
        return self.model_copy(
            update={
                "demographics": demo,
                "cancer": cancer,
                "lesions": [x for x in self.lesions if keep(x.date)],
                "labs": [x for x in self.labs if keep(x.date)],
                "bma_doses": [x for x in self.bma_doses if keep(x.date)],
                "bma_plans": [x for x in self.bma_plans if keep(x.date)],
                "dental_exams": [x for x in self.dental_exams if keep(x.date)],
                "dental_procedures": [x for x in self.dental_procedures if keep(x.date)],
                "imaging": [x for x in self.imaging if keep(x.date)],
                "supplements": [
                    x.model_copy(update={"stopped": None}) if later(x.stopped) else x
                    for x in self.supplements
                    if keep(x.date)
                ],
                "conditions": [
                    x.model_copy(update={"resolved": None}) if later(x.resolved) else x
                    for x in self.conditions
                    if keep(x.date)
                ],
                "treatments": [
                    x.model_copy(update={"stop": None}) if later(x.stop) else x
                    for x in self.treatments
                    if keep(x.start)
                ],
                "symptom_reports": [x for x in self.symptom_reports if keep(x.date)],
                "symptom_resolutions": [x for x in self.symptom_resolutions if keep(x.date)],
            }
        )
