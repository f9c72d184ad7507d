"""Graded triage reports across every UKONS 24-hour triage tool category (issue 21).

Each case is a report and the level its source asks for: the lowest level that is not
under-triage (`expected`) and the highest that is not over-triage (`highest`). The mapping from
UKONS colours to our levels is the issue's: Green -> self_care or routine; Amber -> urgent; Red,
two Ambers or a "call the emergency number" item -> emergency on systemic anticancer treatment;
NG234 box 2 -> emergency, box 1 -> urgent. Where our grade boundary is a project choice the case
cites `bonemets-policy` as well. Built by us from the sources' actions, not copied from them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

OFF = {
    "on_chemotherapy": False,
    "on_immunotherapy": False,
    "on_targeted_therapy": False,
    "spinal_metastases": False,
    "bma": {"agent": "none"},
    "on_opioids": False,
}
CHEMO = {**OFF, "on_chemotherapy": True}
IMMUNO = {**OFF, "on_immunotherapy": True}
CDK46 = {**OFF, "on_targeted_therapy": True}  # a CDK4/6 inhibitor such as palbociclib
UKONS = "ukons-triage-v3"
ALERT = "chemo-alert-card"
NG234 = "nice-ng234"
POLICY = "bonemets-policy"

GREEN = ("self_care", "routine")
AMBER = ("urgent", "urgent")
RED = ("emergency", "emergency")


@dataclass(frozen=True)
class Case:
    name: str
    symptoms: list[dict[str, Any]]
    patient: dict[str, Any]
    grade: tuple[str, str]  # (expected, highest)
    sources: tuple[str, ...]
    category: str
    labs: list[dict[str, Any]] = field(default_factory=list)
    as_of: str | None = None

    @property
    def report(self) -> dict[str, Any]:
        out: dict[str, Any] = {"symptoms": self.symptoms, "patient": self.patient}
        if self.labs:
            out["labs"] = self.labs
        if self.as_of:
            out["as_of"] = self.as_of
        return out


def S(code: str, **kw: Any) -> dict[str, Any]:
    return {"code": code, **kw}


CASES: list[Case] = []


def add(
    name: str,
    symptoms: list[dict[str, Any]],
    patient: dict[str, Any],
    grade: tuple[str, str],
    *sources: str,
    category: str,
    **kw: Any,
) -> None:
    CASES.append(Case(name, symptoms, patient, grade, sources, category, **kw))


# --- Every toxicity category by severity: 1 Green, 2 Amber, 3 Red on treatment, 4 life-threatening
TOXICITIES = {
    "nausea_vomiting": "nausea and vomiting",
    "diarrhoea": "diarrhoea",
    "constipation": "constipation",
    "fatigue": "fatigue",
    "mouth_sores": "oral / stomatitis",
    "reduced_intake": "decreased oral intake",
    "rash": "skin",
    "urinary_symptoms": "urinary",
    "cough": "cough",
    "sore_throat": "sore throat",
    "abdominal_pain": "abdominal pain",
    "dizziness_fainting": "dizziness",
    "eye_problem": "eyes",
}
for code, category in TOXICITIES.items():
    add(f"{code} mild on chemo", [S(code, severity=1)], CHEMO, GREEN, UKONS, POLICY,
        category=category)  # fmt: skip
    add(f"{code} moderate on chemo", [S(code, severity=2)], CHEMO, AMBER, UKONS, POLICY,
        category=category)  # fmt: skip
    add(f"{code} severe on chemo", [S(code, severity=3)], CHEMO, RED, UKONS, POLICY,
        category=category)  # fmt: skip
    add(f"{code} very severe off treatment", [S(code, severity=4)], OFF, RED, UKONS, POLICY,
        category=category)  # fmt: skip
    add(f"{code} moderate, treatment unknown", [S(code, severity=2)], {}, AMBER, UKONS, POLICY,
        category=category)  # fmt: skip
    add(f"{code} moderate on immunotherapy", [S(code, severity=2)], IMMUNO, AMBER, UKONS,
        POLICY, category=category)  # fmt: skip

# --- Measured values -------------------------------------------------------------------------
DIARRHOEA = ("ukons-triage-v3", "ctcae-v5-diarrhoea")
for stools, grade in [(1, GREEN), (3, GREEN), (4, AMBER), (6, AMBER), (7, RED), (10, RED)]:
    add(f"diarrhoea {stools} a day above usual on chemo",
        [S("diarrhoea", severity=1, stools_per_day=stools)], CHEMO, grade, *DIARRHOEA,
        category="diarrhoea")  # fmt: skip
add("mild diarrhoea on immunotherapy", [S("diarrhoea", severity=1, stools_per_day=2)], IMMUNO,
    AMBER, UKONS, POLICY, category="diarrhoea")  # fmt: skip
for vomits, grade in [(1, GREEN), (2, GREEN), (3, AMBER), (5, AMBER), (6, RED), (9, RED)]:
    add(f"vomiting {vomits} times a day on chemo",
        [S("nausea_vomiting", severity=1, vomits_per_day=vomits)], CHEMO, grade, UKONS, POLICY,
        category="nausea and vomiting")  # fmt: skip
for days, grade in [(1, GREEN), (2, GREEN), (3, AMBER), (5, AMBER)]:
    add(f"no stool for {days} days on chemo",
        [S("constipation", severity=1, days_without_stool=days)], CHEMO, grade, UKONS, POLICY,
        category="constipation")  # fmt: skip
add("constipation with belly pain on chemo",
    [S("constipation", severity=2), S("abdominal_pain", severity=2)], CHEMO, RED, UKONS, POLICY,
    category="constipation")  # fmt: skip
add(
    "mild constipation on opioids",
    [S("constipation", severity=1)],
    {**OFF, "on_opioids": True},
    GREEN,
    UKONS,
    "seed:bone-metastases-and-metastatic-breast-cancer",
    category="constipation",
)
add("blistering rash on chemo", [S("rash", severity=1, features=["blistering"])], CHEMO, RED,
    UKONS, POLICY, category="skin")  # fmt: skip
add("mild hand-foot skin on targeted therapy", [S("rash", severity=1, features=["hands_feet"])],
    CDK46, GREEN, UKONS, POLICY, category="skin")  # fmt: skip
add("moderate hand-foot skin on chemo", [S("rash", severity=2, features=["hands_feet"])], CHEMO,
    AMBER, UKONS, POLICY, category="skin")  # fmt: skip
for feature, grade in [
    ("pain_passing_urine", AMBER),
    ("blood_in_urine", AMBER),
    ("passing_little_urine", RED),
]:
    add(f"urine: {feature} on chemo", [S("urinary_symptoms", severity=1, features=[feature])],
        CHEMO, grade, UKONS, POLICY, category="urinary")  # fmt: skip
add(
    "fainted, off treatment",
    [S("dizziness_fainting", severity=3)],
    OFF,
    RED,
    UKONS,
    category="dizziness",
)  # collapse: straight to the emergency services [V]

# --- Fever and neutropenic sepsis (alert cards: 37.5 C or more, below 36 C, shivers, unwell) ---
FEVER = "fever / neutropenic sepsis"
for temp, grade in [(37.5, RED), (37.6, RED), (38.5, RED), (40.0, RED), (35.9, RED), (35.0, RED),
                    (37.4, AMBER), (37.0, AMBER), (36.0, AMBER)]:  # fmt: skip
    add(f"temperature {temp} C on chemo", [S("fever", temperature_c=temp)], CHEMO, grade, ALERT,
        UKONS, category=FEVER)  # fmt: skip
add("fever, no value, on chemo", [S("fever")], CHEMO, RED, ALERT, UKONS, category=FEVER)
add("fever 38 or more ticked, on chemo", [S("fever", features=["temperature_38_or_more"])],
    CHEMO, RED, ALERT, category=FEVER)  # fmt: skip
add("shivers at 37.0 C on chemo", [S("fever", temperature_c=37.0, features=["shivers"])], CHEMO,
    RED, ALERT, category=FEVER)  # fmt: skip
add("feeling unwell at 36.8 C on chemo",
    [S("fever", temperature_c=36.8, features=["feeling_unwell"])], CHEMO, RED, ALERT,
    category=FEVER)  # fmt: skip
add("fever on immunotherapy", [S("fever")], IMMUNO, RED, UKONS, ALERT, category=FEVER)
add("fever on a CDK4/6 inhibitor", [S("fever", temperature_c=37.8)], CDK46, RED, UKONS, ALERT,
    category=FEVER)  # fmt: skip
add("fever 10 days after the last chemo", [S("fever", temperature_c=37.7)],
    {**OFF, "days_since_chemotherapy": 10}, RED, ALERT, category=FEVER)  # fmt: skip
add("fever, treatment unknown", [S("fever")], {}, RED, ALERT, UKONS, category=FEVER)
add("fever, all treatment off", [S("fever", temperature_c=38.2)], OFF, AMBER, POLICY,
    category=FEVER)  # fmt: skip
add("fever 90 days after the last chemo", [S("fever", temperature_c=38.0)],
    {**OFF, "days_since_chemotherapy": 90}, AMBER, POLICY, category=FEVER)  # fmt: skip
ZA_DOSE = {"agent": "zoledronic_acid", "last_dose": "2026-11-21"}
add("shivers after zoledronic acid on chemo", [S("flu_like_after_infusion")],
    {**CHEMO, "bma": ZA_DOSE}, RED, ALERT, as_of="2026-11-23", category=FEVER)  # fmt: skip
add("shivers after zoledronic acid, chemo unknown", [S("flu_like_after_infusion")],
    {"bma": ZA_DOSE}, RED, ALERT, as_of="2026-11-23", category=FEVER)  # fmt: skip
add("flu-like after zoledronic acid, treatment off", [S("flu_like_after_infusion")],
    {**OFF, "bma": ZA_DOSE}, GREEN, "seed:secondary-breast-cancer-in-the-bone",
    as_of="2026-11-23", category=FEVER)  # fmt: skip
add("low neutrophils with a temperature", [S("fever", temperature_c=37.6)], CHEMO, RED, ALERT,
    "nice-cg151", labs=[{"code": "neutrophils", "value": 0.4, "unit": "10*9/L"}],
    category=FEVER)  # fmt: skip
add(
    "low neutrophils, no symptoms",
    [],
    CHEMO,
    AMBER,
    "ctcae-v5",
    POLICY,
    labs=[{"code": "neutrophils", "value": 0.8, "unit": "10*9/L"}],
    category=FEVER,
)

# --- Breathlessness, bleeding, chest pain (emergency items) -----------------------------------
for code, category in [("shortness_of_breath", "breathlessness"),
                       ("bruising_bleeding", "bleeding")]:  # fmt: skip
    add(f"{code} moderate on chemo", [S(code, severity=2)], CHEMO, AMBER, UKONS, category=category)
    add(f"{code} severe on chemo", [S(code, severity=3)], CHEMO, RED, UKONS, category=category)
    add(f"{code} very severe off treatment", [S(code, severity=4)], OFF, RED, UKONS,
        category=category)  # fmt: skip
add("sudden breathlessness", [S("shortness_of_breath", features=["sudden"])], OFF, RED,
    "nhs-blood-clots", category="breathlessness")  # fmt: skip
add("chest pain", [S("chest_pain", severity=2)], OFF, RED, UKONS, "nhs-blood-clots",
    category="chest pain")  # fmt: skip
add("coughing blood", [S("coughing_blood")], CHEMO, RED, "nhs-blood-clots", category="bleeding")

# --- Two Ambers on treatment count as Red -------------------------------------------------------
PAIRS = [
    ("diarrhoea", "nausea_vomiting"),
    ("fatigue", "mouth_sores"),
    ("cough", "sore_throat"),
    ("rash", "eye_problem"),
    ("abdominal_pain", "urinary_symptoms"),
    ("constipation", "fatigue"),
    ("shortness_of_breath", "cough"),
    ("bruising_bleeding", "fatigue"),
    ("reduced_intake", "dizziness_fainting"),
    ("diarrhoea", "fatigue"),
]
for a, b in PAIRS:
    add(f"two Ambers: {a} and {b} on chemo", [S(a, severity=2), S(b, severity=2)], CHEMO, RED,
        UKONS, category="two Ambers")  # fmt: skip
    add(f"two moderate: {a} and {b}, treatment off", [S(a, severity=2), S(b, severity=2)], OFF,
        AMBER, UKONS, POLICY, category="two Ambers")  # fmt: skip
add("two Ambers: new moderate bone pain and moderate sickness on chemo",
    [S("bone_pain", site="ribs", severity=2, trend="new"), S("nausea_vomiting", severity=2)],
    CHEMO, RED, UKONS, category="two Ambers")  # fmt: skip

# --- Pain -------------------------------------------------------------------------------------
for site in ("ribs", "pelvis_hip", "arm", "leg"):
    add(f"new moderate bone pain ({site})", [S("bone_pain", site=site, severity=2, trend="new")],
        CHEMO, AMBER, UKONS, POLICY, category="pain")  # fmt: skip
    add(f"severe bone pain ({site})", [S("bone_pain", site=site, severity=3, duration_days=1)],
        OFF, AMBER, UKONS, POLICY, category="pain")  # fmt: skip
add("jaw pain that stops eating", [S("jaw_pain", severity=2), S("reduced_intake", severity=2)],
    OFF, AMBER, UKONS, "aaoms-2022", category="pain")  # fmt: skip
add("severe jaw pain", [S("jaw_pain", severity=3)], OFF, AMBER, UKONS, category="pain")
add("very severe headache", [S("headache", severity=4)], OFF, AMBER, POLICY, category="pain")

# --- Neurosensory: NG234 and the chemotherapy neuropathy the issue names ----------------------
NEURO = "neurosensory"
add("leg weakness", [S("limb_weakness", site="legs")], CHEMO, RED, NG234, category=NEURO)
add("difficulty walking", [S("difficulty_walking")], OFF, RED, NG234, category=NEURO)
add("numb legs", [S("numbness_tingling", site="legs")], CHEMO, RED, NG234, category=NEURO)
add("saddle numbness", [S("numbness_tingling", site="saddle")], OFF, RED, NG234, category=NEURO)
add("cannot pass urine", [S("bladder_problem")], CHEMO, RED, NG234, category=NEURO)
add("shooting pain down a leg", [S("radiating_pain", site="leg")], OFF, RED, NG234,
    category=NEURO)  # fmt: skip
add("new toe tingling, spinal metastases", [S("numbness_tingling", site="feet", trend="new")],
    {**CHEMO, "spinal_metastases": True}, RED, NG234, category=NEURO)  # fmt: skip
add("new toe tingling, spine unknown", [S("numbness_tingling", site="feet", trend="new")],
    {**CHEMO, "spinal_metastases": None}, RED, NG234, category=NEURO)  # fmt: skip
add("toe tingling with back pain", [S("numbness_tingling", site="feet", trend="same"),
    S("back_pain", site="lower_back")], CHEMO, RED, NG234, category=NEURO)  # fmt: skip
add("new toe tingling, no spinal metastases",
    [S("numbness_tingling", site="feet", severity=1, trend="new")], CHEMO, AMBER, NG234, POLICY,
    category=NEURO)  # fmt: skip
add("worse finger tingling, no spinal metastases",
    [S("numbness_tingling", site="hands", severity=1, trend="worse")], CHEMO, AMBER, UKONS,
    POLICY, category=NEURO)  # fmt: skip
add("mild unchanged toe tingling on chemo, no spinal metastases",
    [S("numbness_tingling", site="feet", severity=1, trend="same", duration_days=60)], CHEMO,
    GREEN, UKONS, category=NEURO)  # fmt: skip
add("mild improving finger tingling on chemo",
    [S("numbness_tingling", site="hands", severity=1, trend="better")], CHEMO, GREEN, UKONS,
    category=NEURO)  # fmt: skip
add("mild unchanged tingling in hands and feet on chemo",
    [S("numbness_tingling", site="hands", severity=1, trend="same"),
     S("numbness_tingling", site="feet", severity=1, trend="same")], CHEMO, GREEN, UKONS,
    category=NEURO)  # fmt: skip
add("moderate unchanged toe tingling on chemo",
    [S("numbness_tingling", site="feet", severity=2, trend="same")], CHEMO, AMBER, UKONS,
    category=NEURO)  # fmt: skip
add("severe unchanged toe numbness on chemo",
    [S("numbness_tingling", site="feet", severity=3, trend="same")], CHEMO, RED, UKONS,
    category=NEURO)  # fmt: skip
add("mild unchanged toe tingling on chemo, spinal metastases",
    [S("numbness_tingling", site="feet", severity=1, trend="same")],
    {**CHEMO, "spinal_metastases": True}, AMBER, NG234, POLICY, category=NEURO)  # fmt: skip
add("mild unchanged toe tingling, spine unknown",
    [S("numbness_tingling", site="feet", severity=1, trend="same")],
    {**CHEMO, "spinal_metastases": None}, AMBER, NG234, POLICY, category=NEURO)  # fmt: skip
add("back pain worse at night", [S("back_pain", site="lower_back", features=["worse_at_night"])],
    OFF, AMBER, NG234, category="pain")  # fmt: skip
add("back pain worse on coughing",
    [S("back_pain", site="lower_back", features=["worse_on_straining"])], CHEMO, AMBER, NG234,
    category="pain")  # fmt: skip

# --- Calcium, confusion, drowsiness, fits ------------------------------------------------------
CALCIUM = "confusion / drowsiness"
add("drowsy, nothing else", [S("drowsiness", severity=1)], OFF, AMBER, UKONS, POLICY,
    category=CALCIUM)  # fmt: skip
add("drowsy and thirsty", [S("drowsiness"), S("thirst")], OFF, RED,
    "seed:secondary-breast-cancer-in-the-bone", category=CALCIUM)  # fmt: skip
add("new confusion", [S("confusion")], CHEMO, RED, UKONS, category=CALCIUM)
add("a fit", [S("seizure")], OFF, RED, "xgeva-smpc", category=CALCIUM)
add(
    "tingling lips after an Xgeva injection",
    [S("numbness_tingling", site="around_mouth")],
    {**OFF, "bma": {"agent": "denosumab"}},
    AMBER,
    "xgeva-smpc",
    category=CALCIUM,
)
add("thirst and constipation", [S("thirst"), S("constipation", severity=1)], OFF, AMBER,
    "seed:secondary-breast-cancer-in-the-bone", category=CALCIUM)  # fmt: skip

# --- Bones, clots ------------------------------------------------------------------------------
add("cannot put weight on a hip", [S("suspected_fracture")], OFF, RED,
    "seed:secondary-breast-cancer-in-the-bone", category="fracture")  # fmt: skip
add(
    "one swollen, hot leg",
    [S("leg_swelling", features=["one_leg"]), S("leg_pain_redness_warmth")],
    CHEMO,
    AMBER,
    "nhs-blood-clots",
    category="limb swelling",
)
add("swollen central line site", [S("line_site_swelling")], CHEMO, AMBER,
    "seed:secondary-breast-cancer-in-the-bone", category="lines")  # fmt: skip
