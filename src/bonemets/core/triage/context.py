"""What the rules look at: the present symptoms and the interpreted labs of one report."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Protocol, TypeVar

from bonemets.core.knowledge import load
from bonemets.core.labs import (
    Grade,
    Sex,
    albumin_for,
    albumin_pairing_window,
    corrected_calcium,
    ctcae_grade,
)
from bonemets.core.triage.models import Lab, LabFinding, Symptom, TriageInput

FLU_LIKE_WINDOW_DAYS = 3  # "within 3 days after a bone-modifying-agent dose" (triage contract)


@cache
def sact_risk_days() -> int:
    """Days after chemotherapy in which a fever is still possible neutropenic sepsis
    (knowledge/triage_rules.toml [ukons], [U])."""
    return int(load("triage_rules")["ukons"]["sact_risk_days"])


@dataclass(slots=True)
class GradedLab:
    grade: Grade
    because: str
    date: dt.date | None


@dataclass(slots=True)
class Context:
    report: TriageInput
    present: dict[str, list[Symptom]]
    findings: list[LabFinding] = field(default_factory=list)
    caveats: list[str] = field(default_factory=list)
    hyper: GradedLab | None = None
    hypo: GradedLab | None = None
    platelets: GradedLab | None = None
    anaemia: GradedLab | None = None
    neutrophils: GradedLab | None = None

    # --- symptom helpers ---------------------------------------------------------------------
    def has(self, code: str) -> bool:
        return code in self.present

    def get(self, code: str) -> list[Symptom]:
        return self.present.get(code, [])

    # --- patient context, with unknown read as the less reassuring case -----------------------
    @property
    def spinal_metastases_possible(self) -> bool:
        return self.report.patient.spinal_metastases is not False

    @property
    def on_bma_possible(self) -> bool:
        return self.report.patient.bma_status is not False

    @property
    def chemotherapy_possible(self) -> bool:
        return self.report.patient.on_chemotherapy is not False

    @property
    def recent_chemotherapy(self) -> bool:
        """On chemotherapy, or it is not known that it is off, or the last dose was recent."""
        patient = self.report.patient
        days = patient.days_since_chemotherapy
        return patient.on_chemotherapy is not False or (
            days is not None and days <= sact_risk_days()
        )

    @property
    def sact_possible(self) -> bool:
        """On systemic anticancer treatment (chemotherapy, immunotherapy, targeted therapy such as
        a CDK4/6 inhibitor), or not known to be off each: UKONS grades these patients."""
        patient = self.report.patient
        return (
            self.recent_chemotherapy
            or patient.on_immunotherapy is not False
            or patient.on_targeted_therapy is not False
        )

    def sact_words(self) -> str:
        """The treatment context a reason quotes (what made `sact_possible` true)."""
        patient = self.report.patient
        parts: list[str] = []
        for name, value in (
            ("on_chemotherapy", patient.on_chemotherapy),
            ("on_immunotherapy", patient.on_immunotherapy),
            ("on_targeted_therapy", patient.on_targeted_therapy),
        ):
            if value is not False:
                parts.append(f"{name}: " + ("yes" if value else "unknown (read as possibly on it)"))
        days = patient.days_since_chemotherapy
        if days is not None and days <= sact_risk_days():
            parts.append(f"days_since_chemotherapy: {days}")
        return "; ".join(parts) or "systemic anticancer treatment: known to be off"

    @property
    def on_opioids(self) -> bool:
        return self.report.patient.on_opioids is True

    def days_since_bma_dose(self) -> int | None:
        patient = self.report.patient
        if patient.bma is None or patient.bma.last_dose is None or self.report.as_of is None:
            return None
        return (self.report.as_of - patient.bma.last_dose).days


@cache
def _pain_bands() -> tuple[tuple[int, int, int], ...]:
    bands = load("pro_ctcae")["reading"]["pain_score_bands"]
    return tuple((int(lo), int(hi), int(sev)) for lo, hi, sev in bands)


def read_severity(symptom: Symptom) -> int:
    """The severity the rules see: the highest of the severity given, the interference and the
    pain score's band (knowledge/pro_ctcae.toml). The PRO-CTCAE answers only ever raise it, and
    only for a symptom reported present: severity 0 says the symptom is absent, and answers that
    made it present (mild) could turn "nothing reported" (routine) into mild self-care advice."""
    severity = symptom.severity
    if severity == 0:
        return 0
    if symptom.interference is not None:
        severity = max(severity, symptom.interference)
    if symptom.pain_score is not None:
        band = next(sev for lo, hi, sev in _pain_bands() if lo <= symptom.pain_score <= hi)
        severity = max(severity, band)
    return severity


def conservative(symptom: Symptom) -> Symptom:
    """The symptom with its severity raised to what its PRO-CTCAE answers say, if higher."""
    severity = read_severity(symptom)
    if severity == symptom.severity:
        return symptom
    return symptom.model_copy(update={"severity": severity})


def describe(symptom: Symptom) -> str:
    """`back_pain (mid_back; worse_at_night; severity 3)`: the inputs a reason quotes."""
    parts: list[str] = []
    if symptom.site:
        parts.append(symptom.site)
    parts.extend(symptom.features)
    parts.append(f"severity {symptom.severity}")
    if symptom.pain_score is not None:
        parts.append(f"pain {symptom.pain_score}/10")
    if symptom.interference is not None:
        parts.append(f"interference {symptom.interference}/4")
    if symptom.frequency is not None:
        parts.append(f"frequency {symptom.frequency}/4")
    if symptom.temperature_c is not None:
        parts.append(f"temperature {symptom.temperature_c:g} C")
    for name in ("stools_per_day", "days_without_stool", "vomits_per_day"):
        value = getattr(symptom, name)
        if value is not None:
            parts.append(f"{name.replace('_', ' ')} {value}")
    if symptom.duration_days is not None:
        parts.append(f"{symptom.duration_days:g} days")
    if symptom.trend:
        parts.append(symptom.trend)
    if symptom.reported_on is not None:
        parts.append(f"reported {symptom.reported_on}, not marked resolved")
    return f"{symptom.code} ({'; '.join(parts)})"


def build_context(report: TriageInput) -> Context:
    present: dict[str, list[Symptom]] = {}
    for symptom in map(conservative, report.symptoms):
        if symptom.severity > 0:  # severity 0 is the patient saying "none"
            present.setdefault(symptom.code, []).append(symptom)
    ctx = Context(report=report, present=present)
    if report.labs:
        _interpret_labs(ctx)
    return ctx


def _current(labs: list[Lab]) -> list[Lab]:
    """The values of one analyte that describe now: those of the latest date. Undated values
    cannot be ordered, so all of them count (the worst decides)."""
    if not labs or any(lab.date is None for lab in labs):
        return labs
    latest = max(lab.date for lab in labs if lab.date is not None)
    return [lab for lab in labs if lab.date == latest]


def _pick_worse(current: GradedLab | None, new: GradedLab) -> GradedLab:
    if current is None or new.grade.grade > current.grade.grade:
        return new
    return current


CALCIUM_CRITERIA = {
    "calcium_total": ("hypercalcaemia", "hypocalcaemia"),
    "calcium_corrected": ("hypercalcaemia", "hypocalcaemia"),
    "calcium_ionized": ("hypercalcaemia_ionized", "hypocalcaemia_ionized"),
}
OTHER_CRITERIA = {
    "platelets": "platelets_decreased",
    "haemoglobin": "anaemia",
    "creatinine": "creatinine_increased",
    "alkaline_phosphatase": "alkaline_phosphatase_increased",
    "albumin": "hypoalbuminaemia",
    "neutrophils": "neutrophil_count_decreased",
}


PATIENT_REPORTED = " (reported by the patient, to confirm)"


def _interpret_labs(ctx: Context) -> None:
    """Confirmed values and values the patient typed in are read apart: a patient's value is
    graded (a dangerous one must not wait) and marked as needing confirmation, but never stands
    in for a confirmed value of the same analyte, however recent (a normal value typed in must
    not hide a confirmed high one)."""
    confirmed = [lab for lab in ctx.report.labs if not lab.reported_by_patient]
    typed_in = [lab for lab in ctx.report.labs if lab.reported_by_patient]
    if confirmed:
        _interpret(ctx, confirmed, patient=False)
    if typed_in:
        _interpret(ctx, typed_in, patient=True)


def _interpret(ctx: Context, labs: list[Lab], *, patient: bool) -> None:
    """Grade the current value of each analyte once; keep the worst calcium, platelet and
    haemoglobin grades for the rules, and every reading for the result."""
    by_code: dict[str, list[Lab]] = {}
    for lab in labs:
        by_code.setdefault(lab.code, []).append(lab)
    mark = PATIENT_REPORTED if patient else ""
    patient_sex = ctx.report.patient.sex
    sex: Sex | None = patient_sex if patient_sex in ("female", "male") else None
    albumins = by_code.get("albumin", [])

    def grade(criterion: str, lab: Lab, value: float) -> Grade:
        return ctcae_grade(
            criterion,
            value,
            lab.unit,
            lower_limit=lab.lower_limit,
            upper_limit=lab.upper_limit,
            sex=sex,
            validated=True,
        )

    def keep(code: str, lab: Lab, value: float, g: Grade | None, note: str | None = None) -> None:
        ctx.findings.append(
            LabFinding(
                code=code,
                value=round(value, 3),
                unit=g.unit if g else lab.unit,
                date=lab.date,
                criterion=g.criterion if g else None,
                grade=g.grade if g else None,
                note=note,
                reported_by_patient=patient,
            )
        )
        if g is not None and g.caveats:
            ctx.caveats.extend(c for c in g.caveats if c not in ctx.caveats)

    def on_date(lab: Lab) -> str:
        return f" on {lab.date}" if lab.date else ""

    # Total, corrected and ionised calcium measure one thing: the latest of any of them is the
    # current calcium, so an older value of another kind does not outlive a newer one.
    calcium_now = {
        id(lab) for lab in _current([x for c in CALCIUM_CRITERIA for x in by_code.get(c, [])])
    }
    for code, (up, down) in CALCIUM_CRITERIA.items():
        if code not in by_code:
            continue
        for lab in (x for x in by_code[code] if id(x) in calcium_now):
            value, label, note, inputs = lab.value, code.replace("_", " "), None, ""
            shown_code = code
            if code == "calcium_total":
                albumin = albumin_for(lab, albumins)
                if albumin is None:
                    label = "total calcium (uncorrected)"
                    note = "no albumin given: graded uncorrected (corrected calcium may be higher)"
                    ctx.caveats.append(
                        f"Calcium{on_date(lab)} could not be corrected: no albumin was given."
                    )
                else:
                    cc = corrected_calcium(
                        lab.value, lab.unit, albumin.value, albumin.unit, validated=True
                    )
                    value, label, note = cc.value, "corrected calcium", f"corrected: {cc.formula}"
                    inputs = (
                        f" (calcium {lab.value:g} {lab.unit},"
                        f" albumin {albumin.value:g} {albumin.unit})"
                    )
                    shown_code = "calcium_corrected"
            elif code == "calcium_ionized":
                label = "ionised calcium"
            g_up, g_down = grade(up, lab, value), grade(down, lab, value)
            for g, is_high in ((g_up, True), (g_down, False)):
                if g.grade:
                    because = (
                        f"{label} {g.value:.2f} {g.unit}{on_date(lab)}: "
                        f"CTCAE grade {g.grade}{inputs}{mark}"
                    )
                    if is_high:
                        ctx.hyper = _pick_worse(ctx.hyper, GradedLab(g, because, lab.date))
                    else:
                        ctx.hypo = _pick_worse(ctx.hypo, GradedLab(g, because, lab.date))
            keep(shown_code, lab, value, g_down if g_down.grade else g_up, note)

    for code, criterion in OTHER_CRITERIA.items():
        if code not in by_code:
            continue
        for lab in _current(by_code[code]):
            g = grade(criterion, lab, lab.value)
            keep(code, lab, lab.value, g)
            graded = GradedLab(
                g,
                f"{code} {lab.value:g} {lab.unit}{on_date(lab)}: CTCAE grade {g.grade}{mark}",
                lab.date,
            )
            if code == "platelets":
                ctx.platelets = _pick_worse(ctx.platelets, graded)
            elif code == "haemoglobin":
                ctx.anaemia = _pick_worse(ctx.anaemia, graded)
            elif code == "neutrophils":
                ctx.neutrophils = _pick_worse(ctx.neutrophils, graded)
    for lab in _current(by_code.get("vitamin_d_25oh", [])):
        keep("vitamin_d_25oh", lab, lab.value, None)


# What `_interpret_labs` grades, by analyte; the calcium kinds share one "current" date.
_READ_GROUP = {code: "calcium" for code in CALCIUM_CRITERIA} | {
    code: code for code in (*OTHER_CRITERIA, "vitamin_d_25oh")
}


class _Dated(Protocol):
    @property
    def code(self) -> str: ...
    @property
    def date(self) -> dt.date | None: ...
    @property
    def reported_by_patient(self) -> bool: ...


D = TypeVar("D", bound=_Dated)


def labs_read(labs: Sequence[D]) -> list[D]:
    """The labs `_interpret_labs` can read, in their given order: the current values of each
    analyte it grades (all calcium kinds as one), and the albumins a current calcium may pair
    with, for confirmed values and for values the patient typed in apart. Triage of these gives
    the same result as triage of all `labs` (a property test checks it); a caller with a long
    history passes these and saves validating the rest."""
    kept = _read([lab for lab in labs if not lab.reported_by_patient])
    kept |= _read([lab for lab in labs if lab.reported_by_patient])
    return [lab for lab in labs if id(lab) in kept]


def _read(labs: Sequence[_Dated]) -> set[int]:
    # One pass for the latest date of each analyte (calcium kinds as one); an undated value
    # makes every value of its analyte current, as in `_current`.
    latest: dict[str, dt.date] = {}
    undated: set[str] = set()
    for lab in labs:
        group = _READ_GROUP.get(lab.code)
        if group is None:
            continue
        if lab.date is None:
            undated.add(group)
        elif group not in latest or lab.date > latest[group]:
            latest[group] = lab.date
    if "calcium" in undated:
        days = {x.date for x in labs if _READ_GROUP.get(x.code) == "calcium" and x.date}
    else:
        days = {latest["calcium"]} if "calcium" in latest else set()
    window = albumin_pairing_window()
    out: set[int] = set()
    for lab in labs:
        group = _READ_GROUP.get(lab.code)
        if group is None:
            continue
        d = lab.date
        current = group in undated or d == latest.get(group)
        pairs = group == "albumin" and (d is None or any(x - window <= d <= x for x in days))
        if current or pairs:
            out.add(id(lab))
    return out
