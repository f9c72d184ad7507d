"""A seeded synthetic cohort: fictional patients with bone metastases, for the demo and for tests.

``make_cohort(n, seed=..., as_of=...)`` builds `n` validated records that look like a breast-cancer
bone-metastasis clinic on `as_of`: mostly women, a few men, a mix of receptor status, agents and
schedules, kidney function across the dose bands, labs in both unit systems, imaging, lesions with
Mirels and SINS inputs, and symptom reports, a few of them red flags in the last days.

Only ``random.Random(seed)`` is used, so the same seed and `as_of` give the same cohort. Nothing is
dated after `as_of`. The patients are built from *cases* (agent, dose timing, kidney, calcium...):
a short list of forced cases makes sure every pathway state appears in any cohort of 50 or so, the
rest are drawn at random. The numbers are plausible, not epidemiology.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from bonemets.core.pathway.bma import agent_table, band_for
from bonemets.core.record import Record
from bonemets.core.renal import cockcroft_gault

T = TypeVar("T")
Json = dict[str, Any]

Regimen = Literal[
    "zol4",  # zoledronic acid every 4 weeks
    "zol12",  # zoledronic acid every 12 weeks (some after a year of 4-weekly)
    "denosumab",
    "pamidronate",
    "ibandronate_iv",
    "ibandronate_oral",
    "clodronate",
    "planned",  # a plan, no dose yet
    "none",  # bone metastases and no agent on the record
    "stopped",  # denosumab stopped
    "no_mets",  # no bone metastases recorded
]
Timing = Literal["not_due", "due", "overdue"]
Kidney = Literal["normal", "reduced", "severe", "rise"]
CalciumEvent = Literal["normal", "high1", "high2", "high3", "low"]
RedFlag = Literal["mscc", "confusion_thirst", "dvt", "fever_chemo", "fracture", "pe"]
ImagingPlan = Literal["regular", "overdue", "never"]
PlateletEvent = Literal["normal", "low2", "low3"]
Units = Literal["si", "us"]
Sex = Literal["female", "male"]


@dataclass(frozen=True)
class DemoPatient:
    record: Record  # validated
    display_name: str  # fictional
    mrn: str  # synthetic medical record number, "DEMO-0001"


@dataclass(frozen=True, slots=True)
class _Case:
    regimen: Regimen
    timing: Timing | None = None  # None: drawn at random
    kidney: Kidney = "normal"
    low_calcium: bool = False  # low calcium on the latest draw (denosumab)


@dataclass(frozen=True, slots=True)
class _Extras:
    sex: Sex
    units: Units
    red_flag: RedFlag | None
    imaging: ImagingPlan
    calcium: CalciumEvent
    platelets: PlateletEvent


# Every pathway state the demo should show, whatever the seed (for a cohort of this size or more).
_FORCED_CASES: tuple[_Case, ...] = (
    _Case("none"),
    _Case("planned"),
    _Case("planned", kidney="severe"),  # zoledronic acid planned with CrCl < 30: withhold
    _Case("no_mets"),
    _Case("zol4", "due"),
    _Case("denosumab", "due"),
    _Case("zol4", "not_due"),
    _Case("denosumab", "overdue"),
    _Case("zol4", kidney="rise"),  # creatinine rise on zoledronic acid: withhold
    _Case("denosumab", low_calcium=True),  # low calcium on denosumab: withhold
    _Case("denosumab", kidney="severe"),
    _Case("zol12"),
    _Case("pamidronate"),
    _Case("ibandronate_oral"),
    _Case("clodronate"),
    _Case("ibandronate_iv", "due"),
)
_REGIMEN_WEIGHTS: dict[Regimen, float] = {
    "zol4": 20,
    "zol12": 13,
    "denosumab": 25,
    "pamidronate": 6,
    "ibandronate_iv": 3,
    "ibandronate_oral": 3,
    "clodronate": 3,
    "planned": 4,
    "none": 4,
    "stopped": 3,
    "no_mets": 4,
}
_FORCED_RED_FLAGS: tuple[RedFlag | None, ...] = ("mscc", "confusion_thirst", "dvt", "fever_chemo")
_FORCED_SEXES: tuple[Sex, ...] = ("male", "male")
_FORCED_UNITS: tuple[Units, ...] = ("us", "si")
_FORCED_IMAGING: tuple[ImagingPlan, ...] = ("never", "overdue")
_FORCED_CALCIUM: tuple[CalciumEvent, ...] = ("high1", "high2")
_FORCED_PLATELETS: tuple[PlateletEvent, ...] = ("low2",)
_SEX_WEIGHTS: dict[Sex, float] = {"female": 96, "male": 4}
_UNIT_WEIGHTS: dict[Units, float] = {"si": 75, "us": 25}
_RED_FLAG_WEIGHTS: dict[RedFlag | None, float] = {None: 96, "fracture": 2, "pe": 2}
_IMAGING_WEIGHTS: dict[ImagingPlan, float] = {"regular": 78, "overdue": 16, "never": 6}
_CALCIUM_WEIGHTS: dict[CalciumEvent, float] = {"normal": 92, "high1": 6, "high2": 2}
_PLATELET_WEIGHTS: dict[PlateletEvent, float] = {"normal": 94, "low2": 4, "low3": 2}

_AGENT: dict[Regimen, str] = {
    "zol4": "zoledronic_acid",
    "zol12": "zoledronic_acid",
    "denosumab": "denosumab",
    "stopped": "denosumab",
    "pamidronate": "pamidronate",
    "ibandronate_iv": "ibandronate",
    "ibandronate_oral": "ibandronate",
    "clodronate": "clodronate",
}
_ROUTE: dict[Regimen, str] = {
    "zol4": "iv",
    "zol12": "iv",
    "denosumab": "sc",
    "stopped": "sc",
    "pamidronate": "iv",
    "ibandronate_iv": "iv",
    "ibandronate_oral": "oral",
    "clodronate": "oral",
}
_INTERVAL_WEEKS: dict[Regimen, int] = {
    "zol4": 4,
    "zol12": 12,
    "denosumab": 4,
    "pamidronate": 4,
    "ibandronate_iv": 4,
}
_IV_BISPHOSPHONATE = frozenset({"zol4", "zol12", "pamidronate", "ibandronate_iv"})

_FEMALE_NAMES = (
    "Ada", "Beatrix", "Clara", "Dorothy", "Edith", "Flora", "Greta", "Hazel", "Iris", "June",
    "Lena", "Maud", "Nora", "Olive", "Pearl", "Rosa", "Sylvia", "Thea", "Vera", "Winifred",
)  # fmt: skip
_MALE_NAMES = ("Albert", "Cyril", "Edgar", "Felix", "Harold", "Leon", "Otto", "Walter")
_SURNAMES = (
    "Democroft", "Sampleton", "Testwood", "Mockridge", "Synthwell", "Fictley", "Exampleby",
    "Dummyfield", "Placeholm", "Pretendon", "Madeupson", "Notreal", "Mockingham", "Fauxbridge",
    "Seedwell", "Testerby",
)  # fmt: skip

# Lesion sites, weighted roughly as breast-cancer bone metastases present.
_SITES: tuple[tuple[str, float], ...] = (
    ("T4", 2), ("T6", 3), ("T7", 3), ("T8", 3), ("T9", 3), ("T10", 3), ("T11", 3), ("T12", 4),
    ("L1", 4), ("L2", 4), ("L3", 4), ("L4", 3), ("L5", 3), ("C5", 1), ("C7", 1), ("S1", 1),
    ("sacrum", 1), ("pelvis_ilium", 7), ("pelvis_acetabulum", 4), ("pelvis_pubis", 2),
    ("pelvis_ischium", 2), ("femur_head_neck", 2), ("femur_peritrochanteric", 4),
    ("femur_shaft", 3), ("femur_distal", 1), ("humerus_proximal", 3), ("humerus_shaft", 2),
    ("rib", 9), ("sternum", 2), ("scapula", 1), ("skull", 4), ("tibia", 1),
)  # fmt: skip
_LONG_BONES = frozenset(
    {
        "femur_head_neck", "femur_peritrochanteric", "femur_shaft", "femur_distal",
        "humerus_proximal", "humerus_shaft", "humerus_distal", "radius", "ulna", "tibia", "fibula",
    }
)  # fmt: skip
_PAIN_SITE: dict[str, str] = {
    "pelvis_ilium": "pelvis_hip",
    "pelvis_acetabulum": "pelvis_hip",
    "pelvis_pubis": "pelvis_hip",
    "pelvis_ischium": "pelvis_hip",
    "sacrum": "pelvis_hip",
    "femur_head_neck": "pelvis_hip",
    "femur_peritrochanteric": "pelvis_hip",
    "femur_shaft": "leg",
    "femur_distal": "leg",
    "tibia": "leg",
    "humerus_proximal": "arm",
    "humerus_shaft": "arm",
    "scapula": "arm",
    "rib": "ribs",
    "sternum": "ribs",
    "skull": "skull",
}
_FREE_TEXT = (
    "Managing with paracetamol.",
    "Slept badly a couple of nights.",
    "Walking to the shops most days.",
    "Seeing the oncologist next week.",
    "A bit low in mood, family are helping.",
    "Appetite better this week.",
    "Hot flushes at night.",
)


def make_cohort(n: int = 50, *, seed: int = 7, as_of: dt.date) -> list[DemoPatient]:
    """`n` fictional patients as they stand on `as_of`; the same seed gives the same cohort."""
    if n < 0:
        raise ValueError(f"n must be 0 or more; got {n}")
    rng = random.Random(seed)
    cases = _deck(rng, n, _FORCED_CASES, _random_case)
    sexes = _deck(rng, n, _FORCED_SEXES, lambda r: _pick(r, _SEX_WEIGHTS))
    units = _deck(rng, n, _FORCED_UNITS, lambda r: _pick(r, _UNIT_WEIGHTS))
    flags = _deck(rng, n, _FORCED_RED_FLAGS, lambda r: _pick(r, _RED_FLAG_WEIGHTS))
    imaging = _deck(rng, n, _FORCED_IMAGING, lambda r: _pick(r, _IMAGING_WEIGHTS))
    calcium = _deck(rng, n, _FORCED_CALCIUM, lambda r: _pick(r, _CALCIUM_WEIGHTS))
    platelets = _deck(rng, n, _FORCED_PLATELETS, lambda r: _pick(r, _PLATELET_WEIGHTS))
    # Thirst and confusion come with a high calcium: not for a patient whose calcium is low.
    for i in range(n):
        if flags[i] == "confusion_thirst" and cases[i].low_calcium:
            j = next((j for j in range(n) if flags[j] is None and not cases[j].low_calcium), i)
            flags[i], flags[j] = flags[j], flags[i]
    extras = [
        _Extras(sexes[i], units[i], flags[i], imaging[i], calcium[i], platelets[i])
        for i in range(n)
    ]
    used: set[str] = set()
    return [
        _patient(rng, i, as_of, case, extra, used)
        for i, (case, extra) in enumerate(zip(cases, extras, strict=True))
    ]


# --- Drawing --------------------------------------------------------------------------------------


def _pick(rng: random.Random, weights: dict[T, float]) -> T:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _deck(
    rng: random.Random, n: int, forced: Sequence[T], draw: Callable[[random.Random], T]
) -> list[T]:
    """`n` items: the forced ones first (as many as fit), the rest drawn, in a shuffled order."""
    items = list(forced) + [draw(rng) for _ in range(max(0, n - len(forced)))]
    rng.shuffle(items)
    return items[:n]


def _random_case(rng: random.Random) -> _Case:
    regimen = _pick(rng, _REGIMEN_WEIGHTS)
    if regimen in ("zol4", "zol12", "pamidronate"):
        kidney: Kidney = _pick(rng, {"normal": 72, "reduced": 21, "rise": 7})
    elif regimen == "ibandronate_iv":
        kidney = _pick(rng, {"normal": 75, "reduced": 25})
    else:
        kidney = _pick(rng, {"normal": 72, "reduced": 20, "severe": 8})
    return _Case(regimen, None, kidney, regimen == "denosumab" and rng.random() < 0.04)


def _days(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)


def _age_on(born: dt.date, day: dt.date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


# --- One patient ----------------------------------------------------------------------------------


def _patient(
    rng: random.Random,
    index: int,
    as_of: dt.date,
    case: _Case,
    extra: _Extras,
    used_names: set[str],
) -> DemoPatient:
    mrn = f"DEMO-{index + 1:04d}"
    sex = extra.sex
    name = _name(rng, sex, used_names)
    if sex == "female":
        age = round(rng.triangular(40, 86, 63))
    else:
        age = round(rng.triangular(50, 86, 70))
    born = as_of - _days(round((age + rng.random()) * 365.25))
    while _age_on(born, as_of) > age:  # keep the drawn age exactly
        born += _days(1)
    while _age_on(born, as_of) < age:
        born -= _days(1)
    primary = "breast" if sex == "female" or rng.random() < 0.5 else "prostate"
    timeline = _Timeline.draw(rng, as_of, case, extra)
    b = _Builder(rng, as_of, case, extra, timeline, born, sex, primary)
    b.build()
    record = Record.model_validate(
        {
            "id": mrn,
            "demographics": {
                "birth_date": born,
                "sex": sex,
                "weights": b.weights,
                "heights": b.heights,
            },
            "cancer": b.cancer(),
            "lesions": b.lesions,
            "labs": b.labs,
            "bma_doses": b.doses,
            "bma_plans": b.plans,
            "dental_exams": b.dental_exams,
            "dental_procedures": b.dental_procedures,
            "imaging": b.imaging,
            "supplements": b.supplements,
            "conditions": b.conditions,
            "treatments": b.treatments,
            "symptom_reports": b.reports,
        }
    )
    return DemoPatient(record=record, display_name=name, mrn=mrn)


def _name(rng: random.Random, sex: Sex, used: set[str]) -> str:
    firsts = _FEMALE_NAMES if sex == "female" else _MALE_NAMES
    name = ""
    for _ in range(40):
        name = f"{rng.choice(firsts)} {rng.choice(_SURNAMES)}"
        if name not in used:
            break
    else:
        name = f"{name} {len(used) + 1}"
    used.add(name)
    return name


@dataclass(frozen=True, slots=True)
class _Timeline:
    """The key dates of one patient's story."""

    mets: dt.date  # bone metastases diagnosed (or, without them, the cancer seen in clinic)
    first_floor: dt.date  # the earliest a first dose may fall
    last_dose: dt.date | None  # for the regimens given at intervals
    timing: Timing | None

    @staticmethod
    def draw(rng: random.Random, as_of: dt.date, case: _Case, extra: _Extras) -> _Timeline:
        regimen = case.regimen
        delay = rng.randint(10, 60)  # diagnosis to first dose
        mets_ago = rng.randint(15, 1460)
        if regimen in ("planned", "none"):
            mets_ago = rng.randint(25, 150 if regimen == "planned" else 400)
        if regimen in ("ibandronate_oral", "clodronate"):
            mets_ago = max(mets_ago, delay + 30)
        if regimen == "stopped":
            mets_ago = max(mets_ago, 300)
        if extra.imaging == "overdue":
            mets_ago = max(mets_ago, 160)
        last_dose: dt.date | None = None
        timing: Timing | None = None
        weeks = _INTERVAL_WEEKS.get(regimen)
        if weeks is not None:
            timing = case.timing or _pick(rng, {"not_due": 55, "due": 20, "overdue": 25})
            if case.timing is None and (case.kidney == "rise" or case.low_calcium):
                timing = _pick(rng, {"due": 60, "overdue": 40})  # found on the pre-dose bloods
            interval = weeks * 7
            if timing == "not_due":
                to_due = rng.randint(8, interval - 1)
            elif timing == "due":
                to_due = rng.randint(0, 7)
            else:
                to_due = -rng.randint(1, 45)
            last_ago = interval - to_due
            need = last_ago + delay + (3 * interval + 14 if case.kidney == "rise" else 0)
            mets_ago = max(mets_ago, need)
            last_dose = as_of - _days(last_ago)
        mets = as_of - _days(mets_ago)
        return _Timeline(mets, mets + _days(delay), last_dose, timing)


