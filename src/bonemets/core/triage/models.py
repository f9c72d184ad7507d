"""The triage contract (shared/spec/triage.md) as pydantic models.

Field names and codes are public: add, never rename. Unknown input fields are refused, because a
misspelt field (``"serverity": 4``) silently ignored would under-triage.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cache
from typing import Annotated, Any, Literal

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    model_validator,
)

from bonemets import ENGINE_VERSION
from bonemets.core.errors import InputError
from bonemets.core.knowledge import load
from bonemets.core.levels import Level
from bonemets.core.types import IsoDate
from bonemets.core.units import check_plausible, normalise_unit

Agent = Literal["zoledronic_acid", "pamidronate", "ibandronate", "clodronate", "denosumab", "none"]
Sex = Literal["female", "male", "other", "unknown"]
Trend = Literal["new", "worse", "same", "better"]
LabCode = Literal[
    "calcium_total",
    "calcium_ionized",
    "calcium_corrected",
    "albumin",
    "creatinine",
    "alkaline_phosphatase",
    "platelets",
    "haemoglobin",
    "vitamin_d_25oh",
    "neutrophils",
]


@cache
def symptom_catalogue() -> dict[str, dict[str, Any]]:
    table: dict[str, dict[str, Any]] = load("symptoms")
    return table


SymptomCode = Literal[
    "back_pain", "radiating_pain", "limb_weakness", "difficulty_walking", "numbness_tingling",
    "bladder_problem", "bowel_control_loss", "bone_pain", "thigh_hip_groin_pain",
    "suspected_fracture", "thirst", "passing_much_urine", "nausea_vomiting", "constipation",
    "loss_of_appetite", "confusion", "drowsiness", "fatigue", "muscle_weakness",
    "muscle_cramps_twitching", "seizure", "jaw_pain", "loose_teeth", "gum_problem",
    "exposed_bone_mouth", "ear_pain_discharge", "leg_swelling", "leg_pain_redness_warmth",
    "line_site_swelling", "shortness_of_breath", "chest_pain", "coughing_blood", "fever",
    "bruising_bleeding", "flu_like_after_infusion", "headache", "other",
    # Acute oncology (added 2026-12): treatment toxicities graded as UKONS grades them.
    "diarrhoea", "mouth_sores", "reduced_intake", "rash", "urinary_symptoms", "cough",
    "sore_throat", "abdominal_pain", "dizziness_fainting", "eye_problem",
]  # fmt: skip

# Measured values a symptom may carry (added to the contract 2026-12), each on its codes only.
MEASURES: dict[str, str] = {
    "temperature_c": "fever",
    "stools_per_day": "diarrhoea",
    "days_without_stool": "constipation",
    "vomits_per_day": "nausea_vomiting",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BmaContext(_Strict):
    agent: Agent | None = None
    started: IsoDate | None = None
    last_dose: IsoDate | None = None


class PatientContext(_Strict):
    """What the engine knows about the patient. Every field may be unknown (null or absent)."""

    age: Annotated[int, Field(ge=0, le=125, strict=True)] | None = None
    sex: Sex | None = None
    cancer_history: bool | None = None
    bone_metastases: bool | None = None
    spinal_metastases: bool | None = None
    bma: BmaContext | None = None
    on_chemotherapy: bool | None = None
    on_opioids: bool | None = None
    central_line: bool | None = None
    # Acute oncology (added 2026-12). Unknown is the less reassuring case, as everywhere.
    days_since_chemotherapy: Annotated[int, Field(ge=0, le=36500, strict=True)] | None = None
    on_immunotherapy: bool | None = None
    on_targeted_therapy: bool | None = None
    on_radiotherapy: bool | None = None

    @property
    def bma_status(self) -> bool | None:
        """True on a bone-modifying agent, False if known not to be, None if unknown."""
        if self.bma is None or self.bma.agent is None:
            return None
        return self.bma.agent != "none"


class Symptom(_Strict):
    code: SymptomCode
    severity: Annotated[int, Field(ge=0, le=4, strict=True)] = 2
    duration_days: Annotated[float, Field(ge=0, le=36500)] | None = None
    trend: Trend | None = None
    site: str | None = None
    features: list[str] = Field(default_factory=list)
    # PRO-CTCAE-style answers (added to the contract; knowledge/pro_ctcae.toml): how often
    # (0 never .. 4 almost constantly), how much it gets in the way (0 not at all .. 4 very
    # much) and a 0-10 pain score. Triage reads them only to raise the severity (context.py).
    frequency: Annotated[int, Field(ge=0, le=4, strict=True)] | None = None
    interference: Annotated[int, Field(ge=0, le=4, strict=True)] | None = None
    pain_score: Annotated[int, Field(ge=0, le=10, strict=True)] | None = None
    # Set on a symptom reported before `as_of` and not yet resolved, carried into today's
    # triage (a red flag stays part of the picture until it is closed).
    reported_on: IsoDate | None = None
    # Measured values (acute oncology): the temperature in degrees C (below 36 counts too),
    # stools per day above the usual, days without opening the bowels, vomits per day.
    temperature_c: Annotated[float, Field(ge=25, le=45)] | None = None
    stools_per_day: Annotated[int, Field(ge=0, le=100, strict=True)] | None = None
    days_without_stool: Annotated[int, Field(ge=0, le=365, strict=True)] | None = None
    vomits_per_day: Annotated[int, Field(ge=0, le=100, strict=True)] | None = None

    @model_validator(mode="after")
    def _site_and_features_fit(self) -> Symptom:
        entry = symptom_catalogue()[self.code]
        for name, code in MEASURES.items():
            if getattr(self, name) is not None and self.code != code:
                raise InputError(name, f"{name} applies only to {code}, not to {self.code}")
        if self.site is not None and self.site not in entry["sites"]:
            allowed = ", ".join(entry["sites"]) or "none"
            raise InputError(
                "site", f"{self.site!r} does not apply to {self.code} (allowed: {allowed})"
            )
        for i, feature in enumerate(self.features):
            if feature not in entry["features"]:
                allowed = ", ".join(entry["features"]) or "none"
                raise InputError(
                    f"features[{i}]",
                    f"{feature!r} does not apply to {self.code} (allowed: {allowed})",
                )
        return self


def _finite(value: float) -> float:
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("must be a finite number")
    return value


Finite = Annotated[float, Field(strict=True), AfterValidator(_finite)]


class Lab(_Strict):
    code: LabCode
    value: Finite
    unit: str
    date: IsoDate | None = None
    lower_limit: Finite | None = None
    upper_limit: Finite | None = None
    # A value the patient typed in (not from a laboratory or the care team): it is triaged, and
    # said to need confirming, but never displaces a confirmed value of the same analyte.
    reported_by_patient: Annotated[bool, Field(strict=True)] = False

    @model_validator(mode="after")
    def _unit_and_value_fit(self) -> Lab:
        unit = normalise_unit(self.code, self.unit)  # raises InputError("unit", ...)
        check_plausible(self.code, self.value, unit)
        object.__setattr__(self, "unit", unit)
        return self


class TriageInput(_Strict):
    as_of: IsoDate | None = None
    patient: PatientContext = Field(default_factory=PatientContext)
    symptoms: list[Symptom]
    labs: list[Lab] = Field(default_factory=list)
    free_text: Annotated[str, Field(max_length=10_000)] | None = None
    # Who filled the report in: the patient, a carer for them, or the care team. An addition
    # to the contract that no rule reads (a report means the same whoever wrote it down).
    filled_in_by: Literal["patient", "carer", "care_team"] | None = None

    @model_validator(mode="after")
    def _no_future_labs(self) -> TriageInput:
        if self.as_of is not None:
            for i, lab in enumerate(self.labs):
                if lab.date is not None and lab.date > self.as_of:
                    raise InputError(
                        f"labs[{i}].date",
                        f"{lab.date} is after as_of {self.as_of}; "
                        "a report cannot use a result from its future",
                    )
        return self


# The outputs are plain dataclasses: built from trusted data, they need no validation, and
# building pydantic models cost more than all the rules together. orjson serialises them as is.

DISCLAIMER = (
    "This supports, and does not replace, the judgement of your care team. "
    "If you are worried, contact them whatever this says."
)


@dataclass(slots=True)
class Reason:
    rule: str
    level: Level
    because: list[str]
    explanation: str
    sources: list[str]
    evidence: Literal["V", "S", "U", "P"]
    # True when the rule rests on an unverified number (U) or a project policy (P).
    unverified: bool
    # The codes of the reported symptoms this reason accounts for (not those it quotes as
    # context): what an alert about it is about.
    symptoms: list[str] = field(default_factory=list)
    # Why this matters, in a patient's words (the rule's `patient_why`; added to the contract):
    # what a patient page shows instead of `explanation`.
    patient_why: str = ""


@dataclass(slots=True)
class LabFinding:
    """A lab value as the engine read it (converted, corrected, graded)."""

    code: str
    value: float
    unit: str
    date: dt.date | None
    criterion: str | None = None
    grade: int | None = None
    note: str | None = None
    reported_by_patient: bool = False


@dataclass(frozen=True, slots=True)
class FreeTextFinding:
    """A symptom the patient's free text mentions (core/triage/free_text.py): the words, what they
    imply in the contract's codes, and how triage used them."""

    entry: str  # the phrase-table entry that matched (knowledge/free_text.toml)
    code: str
    site: str | None
    features: tuple[str, ...]
    quote: str  # the patient's words, exactly: text[start:end]
    start: int
    end: int
    negated: bool
    # "implied": run through the rules as a reported symptom; "already_reported": a reported
    # symptom covers it; "negated": the text denies it; "found": not yet used by triage.
    use: str
    negation: str | None = None  # the words that deny it
    severity: int | None = None  # only when the words say it ("unbearable": 4)
    trend: str | None = None
    evidence: str = "P"
    sources: tuple[str, ...] = ()


@dataclass(slots=True)
class TriageResult:
    level: Level
    headline: str
    reasons: list[Reason]
    advice: list[str]
    clinician_alert: bool
    free_text: str | None
    engine_version: str = ENGINE_VERSION
    patient_action: str = ""
    care_team_action: str = ""
    lab_findings: list[LabFinding] = field(default_factory=list)
    caveats: list[str] = field(default_factory=list)
    disclaimer: str = DISCLAIMER
    # What the free text was read to say, negated mentions included (added to the contract).
    free_text_findings: list[FreeTextFinding] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The contract's JSON shape (dates as ISO strings, levels as their codes)."""
        out: dict[str, Any] = orjson.loads(orjson.dumps(self))
        return out
