"""The free-text phrase finder and its place in triage: what it reports, how its findings meet
the patient's ticked answers, and the invariants (free text never lowers the level)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bonemets.core.levels import Level
from bonemets.core.triage import triage
from bonemets.core.triage.free_text import find_symptoms, languages, positive
from tests.free_text_bank import BANK, HELD_OUT
from tests.strategies import reports

UNKNOWN: dict[str, Any] = {}  # every patient field unknown


def run(text: str, symptoms: list[dict[str, Any]] | None = None, **patient: Any) -> Any:
    return triage({"symptoms": symptoms or [], "free_text": text, "patient": patient})


# --- the finder ---------------------------------------------------------------------------------


def test_a_finding_quotes_the_patients_exact_words_and_names_its_entry() -> None:
    text = "Morning. I suddenly CAN'T feel my legs!"
    (finding,) = find_symptoms(text)
    assert finding.quote == "CAN'T feel my legs" == text[finding.start : finding.end]
    assert (finding.code, finding.site, finding.entry) == (
        "numbness_tingling",
        "legs",
        "en.numbness.site",
    )
    assert finding.sources and finding.evidence == "P" and not finding.negated


def test_a_negated_finding_names_the_words_that_deny_it() -> None:
    (finding,) = find_symptoms("I have not had any weakness in my legs")
    assert finding.negated and finding.negation == "not" and finding.use == "negated"
    assert positive(find_symptoms("I have not had any weakness in my legs")) == []


@pytest.mark.parametrize(
    "text",
    [
        "I've been sitting down a lot",  # never "fitting"
        "I keep calling the nurse",  # never "keep falling"
        "I keep getting myself in a state",  # never "wetting myself"
        "trouble talking to my family",  # never "trouble walking"
        "I fell off a ladder last year",  # never "bladder"
    ],
)
def test_a_real_word_is_never_read_as_a_nearby_symptom_word(text: str) -> None:
    assert find_symptoms(text) == ()


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("numbess in my feet", "numbness_tingling"),
        ("she had a siezure", "seizure"),
        ("I'm incontinant", "bladder_problem"),
        ("i've got a temprature", "fever"),
    ],
)
def test_a_misspelling_is_read_as_the_word_meant(text: str, code: str) -> None:
    assert [f.code for f in positive(find_symptoms(text))] == [code]


def test_modifiers_add_features_severity_and_trend() -> None:
    (back,) = find_symptoms("back pain, worse at night and it's getting worse")
    assert back.features == ("worse_at_night",) and back.trend == "worse"
    (hip,) = find_symptoms("the pain in my hip is unbearable")
    assert (hip.code, hip.severity) == ("thigh_hip_groin_pain", 4)
    (legs,) = find_symptoms("my back pain is killing me. my legs are a bit weak")[1:]
    assert legs.severity is None  # how bad weak legs are is not read from words


def test_a_temperature_is_read_by_its_value_on_both_scales() -> None:
    def features(text: str) -> list[tuple[str, ...]]:
        return [f.features for f in positive(find_symptoms(text))]

    assert features("temp 38.0") == [("temperature_38_or_more",)]
    assert features("temp 37.9") == [()]  # 37.5-37.9: fever, not "38 or more" [U]
    assert features("temp 37.4") == []
    assert features("temperature 36.0") == []
    assert features("temperature 35.9") == [()]  # below 36 counts on treatment [U]
    assert features("temp of 100.4 F") == [("temperature_38_or_more",)]
    assert features("temp of 100.3 F") == [()]


def test_unknown_language_is_a_clear_error() -> None:
    assert languages() == ("en",)
    with pytest.raises(KeyError, match="no language 'xx'"):
        find_symptoms("hello", "xx")


@settings(max_examples=300)
@given(st.text(max_size=300))
def test_any_text_is_read_without_error_and_quotes_are_exact(text: str) -> None:
    for finding in find_symptoms(text):
        assert text[finding.start : finding.end] == finding.quote
        assert finding.negated == (finding.negation is not None)


# --- in triage ----------------------------------------------------------------------------------


def test_the_issue_example_is_an_emergency_through_the_spinal_rules() -> None:
    out = run("I suddenly can't feel my legs and can't walk, and I wet myself")
    assert out.level is Level.EMERGENCY and out.clinician_alert
    assert out.headline.startswith("Possible spinal cord compression")
    fired = {r.rule: r for r in out.reasons}
    assert {"mscc.neurological", "mscc.sphincter", "report.free_text"} <= set(fired)
    assert fired["mscc.sphincter"].because == [
        'bladder_problem (severity 2) from the free text: "wet myself" [en.bladder.control]'
    ]
    assert any('"can\'t feel my legs"' in b for b in fired["mscc.neurological"].because)
    assert [(f.code, f.use) for f in out.free_text_findings] == [
        ("numbness_tingling", "implied"),
        ("difficulty_walking", "implied"),
        ("bladder_problem", "implied"),
    ]
    assert out.free_text == "I suddenly can't feel my legs and can't walk, and I wet myself"


@pytest.mark.parametrize(
    ("text", "rule", "level"),
    [
        ("one leg is fat and hot and sore", "clot.deep_vein_thrombosis", Level.URGENT),
        ("I fell and can't put weight on my hip", "fracture.suspected", Level.EMERGENCY),
        ("my legs went wobbly and I keep tripping", "mscc.neurological", Level.EMERGENCY),
        ("pins and needles round my mouth", "calcium.hypocalcaemia_symptoms", Level.URGENT),
        ("I coughed up blood", "clot.pulmonary_embolism", Level.EMERGENCY),
        ("had a fit this morning", "neuro.seizure", Level.EMERGENCY),
        ("she is very confused", "neuro.confusion", Level.EMERGENCY),
        ("hot and shivery", "infection.fever_on_chemotherapy", Level.EMERGENCY),
    ],
)
def test_free_text_alone_raises_the_level_through_the_rule(
    text: str, rule: str, level: Level
) -> None:
    out = run(text)
    assert out.level is level
    reason = next(r for r in out.reasons if r.rule == rule)
    assert all("from the free text" in b for b in reason.because if "(" in b.split(":")[0])


def test_known_context_is_respected_for_implied_symptoms() -> None:
    # "hot and shivery" is an emergency only while systemic anticancer treatment is possible.
    off = {"on_chemotherapy": False, "on_immunotherapy": False, "on_targeted_therapy": False}
    assert run("hot and shivery", **off).level is Level.URGENT
    assert run("hot and shivery", on_chemotherapy=False).level is Level.EMERGENCY
    # Mouth tingling without a bone-modifying drug is reviewed within days.
    assert run("tingly lips", bma={"agent": "none"}).level is Level.SOON


def test_a_negated_phrase_changes_nothing() -> None:
    for text in ["no leg weakness", "I haven't wet myself", "legs are fine, no numbness"]:
        out = run(text)
        assert out.level is Level.ROUTINE  # the free-text floor only
        assert [r.rule for r in out.reasons] == ["report.free_text"]
        assert all(f.use == "negated" for f in out.free_text_findings)


def test_a_ticked_symptom_the_text_also_describes_is_not_counted_twice() -> None:
    out = run("my legs went wobbly", [{"code": "limb_weakness", "severity": 1, "site": "legs"}])
    (neuro,) = [r for r in out.reasons if r.rule == "mscc.neurological"]
    assert neuro.because == [
        'limb_weakness (legs; severity 1) (also in the free text: "legs went wobbly")'
    ]
    assert [f.use for f in out.free_text_findings] == ["already_reported"]


def test_the_text_adds_what_the_ticked_answer_does_not_cover() -> None:
    # Ticked: mild pain in the lower back; written: it is unbearable and worse at night.
    ticked = [{"code": "back_pain", "severity": 1, "site": "lower_back"}]
    assert run("", ticked).level is Level.SOON
    out = run("my lower back pain is unbearable and worse at night", ticked)
    assert out.level is Level.URGENT
    spinal = next(r for r in out.reasons if r.rule == "mscc.spinal_pain")
    assert spinal.because[0].startswith(
        "back_pain (lower_back; worse_at_night; severity 4) from the free text"
    )


def test_a_none_answer_does_not_hide_what_the_text_says() -> None:
    # Ticked "no weakness" (severity 0) but wrote about it: the less reassuring reading wins.
    out = run("actually my legs have gone weak", [{"code": "limb_weakness", "severity": 0}])
    assert out.level is Level.EMERGENCY
    assert [f.use for f in out.free_text_findings] == ["implied"]


def test_free_text_findings_are_in_the_contract_json() -> None:
    data = run("no numbness but my calf is swollen").to_dict()
    assert data["free_text_findings"] == [
        {
            "entry": "en.numbness.unspecified",
            "code": "numbness_tingling",
            "site": None,
            "features": [],
            "quote": "numbness",
            "start": 3,
            "end": 11,
            "negated": True,
            "use": "negated",
            "negation": "no",
            "severity": None,
            "trend": None,
            "evidence": "P",
            "sources": ["nice-ng234", "bonemets-policy"],
        },
        {
            "entry": "en.clot.one_leg_swollen",
            "code": "leg_swelling",
            "site": None,
            "features": ["one_leg"],
            "quote": "my calf is swollen",
            "start": 16,
            "end": 34,
            "negated": False,
            "use": "implied",
            "negation": None,
            "severity": None,
            "trend": None,
            "evidence": "P",
            "sources": ["nhs-blood-clots", "bonemets-policy"],
        },
    ]
    assert triage({"symptoms": []}).to_dict()["free_text_findings"] == []


# --- invariants ---------------------------------------------------------------------------------

PHRASES = [text for text, _, _ in BANK + HELD_OUT]
free_texts = st.one_of(
    st.sampled_from(PHRASES),
    st.lists(st.sampled_from(PHRASES), min_size=2, max_size=4).map(" ".join),
    st.text(max_size=80),
)


def rank(report: dict[str, Any]) -> int:
    return triage(report).level.rank


@given(reports(), free_texts)
def test_adding_free_text_never_lowers_the_level(report: dict[str, Any], text: str) -> None:
    more = copy.deepcopy(report)
    more["free_text"] = text
    assert rank(more) >= rank(report)
    if text.strip():
        assert rank(more) >= Level.ROUTINE.rank


@given(reports(), st.sampled_from(PHRASES), st.sampled_from(PHRASES))
def test_a_further_sentence_never_lowers_the_level(
    report: dict[str, Any], first: str, second: str
) -> None:
    one = {**report, "free_text": first}
    two = {**report, "free_text": f"{first}. {second}"}
    assert rank(two) >= rank(one)


@given(reports(), free_texts)
def test_with_free_text_every_reason_is_explained_and_findings_are_used(
    report: dict[str, Any], text: str
) -> None:
    out = triage({**report, "free_text": text})
    for reason in out.reasons:
        assert reason.because and reason.sources and reason.explanation
    assert not out.reasons or out.reasons[0].level == out.level
    for finding in out.free_text_findings:
        assert finding.use == ("negated" if finding.negated else finding.use)
        assert finding.use in ("implied", "already_reported", "negated")
    implied = [f for f in out.free_text_findings if f.use == "implied"]
    quoted = " ".join(b for r in out.reasons for b in r.because)
    for finding in implied:
        assert f'"{finding.quote}"' in quoted


def test_the_packaged_real_word_list_is_up_to_date() -> None:
    """knowledge/free_text_words_en.txt is what tests/free_text_words.py makes from the phrase
    table and the dictionary now: rerun it after changing the table."""
    from tests.free_text_words import near_real_words, packaged_path, render

    for language in languages():
        assert packaged_path(language).read_text("utf-8") == render(near_real_words(language)), (
            "run: .venv/bin/python -m tests.free_text_words"
        )