class _Builder:
    """Builds the parts of one record, in order: course, labs, imaging and lesions, the rest."""

    def __init__(
        self,
        rng: random.Random,
        as_of: dt.date,
        case: _Case,
        extra: _Extras,
        timeline: _Timeline,
        born: dt.date,
        sex: Sex,
        primary: str,
    ) -> None:
        self.rng, self.as_of, self.case, self.extra, self.t = rng, as_of, case, extra, timeline
        self.born, self.sex, self.primary = born, sex, primary
        self.weights: list[Json] = []
        self.heights: list[Json] = []
        self.lesions: list[Json] = []
        self.labs: list[Json] = []
        self.doses: list[Json] = []
        self.plans: list[Json] = []
        self.dental_exams: list[Json] = []
        self.dental_procedures: list[Json] = []
        self.imaging: list[Json] = []
        self.supplements: list[Json] = []
        self.conditions: list[Json] = []
        self.treatments: list[Json] = []
        self.reports: list[Json] = []
        self.has_mets = case.regimen != "no_mets"
        self.progressing = self.has_mets and rng.random() < 0.3
        self.receptors = self._receptors()
        self.chemo_now = extra.red_flag == "fever_chemo" or self.receptors == "triple_negative"
        # Set while building.
        self.agent: str | None = None
        self.dose_dates: list[dt.date] = []
        self.first_dose: dt.date | None = None
        self.plan_day: dt.date | None = None
        self.switch: tuple[dt.date, str] | None = None  # (plan date, "de_escalate" or "from_zol")
        self.baseline_day = timeline.mets
        self.baseline_kg = 70.0
        self.scr_mg_dl = 1.0
        self.creat_unit = "umol/L"
        self.pain_sites: list[str] = []

    # --- Whole record ---------------------------------------------------------------------------

    def build(self) -> None:
        self.dose_dates = self._course()
        self.first_dose = self.dose_dates[0] if self.dose_dates else None
        start = self.first_dose or min(self.as_of, self.t.mets + _days(self.rng.randint(0, 10)))
        self.baseline_day = start - _days(self.rng.randint(1, 7)) if self.first_dose else start
        self._body()
        self._labs()
        self._imaging_and_lesions()
        self._dental()
        self._supplements()
        self._treatments_and_conditions()
        self._reports()

    def cancer(self) -> Json:
        er, pr, her2 = {
            "er_positive": ("positive", _pick(self.rng, {"positive": 75, "negative": 25}), None),
            "her2_positive": (None, None, "positive"),
            "triple_negative": ("negative", "negative", "negative"),
            "prostate": (None, None, None),
        }[self.receptors]
        if self.receptors == "er_positive":
            her2 = _pick(self.rng, {"negative": 60, "low": 25, "positive": 15})
        if self.receptors == "her2_positive":
            er = pr = _pick(self.rng, {"negative": 60, "positive": 40})
        out: Json = {"primary_site": self.primary, "er": er, "pr": pr, "her2": her2}
        if self.has_mets:
            out.update(bone_metastases=True, bone_metastases_date=self.t.mets)
        else:
            out["bone_metastases"] = False if self.rng.random() < 0.5 else None
        return out

    def _receptors(self) -> str:
        if self.primary == "prostate":
            return "prostate"
        return _pick(self.rng, {"er_positive": 72, "her2_positive": 15, "triple_negative": 13})

    # --- Agent course ---------------------------------------------------------------------------

    def _course(self) -> list[dt.date]:
        regimen, rng, t = self.case.regimen, self.rng, self.t
        self.agent = _AGENT.get(regimen)
        if regimen == "planned":
            self.agent = "zoledronic_acid" if self.case.kidney == "severe" else None
            self.agent = self.agent or _pick(rng, {"zoledronic_acid": 60, "denosumab": 40})
            day = self.as_of - _days(rng.randint(1, 20))
            route = "iv" if self.agent == "zoledronic_acid" else "sc"
            self.plans.append(
                {"date": day, "agent": self.agent, "route": route, "interval_weeks": 4}
            )
            self.plan_day = day
            return []
        if self.agent is None:
            return []
        route = _ROUTE[regimen]
        weeks = _INTERVAL_WEEKS.get(regimen)
        if regimen == "stopped":
            dates = [t.first_floor]
            while dates[-1] + _days(28) <= self.as_of - _days(75):
                dates.append(dates[-1] + _days(28 + rng.choice((0, 0, 1, 2, 5))))
            stop_day = dates[-1] + _days(rng.randint(14, 60))
        elif weeks is None:  # oral, daily: the first dose starts the course
            dates = [t.first_floor]
        else:
            assert t.last_dose is not None
            dates = self._interval_dates(t.last_dose, weeks)
        self.plan_day = dates[0] - _days(rng.randint(0, 9))
        plan: Json = {"date": self.plan_day, "agent": self.agent, "route": route}
        if weeks is not None or regimen == "stopped":
            plan["interval_weeks"] = weeks or 4
        self.plans.append(plan)
        if regimen == "stopped":
            self.plans.append({"date": stop_day, "agent": self.agent, "stop": True})
        return dates

    def _interval_dates(self, last: dt.date, weeks: int) -> list[dt.date]:
        rng, floor = self.rng, self.t.first_floor
        span = (last - floor).days

        def back(
            start: dt.date, step: int, stop: dt.date, count: int | None = None
        ) -> list[dt.date]:
            out = [start]
            while count is None or len(out) <= count:
                prev = out[-1] - _days(step + rng.choice((0, 0, 0, 1, 2, 3, 7)))
                if prev < stop:
                    break
                out.append(prev)
            return out

        if self.case.regimen == "zol12" and span > 365 + 84 + 28 and rng.random() < 0.6:
            twelve = back(last, 84, floor, rng.randint(1, max(1, (span - 365 - 28) // 84)))
            last4 = twelve[-1] - _days(84 + rng.randint(0, 4))
            four = back(last4, 28, floor)
            self.switch = (last4 + _days(rng.randint(1, 10)), "de_escalate")
            return sorted(four + twelve)
        dates = sorted(back(last, weeks * 7, floor))
        if self.case.regimen == "denosumab" and len(dates) >= 8 and rng.random() < 0.25:
            self.switch = (dates[len(dates) // 2] - _days(rng.randint(1, 10)), "from_zol")
        return dates

    def _doses_and_switch(self, crcl: float | None) -> None:
        """Dose records (amounts from the baseline clearance) and the switch plans, if any."""
        regimen = self.case.regimen
        if self.agent is None or not self.dose_dates:
            return
        route = _ROUTE[regimen]
        switch = self.switch
        amount = _dose_amount(self.agent, route, crcl)
        for day in self.dose_dates:
            agent, this_route, this_amount = self.agent, route, amount
            if switch is not None and switch[1] == "from_zol" and day < switch[0]:
                agent, this_route = "zoledronic_acid", "iv"
                this_amount = _dose_amount(agent, "iv", crcl)
            dose: Json = {"agent": agent, "date": day, "unit": "mg", "route": this_route}
            if this_amount is not None:
                dose["dose"] = this_amount
            self.doses.append(dose)
        if switch is not None and switch[1] == "de_escalate":
            self.plans[0]["interval_weeks"] = 4
            self.plans.append(
                {"date": switch[0], "agent": self.agent, "route": route, "interval_weeks": 12}
            )
        elif switch is not None:
            self.plans[0]["agent"], self.plans[0]["route"] = "zoledronic_acid", "iv"
            self.plans.append(
                {"date": switch[0], "agent": self.agent, "route": route, "interval_weeks": 4}
            )

    # --- Body and labs --------------------------------------------------------------------------

    def _body(self) -> None:
        rng, sex = self.rng, self.sex
        height = rng.gauss(162, 6.5) if sex == "female" else rng.gauss(176, 7)
        height = round(min(max(height, 148.0), 195.0))
        kg = rng.gauss(70, 13) if sex == "female" else rng.gauss(83, 12)
        kg = min(max(kg, 45.0), 125.0)
        self.baseline_kg = round(kg, 1)
        self.heights.append({"date": self.baseline_day, "cm": height})
        day, weight = self.baseline_day, self.baseline_kg
        drift = -0.015 if self.progressing or self.chemo_now else 0.0
        while True:
            self.weights.append({"date": day, "kg": round(weight, 1)})
            day += _days(rng.randint(70, 180))
            if day > self.as_of:
                break
            weight = min(max(weight * (1 + drift + rng.uniform(-0.02, 0.02)), 38.0), 140.0)

    def _labs(self) -> None:
        rng, as_of, case, extra = self.rng, self.as_of, self.case, self.extra
        # Kidney: a target clearance at baseline, turned into a creatinine.
        age0 = _age_on(self.born, self.baseline_day)
        target = {
            "normal": rng.uniform(63, 120),
            "reduced": rng.uniform(31, 59),
            "severe": rng.uniform(12, 25),
            "rise": rng.uniform(65, 110),
        }[case.kidney]
        factor = 0.85 if self.sex == "female" else 1.0
        scr = (140 - age0) * self.baseline_kg * factor / (72 * target)
        self.scr_mg_dl = min(max(scr, 0.45), 1.2 if case.kidney == "rise" else 6.5)
        us = extra.units == "us"
        self.creat_unit = (
            "mg/dL" if (us and rng.random() < 0.9) or rng.random() < 0.08 else "umol/L"
        )
        baseline_scr = self._creatinine_value(self.scr_mg_dl)
        crcl = cockcroft_gault(
            age=age0,
            weight_kg=self.baseline_kg,
            sex=self.sex,
            creatinine=baseline_scr,
            creatinine_unit=self.creat_unit,
        ).value
        self._doses_and_switch(crcl)

        # When blood is drawn, and which panels.
        draws: dict[dt.date, set[str]] = {self.baseline_day: {"chem", "alp", "fbc", "vitd"}}
        pre_dose = self.case.regimen in _IV_BISPHOSPHONATE or self.agent == "denosumab"
        if pre_dose:
            for day in self.dose_dates[1:]:
                draws.setdefault(day - _days(rng.randint(0, 3)), set()).add("chem")
        lag = rng.randint(100, 220) if rng.random() < 0.12 else rng.randint(0, 60)
        day = self.baseline_day
        while True:
            day += _days(rng.randint(30, 92))
            if day > as_of - _days(lag):
                break
            panels = draws.setdefault(day, set())
            panels |= {"chem", "alp", "fbc"}
            if rng.random() < 0.12:
                panels.add("vitd")
        recent = (
            case.kidney == "rise"
            or case.low_calcium
            or extra.calcium != "normal"
            or extra.platelets != "normal"
            or extra.red_flag == "confusion_thirst"
            or (pre_dose and self.t.timing == "due")
            or (pre_dose and self.t.timing == "overdue" and rng.random() < 0.5)
        )
        if recent:
            draws.setdefault(as_of - _days(rng.randint(0, 5)), set())
        days = sorted(d for d in draws if d <= as_of)
        if recent:  # the findings of the case sit on the latest draw, which has every panel
            draws[days[-1]] |= {"chem", "fbc", "alp"}
        self.markers = self.primary == "breast" and rng.random() < 0.75
        calcium_event: CalciumEvent = extra.calcium
        if extra.red_flag == "confusion_thirst":
            calcium_event = "high3"
        if case.low_calcium:
            calcium_event = "low"
        self.calcium_event = calcium_event

        # Baselines and trends.
        albumin0 = rng.uniform(34, 44) - (3 if self.progressing or self.chemo_now else 0)
        hb0 = rng.uniform(112, 142) + (8 if self.sex == "male" else 0)
        hb0 -= 10 if self.chemo_now else 0
        plt0 = rng.uniform(170, 360)
        alp0 = rng.uniform(55, 125)
        marker0 = rng.uniform(12, 90)
        lab_limits = rng.random() < 0.5
        first, span = days[0], max(1, (days[-1] - days[0]).days)
        for i, day in enumerate(days):
            panels = draws[day]
            last = i == len(days) - 1
            progress = (day - first).days / span  # 0 at baseline, 1 at the latest draw
            rise = 1 + (0.9 * progress**2 if self.progressing else -0.1 * progress)
            if "chem" in panels:
                target_ca = rng.uniform(2.24, 2.50)
                if last:
                    target_ca = {
                        "normal": target_ca,
                        "high1": rng.uniform(2.70, 2.85),
                        "high2": rng.uniform(2.95, 3.05),
                        "high3": rng.uniform(3.17, 3.33),
                        "low": rng.uniform(1.90, 2.12),
                    }[calcium_event]
                albumin = (
                    albumin0 + rng.uniform(-2, 2) - (4 if last and calcium_event == "high3" else 0)
                )
                self._calcium(day, target_ca, albumin)
                scr = self.scr_mg_dl * (1 + (rng.uniform(-0.06, 0.06) if i else 0))
                if case.kidney == "rise" and last:
                    scr = self.scr_mg_dl + rng.uniform(0.65, 1.0)
                creat = self._lab("creatinine", self._creatinine_value(scr), self.creat_unit, day)
                if lab_limits:
                    creat["upper_limit"] = _creatinine_uln(self.sex, self.creat_unit)
            if "alp" in panels:
                alp = self._lab(
                    "alkaline_phosphatase", round(alp0 * rise + rng.uniform(-6, 6)), "U/L", day
                )
                if lab_limits:
                    alp["upper_limit"] = 130
            if "fbc" in panels:
                hb = hb0 + rng.uniform(-5, 5)
                self._lab(
                    "haemoglobin",
                    round(hb / 10, 1) if us else round(hb),
                    "g/dL" if us else "g/L",
                    day,
                )
                plt = plt0 + rng.uniform(-25, 25)
                if last and extra.platelets != "normal":
                    plt = rng.uniform(52, 72) if extra.platelets == "low2" else rng.uniform(32, 47)
                self._lab("platelets", round(plt), "10^3/uL" if us else "10*9/L", day)
                if self.markers and rng.random() < 0.8:
                    value = marker0 * (rise if self.progressing else 1 + rng.uniform(-0.1, 0.1))
                    self._lab("ca15_3", round(value, 1), "U/mL", day, upper_limit=30)
            if "vitd" in panels:
                vitd = rng.uniform(20, 110)
                self._lab(
                    "vitamin_d_25oh",
                    round(vitd / 2.496) if us else round(vitd),
                    "ng/mL" if us else "nmol/L",
                    day,
                )

    def _creatinine_value(self, mg_dl: float) -> float:
        return round(mg_dl, 2) if self.creat_unit == "mg/dL" else float(round(mg_dl * 88.4))

    def _calcium(self, day: dt.date, corrected_mmol: float, albumin_g_l: float) -> None:
        """Total calcium and albumin chosen so that the corrected calcium is `corrected_mmol`."""
        if self.extra.units == "us":
            alb = round(albumin_g_l / 10, 1)
            total = round(corrected_mmol * 4.008 - 0.8 * (4.0 - alb), 1)
            self._lab("calcium_total", total, "mg/dL", day)
            self._lab("albumin", alb, "g/dL", day)
        else:
            alb_l = round(albumin_g_l)
            self._lab(
                "calcium_total", round(corrected_mmol - 0.02 * (40 - alb_l), 2), "mmol/L", day
            )
            self._lab("albumin", alb_l, "g/L", day)

    def _lab(self, code: str, value: float, unit: str, day: dt.date, **limits: float) -> Json:
        lab: Json = {"code": code, "value": value, "unit": unit, "date": day, **limits}
        self.labs.append(lab)
        return lab

    # --- Imaging and lesions --------------------------------------------------------------------

    def _imaging_and_lesions(self) -> None:
        rng, as_of, plan = self.rng, self.as_of, self.extra.imaging
        seen = self.t.mets
        if not self.has_mets:
            if plan != "never":
                day = as_of - _days(rng.randint(20, 300))
                self.imaging.append({"date": day, "modality": "ct", "finding": "stable"})
            return
        days: list[dt.date] = []
        if plan != "never":
            end = max(seen, as_of - _days(rng.randint(100, 240) if plan == "overdue" else 0))
            day = seen
            while day <= end:
                days.append(day)
                day += _days(rng.randint(60, 180))
            if plan == "regular" and (as_of - days[-1]).days > 85:
                days.append(as_of - _days(rng.randint(5, 80)))
            elif plan == "overdue" and (end - days[-1]).days > 30:
                days.append(end)
        for i, day in enumerate(days):
            if i == 0:
                modality = _pick(rng, {"bone_scan": 45, "ct": 30, "pet_ct": 20, "mri": 5})
                finding = "new_lesion"
            else:
                modality = _pick(rng, {"ct": 70, "bone_scan": 15, "mri": 10, "pet_ct": 5})
                if self.progressing and i == len(days) - 1:
                    finding = "progression"
                else:
                    finding = _pick(
                        rng, {"stable": 60, "response": 22, "progression": 12, "other": 6}
                    )
            self.imaging.append({"date": day, "modality": modality, "finding": finding})
        count = _pick(rng, {0: 8, 1: 25, 2: 25, 3: 20, 4: 12, 5: 10})
        if self.extra.red_flag == "mscc":
            count = max(count, 1)
        sites: list[str] = []
        for _ in range(count):
            site = _pick(rng, dict(_SITES))
            if site not in sites or site == "rib":
                sites.append(site)
        if self.extra.red_flag == "mscc" and not any(_spinal(s) for s in sites):
            sites[0] = rng.choice(("T8", "T10", "T12", "L1"))
        later = [d for d in days[1:] if d > seen]
        for k, site in enumerate(sites):
            lesion = self._lesion(site, seen, f"L{k + 1}")
            self.lesions.append(lesion)
            if later and lesion.get("id") and rng.random() < 0.35:  # seen again, often grown
                self.lesions.append(self._regrown(lesion, rng.choice(later)))
        self.pain_sites = [_PAIN_SITE.get(s, "spine") for s in sites]

    def _lesion(self, site: str, day: dt.date, ident: str) -> Json:
        rng = self.rng
        kind = _pick(rng, {"lytic": 40, "mixed": 35, "blastic": 25})
        lesion: Json = {"date": day, "site": site, "type": kind}
        if site in _LONG_BONES:
            lesion["id"] = ident
            if rng.random() < 0.85:
                lesion["size_fraction"] = round(rng.uniform(0.1, 0.75), 2)
                lesion["pain"] = _pick(rng, {"mild": 40, "moderate": 40, "functional": 20})
        elif _spinal(site) and site != "sacrum":
            lesion["id"] = ident
            if rng.random() < 0.65 or self.extra.red_flag == "mscc":
                lesion["sins"] = self._sins(rng)
        elif rng.random() < 0.2:
            lesion["type"] = None
        return lesion

    def _sins(self, rng: random.Random) -> Json:
        band = _pick(rng, {"stable": 45, "indeterminate": 40, "unstable": 15})
        if band == "stable":
            return {
                "pain": _pick(rng, {"none": 50, "occasional": 50}),
                "alignment": "normal",
                "collapse": _pick(rng, {"none": 70, "none_over_50_involved": 30}),
                "posterolateral": "none",
            }
        if band == "indeterminate":
            return {
                "pain": _pick(rng, {"occasional": 50, "mechanical": 50}),
                "alignment": "normal",
                "collapse": _pick(rng, {"under_50": 50, "none_over_50_involved": 50}),
                "posterolateral": _pick(rng, {"unilateral": 70, "none": 30}),
            }
        return {
            "pain": "mechanical",
            "alignment": _pick(rng, {"de_novo_deformity": 70, "subluxation": 30}),
            "collapse": _pick(rng, {"over_50": 60, "under_50": 40}),
            "posterolateral": _pick(rng, {"bilateral": 60, "unilateral": 40}),
        }

    def _regrown(self, lesion: Json, day: dt.date) -> Json:
        rng = self.rng
        again = dict(lesion, date=day)
        if "size_fraction" in lesion:
            again["size_fraction"] = round(
                min(0.9, lesion["size_fraction"] + rng.uniform(0, 0.2)), 2
            )
            again["pain"] = _pick(rng, {"moderate": 50, "functional": 50})
        if "sins" in lesion and rng.random() < 0.5:
            again["sins"] = self._sins(rng)
        return again

    # --- Dental, supplements, treatments --------------------------------------------------------

    def _dental(self) -> None:
        rng = self.rng
        if self.agent is None:
            if self.has_mets and rng.random() < 0.4:
                day = self.as_of - _days(rng.randint(10, 200))
                self.dental_exams.append({"date": day, "outcome": "fit"})
            return
        start = self.first_dose or self.plan_day or self.as_of
        roll = rng.random()
        if roll < 0.80:
            exam = start - _days(rng.randint(7, 60))
            outcome = _pick(rng, {"fit": 80, "treatment_needed": 14, "unknown": 3, None: 3})
            self.dental_exams.append({"date": exam, "outcome": outcome})
            if outcome == "treatment_needed":
                self.dental_procedures.append(
                    {
                        "date": exam + _days(rng.randint(2, 6)),
                        "kind": "root_canal",
                        "invasive": False,
                    }
                )
        elif roll < 0.88 and self.first_dose is not None:
            exam = start + _days(rng.randint(20, 120))
            if exam <= self.as_of:
                self.dental_exams.append({"date": exam, "outcome": "fit"})
        day = start + _days(rng.randint(180, 400))
        while day <= self.as_of and rng.random() < 0.7:
            self.dental_exams.append({"date": day, "outcome": "fit"})
            day += _days(rng.randint(180, 400))
        if self.first_dose is not None and rng.random() < 0.05:
            day = self.as_of - _days(rng.randint(10, 90))
            if day > self.first_dose:
                self.dental_procedures.append({"date": day, "kind": "extraction", "invasive": True})

    def _supplements(self) -> None:
        rng = self.rng
        if self.agent is None and self.case.regimen != "none":
            return
        start = self.first_dose or self.plan_day or self.baseline_day
        if rng.random() < 0.82:
            mg = _pick(rng, {500: 30, 600: 20, 1000: 30, 1200: 10, 250: 10})
            self.supplements.append(
                {"date": start, "kind": "calcium", "daily_amount": mg, "unit": "mg", "active": True}
            )
            later = self.as_of - _days(rng.randint(5, 120))
            if later > start and rng.random() < 0.12:
                self.supplements.append(
                    {
                        "date": later,
                        "kind": "calcium",
                        "unit": "mg",
                        "active": False,
                        "stopped": later,
                    }
                )
        if rng.random() < 0.85:
            iu = _pick(rng, {400: 25, 800: 30, 1000: 30, 2000: 10, 200: 5})
            self.supplements.append(
                {
                    "date": start,
                    "kind": "vitamin_d",
                    "daily_amount": iu,
                    "unit": "IU",
                    "active": True,
                }
            )

    def _treatments_and_conditions(self) -> None:
        rng, as_of, mets = self.rng, self.as_of, self.t.mets

        def add(kind: str, start: dt.date, stop: dt.date | None = None) -> None:
            start = min(start, as_of)
            item: Json = {"kind": kind, "start": start}
            if stop is not None and stop <= as_of:
                item["stop"] = max(stop, start)
            self.treatments.append(item)

        begin = min(as_of, mets + _days(rng.randint(0, 21)))
        if self.receptors in ("er_positive", "prostate"):
            if self.chemo_now or (self.progressing and rng.random() < 0.5):
                switch = as_of - _days(rng.randint(20, 150))
                add("endocrine_therapy", begin, max(switch, begin + _days(30)))
                add("chemotherapy", switch)
            else:
                add("endocrine_therapy", begin)
                if self.receptors == "er_positive" and rng.random() < 0.5:
                    add("targeted_therapy", begin)
        elif self.receptors == "her2_positive":
            add("targeted_therapy", begin)
            if self.chemo_now:
                add("chemotherapy", as_of - _days(rng.randint(20, 150)))
            else:
                add("chemotherapy", begin, begin + _days(rng.randint(120, 180)))
        else:
            add("chemotherapy", begin)
        chemo = [t for t in self.treatments if t["kind"] == "chemotherapy" and "stop" not in t]
        if chemo and rng.random() < 0.4:
            add("central_line", chemo[-1]["start"])
        painful = any(
            lesion.get("pain") in ("moderate", "functional")
            or (lesion.get("sins") or {}).get("pain") == "mechanical"
            for lesion in self.lesions
        )
        if self.has_mets and rng.random() < (0.6 if painful else 0.25):
            add("opioid", mets + _days(rng.randint(0, 200)))
        if self.lesions and rng.random() < (0.6 if painful else 0.2):
            start = mets + _days(rng.randint(7, 90))
            add("radiotherapy", start, start + _days(rng.choice((0, 4, 7, 14))))
        if _age_on(self.born, as_of) > 70 and rng.random() < 0.06:
            self.conditions.append(
                {"code": "heart_failure", "date": mets - _days(rng.randint(100, 2000))}
            )
        if self.case.kidney == "severe" and rng.random() < 0.35:
            self.conditions.append(
                {"code": "dialysis", "date": as_of - _days(rng.randint(30, 300))}
            )
        self.treatments.sort(key=lambda item: item["start"])

    # --- Symptom reports ------------------------------------------------------------------------

    def _reports(self) -> None:
        rng, as_of = self.rng, self.as_of
        flag = self.extra.red_flag
        flag_day = as_of - _days(rng.randint(0, 3))
        last_routine = as_of - _days(rng.randint(0, 12))
        if flag is not None:
            last_routine = min(last_routine, flag_day - _days(rng.randint(3, 8)))
        if flag is not None or rng.random() < 0.45:  # weekly-ish reporters
            day = as_of - _days(7 * rng.randint(3, 20))
            while day <= last_routine:
                self.reports.append(self._routine_report(day))
                day += _days(rng.randint(5, 9))
        if flag is not None:
            self.reports.append(_red_flag_report(rng, flag, flag_day))

    def _routine_report(self, day: dt.date) -> Json:
        rng = self.rng
        sites = self.pain_sites or ["spine", "pelvis_hip"]
        kind = _pick(
            rng,
            {
                "quiet": 20, "fatigue": 18, "bone_pain": 22, "back_pain": 6, "constipation": 6,
                "nausea": 6, "appetite": 6, "headache": 4, "flu": 6, "gum": 2, "thigh": 2,
                "other": 2,
            },
        )  # fmt: skip
        symptoms: list[Json] = []
        if kind == "fatigue":
            symptoms.append({"code": "fatigue", "severity": rng.randint(1, 2), "trend": "same"})
        elif kind == "bone_pain":
            symptoms.append(
                {
                    "code": "bone_pain",
                    "severity": rng.randint(1, 3),
                    "site": rng.choice(sites),
                    "duration_days": rng.choice((2, 3, 5, 7, 10, 21, 30)),
                    "trend": _pick(rng, {"same": 60, "better": 30, "new": 10}),
                }
            )
        elif kind == "back_pain":
            symptoms.append(
                {"code": "back_pain", "severity": rng.randint(1, 2), "site": "lower_back"}
            )
        elif kind == "constipation":
            symptoms.append({"code": "constipation", "severity": 1})
        elif kind == "nausea":
            symptoms.append({"code": "nausea_vomiting", "severity": 1, "duration_days": 1})
        elif kind == "appetite":
            symptoms.append({"code": "loss_of_appetite", "severity": rng.randint(1, 2)})
        elif kind == "headache":
            symptoms.append({"code": "headache", "severity": 1, "trend": "same"})
        elif kind == "flu" and self.agent is not None:
            recent = [d for d in self.dose_dates if 0 <= (day - d).days <= 3]
            if recent:
                symptoms.append({"code": "flu_like_after_infusion", "severity": 1})
        elif kind == "gum" and self.agent is not None:
            symptoms.append({"code": "gum_problem", "severity": 1, "duration_days": 5})
        elif kind == "thigh" and self.agent is not None:
            symptoms.append({"code": "thigh_hip_groin_pain", "severity": 2, "duration_days": 14})
        elif kind == "other":
            symptoms.append({"code": "other", "severity": 1})
        if symptoms and rng.random() < 0.3:
            symptoms.append({"code": "fatigue", "severity": 1})
        report: Json = {"date": day, "symptoms": symptoms}
        if rng.random() < 0.25:
            report["free_text"] = rng.choice(_FREE_TEXT)
        return report


def _red_flag_report(rng: random.Random, flag: RedFlag, day: dt.date) -> Json:
    if flag == "mscc":
        symptoms: list[Json] = [
            {
                "code": "back_pain",
                "severity": 3,
                "site": rng.choice(("mid_back", "lower_back")),
                "features": ["worse_lying_down", "worse_at_night"],
                "duration_days": rng.randint(10, 30),
                "trend": "worse",
            },
            {
                "code": "limb_weakness",
                "severity": 2,
                "site": "legs",
                "duration_days": 2,
                "trend": "new",
            },
            {"code": "difficulty_walking", "severity": 2, "duration_days": 2, "trend": "new"},
        ]
        text = "Legs feel heavy and I nearly fell twice yesterday."
    elif flag == "confusion_thirst":
        symptoms = [
            {"code": "confusion", "severity": 2, "duration_days": 2, "trend": "new"},
            {"code": "thirst", "severity": 3, "duration_days": 5, "trend": "worse"},
            {"code": "passing_much_urine", "severity": 2},
            {"code": "constipation", "severity": 2},
        ]
        text = "Filled in by her daughter: muddled since yesterday and drinking all the time."
    elif flag == "dvt":
        symptoms = [
            {"code": "leg_swelling", "severity": 2, "features": ["one_leg"], "duration_days": 3},
            {"code": "leg_pain_redness_warmth", "severity": 2, "duration_days": 2},
        ]
        text = "Left calf swollen and warm."
    elif flag == "fever_chemo":
        symptoms = [
            {
                "code": "fever",
                "severity": 3,
                "features": ["temperature_38_or_more"],
                "duration_days": 1,
            },
            {"code": "fatigue", "severity": 3},
        ]
        text = "Temperature 38.4 this morning, shivery."
    elif flag == "fracture":
        symptoms = [{"code": "suspected_fracture", "severity": 4, "duration_days": 1}]
        text = "Felt a crack in my arm lifting a kettle; cannot move it."
    else:
        symptoms = [
            {
                "code": "shortness_of_breath",
                "severity": 3,
                "features": ["sudden"],
                "duration_days": 1,
            },
            {"code": "chest_pain", "severity": 3, "duration_days": 1},
        ]
        text = "Suddenly breathless this afternoon."
    return {"date": day, "symptoms": symptoms, "free_text": text}


# --- Small helpers --------------------------------------------------------------------------------


def _spinal(site: str) -> bool:
    return (site[0] in "CTLS" and site[1:].isdigit()) or site == "sacrum"


def _creatinine_uln(sex: Sex, unit: str) -> float:
    umol = 90.0 if sex == "female" else 110.0
    return round(umol / 88.4, 2) if unit == "mg/dL" else umol


def _dose_amount(agent: str, route: str, crcl: float | None) -> float | None:
    """The dose for the baseline clearance, from the agents knowledge file (None: no dose)."""
    entry = agent_table(agent)
    if entry["dose_by"] == "fixed":
        return float(entry["fixed_dose"])
    bands = entry["bands"] if "bands" in entry else entry[route]["bands"]
    if crcl is None:
        return None
    dose = band_for(bands, crcl).get("dose")
    return float(dose) if isinstance(dose, (int, float)) else None
