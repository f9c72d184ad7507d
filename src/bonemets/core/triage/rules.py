"""The conditions of the triage rules. What each rule means (level, wording, sources, evidence)
lives in knowledge/triage_rules.toml under the same id.

A rule returns the inputs that fired it (an empty list when it does not fire), and may name the
symptoms it accounts for, so that only unexplained symptoms fall to the routine catch-all.
Rules only ever add reasons; the engine takes the most urgent, so no rule can lower the level.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bonemets.core.knowledge import load
from bonemets.core.levels import Level
from bonemets.core.triage.context import FLU_LIKE_WINDOW_DAYS, Context, GradedLab, describe
from bonemets.core.triage.models import Symptom, symptom_catalogue


@dataclass(slots=True)
class Firing:
    because: list[str]
    explains: set[str] = field(default_factory=set)
    level: Level | None = None  # only for rules whose level depends on the input (lab grades)
    note: str | None = None
    # Set when this firing rests on weaker evidence than the rule's own (a default lab limit).
    evidence: str | None = None
    extra_sources: list[str] = field(default_factory=list)


RuleFn = Callable[[Context], Firing | None]
RULES: dict[str, RuleFn] = {}
# What can make each rule fire: symptom codes, or LABS for the lab rules. The engine runs only the
# rules whose triggers are in the report; a test checks that this skips no rule that would fire.
TRIGGERS: dict[str, frozenset[str]] = {}
LABS = "@labs"


def rule(rule_id: str, *, on: set[str]) -> Callable[[RuleFn], RuleFn]:
    def register(fn: RuleFn) -> RuleFn:
        RULES[rule_id] = fn
        TRIGGERS[rule_id] = frozenset(on)
        return fn

    return register


def _fire(symptoms: list[Symptom], extra: list[str] | None = None) -> Firing | None:
    if not symptoms:
        return None
    return Firing(
        because=[describe(s) for s in symptoms] + (extra or []),
        explains={s.code for s in symptoms},
    )


# --- Spinal cord compression -----------------------------------------------------------------

CORD_SENSORY_SITES = {"arms", "legs", "trunk"}
HAND_FOOT_SITES = {"hands", "feet"}
SPINAL_PAIN_FEATURES = {
    "worse_at_night",
    "worse_lying_down",
    "worse_on_straining",
    "worse_on_movement",
    "unremitting",
    "tender_spot",
}
UPPER_SPINE_SITES = {"neck", "upper_back", "mid_back"}


@rule("mscc.neurological", on={"limb_weakness", "difficulty_walking", "numbness_tingling"})
def mscc_neurological(ctx: Context) -> Firing | None:
    found = ctx.get("limb_weakness") + ctx.get("difficulty_walking")
    # Numbness with no site given could be anywhere: read it as the less reassuring case.
    found += [
        s for s in ctx.get("numbness_tingling") if s.site is None or s.site in CORD_SENSORY_SITES
    ]
    # Back pain alongside is quoted as context: together they make compression more likely.
    return _fire(found, [describe(s) for s in ctx.get("back_pain")])


@rule("mscc.radicular_pain", on={"radiating_pain"})
def mscc_radicular_pain(ctx: Context) -> Firing | None:
    return _fire(ctx.get("radiating_pain"))


@rule("mscc.sphincter", on={"bladder_problem", "bowel_control_loss", "numbness_tingling"})
def mscc_sphincter(ctx: Context) -> Firing | None:
    found = ctx.get("bladder_problem") + ctx.get("bowel_control_loss")
    found += [s for s in ctx.get("numbness_tingling") if s.site == "saddle"]
    return _fire(found)


STABLE_TRENDS = {"same", "better"}


def _stable(symptom: Symptom) -> bool:
    """Known to be not new and not worse (the patient says so); no trend given is read as new.
    Duration is not used, so that a longer duration can never lower the level."""
    return symptom.trend in STABLE_TRENDS


@rule("mscc.sensory_with_spinal_risk", on={"numbness_tingling"})
def mscc_sensory_with_spinal_risk(ctx: Context) -> Firing | None:
    hands_feet = [s for s in ctx.get("numbness_tingling") if s.site in HAND_FOOT_SITES]
    if not hands_feet:
        return None
    back = [describe(s) for s in ctx.get("back_pain")]
    extra: list[str] = list(back)
    if ctx.spinal_metastases_possible:
        known = ctx.report.patient.spinal_metastases
        extra.append("spinal_metastases: " + ("yes" if known else "unknown (read as possible)"))
    if not extra:
        return None
    firing = Firing(
        because=[describe(s) for s in hands_feet] + extra, explains={"numbness_tingling"}
    )
    # NG234 box 2 reads numbness as a cord sign. Tingling that the patient says is unchanged, in
    # someone known to be on chemotherapy (a known cause of it), without back pain, is checked the
    # same day rather than sent to the emergency department every week [P].
    if not back and ctx.report.patient.on_chemotherapy is True and all(map(_stable, hands_feet)):
        firing.level = Level.URGENT
        firing.note = (
            "Here the tingling is reported as unchanged, on chemotherapy and without back pain: "
            "checked today by the team (project policy) rather than as an emergency."
        )
        firing.because.append("on_chemotherapy: yes; reported unchanged")
    return firing


@rule("spine.sensory_hands_feet", on={"numbness_tingling"})
def spine_sensory_hands_feet(ctx: Context) -> Firing | None:
    """Hands or feet alone, graded by how new (trend) and how widespread (hands and feet)."""
    found = [s for s in ctx.get("numbness_tingling") if s.site in HAND_FOOT_SITES]
    if not found:
        return None
    firing = _fire(found)
    assert firing is not None
    widespread = {s.site for s in found} == HAND_FOOT_SITES
    worst = max(s.severity for s in found)
    if worst >= 3:
        # UKONS neurosensory Red (severe): assessed now on treatment, whatever the trend.
        if ctx.sact_possible:
            firing.level = Level.EMERGENCY
            firing.because.append(ctx.sact_words())
        return firing
    if not all(map(_stable, found)) or worst >= 2:
        return firing  # new, worse or not said, or moderate (UKONS Amber): urgent
    # Mild and unchanged: UKONS Green; in both hands and feet, reviewed within days.
    firing.level = Level.SOON if widespread else Level.ROUTINE
    firing.because.append("reported unchanged" + ("; hands and feet" if widespread else ""))
    return firing


def _spinal_pain_signs(symptom: Symptom) -> list[str]:
    signs = [f for f in symptom.features if f in SPINAL_PAIN_FEATURES]
    if symptom.site in UPPER_SPINE_SITES:
        signs.append(f"site {symptom.site}")
    if symptom.site is None:
        signs.append("site not given (could be the upper or middle spine)")
    if symptom.trend == "worse":
        signs.append("getting worse")
    return signs


@rule("mscc.spinal_pain", on={"back_pain", "bone_pain"})
def mscc_spinal_pain(ctx: Context) -> Firing | None:
    fired = [s for s in ctx.get("back_pain") if _spinal_pain_signs(s)]
    fired += [s for s in ctx.get("bone_pain") if s.site == "spine" and s.trend == "worse"]
    if not fired:
        return None
    because = []
    for s in fired:
        signs = _spinal_pain_signs(s) if s.code == "back_pain" else ["getting worse"]
        because.append(f"{describe(s)}: {', '.join(signs)}")
    return Firing(because=because, explains={s.code for s in fired})


@rule("spine.lower_back_pain_known_mets", on={"back_pain", "bone_pain"})
def spine_lower_back_pain(ctx: Context) -> Firing | None:
    if not ctx.spinal_metastases_possible:
        return None
    found = [s for s in ctx.get("back_pain") if s.site == "lower_back"]
    found += [s for s in ctx.get("bone_pain") if s.site == "spine"]
    known = ctx.report.patient.spinal_metastases
    return _fire(
        found, ["spinal_metastases: " + ("yes" if known else "unknown (read as possible)")]
    )


# --- Bones -----------------------------------------------------------------------------------

PERSISTENT_PAIN_DAYS = 14  # [U]: patient-information material only


@rule("fracture.suspected", on={"suspected_fracture"})
def fracture_suspected(ctx: Context) -> Firing | None:
    return _fire(ctx.get("suspected_fracture"))


@rule("bone.persistent_pain", on={"bone_pain", "thigh_hip_groin_pain"})
def bone_persistent_pain(ctx: Context) -> Firing | None:
    candidates = ctx.get("bone_pain")
    if not ctx.on_bma_possible:  # otherwise thigh pain is handled by the atypical-fracture rule
        candidates = candidates + ctx.get("thigh_hip_groin_pain")
    found = [
        s
        for s in candidates
        if s.duration_days is None or s.duration_days >= PERSISTENT_PAIN_DAYS or s.trend == "worse"
    ]
    return _fire(found)


@rule("aff.thigh_hip_groin_pain", on={"thigh_hip_groin_pain"})
def aff_thigh_pain(ctx: Context) -> Firing | None:
    if not ctx.on_bma_possible:
        return None
    return _fire(ctx.get("thigh_hip_groin_pain"), [_bma_words(ctx)])


def _bma_words(ctx: Context) -> str:
    bma = ctx.report.patient.bma
    if bma is None or bma.agent is None:
        return "bone-modifying agent: unknown (read as possibly on one)"
    return f"bone-modifying agent: {bma.agent}"


# --- Calcium ---------------------------------------------------------------------------------

HYPERCALCAEMIA_CLUSTER = (
    "thirst",
    "passing_much_urine",
    "nausea_vomiting",
    "constipation",
    "loss_of_appetite",
    "muscle_weakness",
)
CALCIUM_LEVEL_BY_GRADE = {1: Level.SOON, 2: Level.URGENT, 3: Level.EMERGENCY, 4: Level.EMERGENCY}


def _graded(graded: GradedLab) -> Firing:
    g = graded.grade
    return Firing(
        because=[graded.because],
        level=CALCIUM_LEVEL_BY_GRADE[g.grade],
        note=" ".join(g.caveats) or None,
        evidence=g.evidence,
        extra_sources=g.sources,
    )


@rule("labs.hypercalcaemia", on={LABS})
def labs_hypercalcaemia(ctx: Context) -> Firing | None:
    if ctx.hyper is None:
        return None
    return _graded(ctx.hyper)


@rule("labs.hypocalcaemia", on={LABS})
def labs_hypocalcaemia(ctx: Context) -> Firing | None:
    if ctx.hypo is None:
        return None
    return _graded(ctx.hypo)


@rule("calcium.severe_symptoms", on={"confusion", "drowsiness"})
def calcium_severe_symptoms(ctx: Context) -> Firing | None:
    altered = ctx.get("confusion") + ctx.get("drowsiness")
    others = [s for code in HYPERCALCAEMIA_CLUSTER for s in ctx.get(code)]
    if not altered or not (others or len({s.code for s in altered}) > 1):
        return None
    return _fire(altered + others)


@rule("calcium.symptom_cluster", on=set(HYPERCALCAEMIA_CLUSTER))
def calcium_symptom_cluster(ctx: Context) -> Firing | None:
    found = [s for code in HYPERCALCAEMIA_CLUSTER for s in ctx.get(code)]
    if len({s.code for s in found}) < 2:
        return None
    return _fire(found)


@rule("calcium.hypocalcaemia_symptoms", on={"numbness_tingling", "muscle_cramps_twitching"})
def calcium_hypocalcaemia_symptoms(ctx: Context) -> Firing | None:
    found = [s for s in ctx.get("numbness_tingling") if s.site == "around_mouth"]
    found += ctx.get("muscle_cramps_twitching")
    firing = _fire(found, [_bma_words(ctx)])
    if firing is not None and not ctx.on_bma_possible:
        firing.level = Level.SOON
    return firing


# --- Nervous system --------------------------------------------------------------------------


@rule("neuro.seizure", on={"seizure"})
def neuro_seizure(ctx: Context) -> Firing | None:
    return _fire(ctx.get("seizure"))


@rule("neuro.confusion", on={"confusion"})
def neuro_confusion(ctx: Context) -> Firing | None:
    return _fire(ctx.get("confusion"))


@rule("neuro.headache", on={"headache"})
def neuro_headache(ctx: Context) -> Firing | None:
    return _fire([s for s in ctx.get("headache") if s.severity >= 3 or s.trend == "worse"])


# --- Blood clots and breathing ---------------------------------------------------------------


@rule("clot.pulmonary_embolism", on={"shortness_of_breath", "chest_pain", "coughing_blood"})
def clot_pulmonary_embolism(ctx: Context) -> Firing | None:
    found = [s for s in ctx.get("shortness_of_breath") if "sudden" in s.features]
    return _fire(found + ctx.get("chest_pain") + ctx.get("coughing_blood"))


def _red_or_life_threatening(firing: Firing | None, symptoms: list[Symptom], ctx: Context) -> None:
    """Severity 4 is the life-threatening grade: emergency. Severity 3 is UKONS Red: emergency on
    systemic anticancer treatment (or not known to be off it)."""
    if firing is None or not symptoms:
        return
    worst = max(s.severity for s in symptoms)
    if worst >= 4 or (worst >= 3 and ctx.sact_possible):
        firing.level = Level.EMERGENCY
        if worst < 4:
            firing.because.append(ctx.sact_words())


@rule("breathing.breathless", on={"shortness_of_breath"})
def breathing_breathless(ctx: Context) -> Firing | None:
    found = [s for s in ctx.get("shortness_of_breath") if "sudden" not in s.features]
    firing = _fire(found)
    _red_or_life_threatening(firing, found, ctx)
    return firing


@rule("clot.deep_vein_thrombosis", on={"leg_swelling", "leg_pain_redness_warmth"})
def clot_deep_vein_thrombosis(ctx: Context) -> Firing | None:
    found = [s for s in ctx.get("leg_swelling") if "one_leg" in s.features]
    return _fire(found + ctx.get("leg_pain_redness_warmth"))


@rule("clot.central_line", on={"line_site_swelling"})
def clot_central_line(ctx: Context) -> Firing | None:
    return _fire(ctx.get("line_site_swelling"))


@rule("clot.leg_swelling", on={"leg_swelling"})
def clot_leg_swelling(ctx: Context) -> Firing | None:
    return _fire([s for s in ctx.get("leg_swelling") if "one_leg" not in s.features])


# --- Blood counts, bleeding, infection -------------------------------------------------------


@rule("bleeding.bruising", on={"bruising_bleeding"})
def bleeding_bruising(ctx: Context) -> Firing | None:
    found = ctx.get("bruising_bleeding")
    firing = _fire(found)
    _red_or_life_threatening(firing, found, ctx)
    return firing


@rule("labs.platelets_low", on={LABS})
def labs_platelets_low(ctx: Context) -> Firing | None:
    if ctx.platelets is None or ctx.platelets.grade.grade < 3:  # below 50 x10^9/L
        return None
    return Firing(because=[ctx.platelets.because])


@rule("labs.anaemia_severe", on={LABS})
def labs_anaemia_severe(ctx: Context) -> Firing | None:
    if ctx.anaemia is None or ctx.anaemia.grade.grade < 3:  # below 80 g/L
        return None
    return Firing(because=[ctx.anaemia.because])


@rule("labs.neutrophils_low", on={LABS})
def labs_neutrophils_low(ctx: Context) -> Firing | None:
    if ctx.neutrophils is None or ctx.neutrophils.grade.grade < 3:  # below 1.0 x10^9/L
        return None
    return Firing(because=[ctx.neutrophils.because])


_UKONS = load("triage_rules")["ukons"]
FEVER_HIGH_C = float(_UKONS["fever_high_c"])  # alert cards: 37.5 C or more [V] (triage_rules.toml)
FEVER_LOW_C = float(_UKONS["fever_low_c"])  # and below 36 C
SEPSIS_FEATURES = {"temperature_38_or_more", "shivers", "feeling_unwell"}


def _settled_temperature(symptom: Symptom) -> bool:
    """A measured temperature from 36 up to 37.5 C, with no shivers or feeling unwell."""
    t = symptom.temperature_c
    return (
        t is not None
        and FEVER_LOW_C <= t < FEVER_HIGH_C
        and not SEPSIS_FEATURES & set(symptom.features)
    )


@rule("infection.fever_on_chemotherapy", on={"fever"})
def infection_fever_on_chemotherapy(ctx: Context) -> Firing | None:
    """Fever on systemic anticancer treatment (or not known to be off it): possible neutropenic
    sepsis. Any fever without a measured value counts, as does 37.5 C or more, below 36 C,
    shivers or feeling unwell. A measured value from 36 up to 37.5 C alone is UKONS Amber."""
    if not ctx.sact_possible:
        return None
    fevers = ctx.get("fever")
    firing = _fire(fevers, [ctx.sact_words()])
    if firing is not None and all(map(_settled_temperature, fevers)):
        firing.level = Level.URGENT
        firing.note = "The measured temperature is below 37.5 C: check it again within the hour."
    return firing


@rule("infection.flu_like_on_treatment", on={"flu_like_after_infusion"})
def infection_flu_like_on_treatment(ctx: Context) -> Firing | None:
    """Shivers or flu-like feelings after a bone drug, while systemic anticancer treatment is on
    (or not known to be off): read as possible neutropenic sepsis, never as the expected
    reaction."""
    if not ctx.sact_possible:
        return None
    return _fire(ctx.get("flu_like_after_infusion"), [ctx.sact_words()])


@rule("infection.fever", on={"fever"})
def infection_fever(ctx: Context) -> Firing | None:
    return _fire(ctx.get("fever"))


# --- Pain ------------------------------------------------------------------------------------

PAIN_CODES = {code for code, entry in symptom_catalogue().items() if entry.get("pain")}


@rule("pain.very_severe", on=PAIN_CODES)
def pain_very_severe(ctx: Context) -> Firing | None:
    found = [s for code in PAIN_CODES for s in ctx.get(code) if s.severity >= 4]
    return _fire(found)


@rule("pain.severe_or_new", on=PAIN_CODES)
def pain_severe_or_new(ctx: Context) -> Firing | None:
    """UKONS pain Amber: severe pain, or moderate pain that is new or getting worse."""
    found = [
        s
        for code in PAIN_CODES
        for s in ctx.get(code)
        if s.severity == 3 or (s.severity == 2 and s.trend in ("new", "worse"))
    ]
    return _fire(found)


# --- Jaw and ear -----------------------------------------------------------------------------


@rule("onj.oral_symptoms", on={"jaw_pain", "loose_teeth", "gum_problem", "exposed_bone_mouth"})
def onj_oral_symptoms(ctx: Context) -> Firing | None:
    found = [
        s
        for code in ("jaw_pain", "loose_teeth", "gum_problem", "exposed_bone_mouth")
        for s in ctx.get(code)
    ]
    return _fire(found)


@rule("oto.ear_symptoms_on_bma", on={"ear_pain_discharge"})
def oto_ear_symptoms(ctx: Context) -> Firing | None:
    if not ctx.on_bma_possible:
        return None
    return _fire(ctx.get("ear_pain_discharge"), [_bma_words(ctx)])


# --- Self care -------------------------------------------------------------------------------

MILD = 1


@rule("self_care.flu_like_after_dose", on={"flu_like_after_infusion"})
def self_care_flu_like(ctx: Context) -> Firing | None:
    # Only when systemic anticancer treatment is known to be off: on it (or not knowing), shivers
    # and feeling unwell are read as possible neutropenic sepsis (infection.flu_like_on_treatment).
    if ctx.sact_possible:
        return None
    days = ctx.days_since_bma_dose()
    if days is None or not 0 <= days <= FLU_LIKE_WINDOW_DAYS:
        return None
    return _fire(
        ctx.get("flu_like_after_infusion"),
        [f"last bone-modifying-agent dose {days} days ago", ctx.sact_words()],
    )


@rule("self_care.opioid_constipation", on={"constipation"})
def self_care_opioid_constipation(ctx: Context) -> Firing | None:
    if not ctx.on_opioids:
        return None
    return _fire([s for s in ctx.get("constipation") if s.severity <= MILD], ["on_opioids: yes"])


@rule("self_care.mild_nausea", on={"nausea_vomiting"})
def self_care_mild_nausea(ctx: Context) -> Firing | None:
    return _fire([s for s in ctx.get("nausea_vomiting") if s.severity <= MILD])


# The routine catch-all, the two-Ambers rule and the free-text floor are applied by the engine,
# which knows which symptoms the other rules accounted for and which rules fired.
CATCH_ALL = "report.other_symptoms"
FREE_TEXT = "report.free_text"
TWO_AMBERS = "ukons.two_ambers"

# The acute-oncology rules register here, after the rules above (rule-table order).
from bonemets.core.triage import acute as _acute  # noqa: E402, F401
