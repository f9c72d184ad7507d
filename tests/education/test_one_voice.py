"""One voice for "what to do" (issue 21): the urgency an article gives for a symptom is the triage
rule's own, because articles embed the rule's advice by id and state no urgency of their own."""

from __future__ import annotations

import re
from importlib import resources

import pytest

from bonemets.core.levels import Level
from bonemets.core.triage.engine import rule_advice, rule_level, rule_table
from bonemets.education import library
from bonemets.education.rule_advice import MARKER, advice_block, embedded_rules

# How an article could say how fast to act, by level.
URGENCY = {
    Level.EMERGENCY: r"emergency number|emergency department|\b999\b|\bA&E\b|ambulance",
    Level.URGENT: r"24-hour line|same day|\btoday\b|within 24 hours",
    Level.SOON: r"next few (?:working )?days|within (?:a few )?days",
    Level.ROUTINE: r"next (?:planned )?appointment",
}
# Words that name a symptom a triage rule grades.
SYMPTOM = re.compile(
    r"numb|tingl|pins and needles|weak|walk|bladder|bowel|urine|fever|temperature|shiver|"
    r"hot and|bleed|bruis|breath|chest|cough|confus|drows|\bfit\b|seizure|thirst|sick|vomit|"
    r"constipat|diarrh|pain|swell|swollen|jaw|teeth|gum|\bear\b|thigh|groin|weight on|headache|"
    r"rash|blister|mouth|dizz|faint|tired",
    re.I,
)


def _raw(article_id: str) -> tuple[str, str]:
    """The summary and the body of an article as written (advice markers not expanded)."""
    folder = resources.files("bonemets.knowledge").joinpath("articles")
    text = folder.joinpath(f"{article_id}.md").read_text("utf-8")
    body = text.split("\n---\n", 1)[1]
    return library.articles()[article_id].summary, body


def own_urgency(summary: str, body: str) -> list[tuple[str, Level]]:
    """Sentences written in the article itself (not embedded advice) that name a symptom and
    say how fast to act."""
    without = MARKER.sub("", body)
    html_free = re.sub(r"\[\^[^\]]+\]", "", without)
    out: list[tuple[str, Level]] = []
    for block in [summary, *html_free.split("\n")]:
        for sentence in re.split(r"(?<=[.!?])\s+", block):
            if not SYMPTOM.search(sentence) or sentence.lstrip().startswith("#"):
                continue
            for level, pattern in URGENCY.items():
                if re.search(pattern, sentence, re.I):
                    out.append((sentence.strip(), level))
    return out


ARTICLES = sorted(library.articles())


@pytest.mark.parametrize("article_id", ARTICLES)
def test_an_article_states_no_urgency_of_its_own_for_a_symptom(article_id: str) -> None:
    assert own_urgency(*_raw(article_id)) == []


@pytest.mark.parametrize("article_id", ARTICLES)
def test_an_article_shows_each_of_its_rules_in_the_rules_own_words(article_id: str) -> None:
    item = library.articles()[article_id]
    embedded = {rule for rule, _ in embedded_rules(_raw(article_id)[1])}
    for rule in item.triage_rules:
        if rule == "report.free_text" or "levels_by_grade" in rule_table()[rule]:
            continue  # the free-text floor and lab grades are for the team, not a symptom
        assert rule in embedded, f"{article_id} lists {rule} but does not embed its advice"
    for rule, level in embedded_rules(_raw(article_id)[1]):
        entry = rule_table()[rule]
        reachable = {rule_level(rule).value, *entry.get("headlines_by_level", {})}
        reachable |= set(entry.get("advice_by_level", {}))
        assert level.value in reachable, (article_id, rule, level)
        for line in rule_advice(rule, level):
            assert line in item.body, (article_id, rule, line)


def test_an_article_that_says_its_own_urgency_is_caught() -> None:
    # The checker fails on the errors issue 21 found: numbness "same day", fever at 38 C.
    body = (
        "Numbness in your hands or feet alone: call your team the same day.\n\n"
        "A temperature of 38 C on chemotherapy: call the emergency number.\n\n"
        "{{advice:infection.fever_on_chemotherapy}}\n"
    )
    found = own_urgency("A page about fever.", body)
    assert [level for _, level in found] == [Level.URGENT, Level.EMERGENCY]


def test_the_fever_page_says_what_the_fever_rule_says() -> None:
    body = library.articles()["bone-marrow-and-blood-counts"].body
    for line in rule_advice("infection.fever_on_chemotherapy"):
        assert line in body
    assert "37.5 C" in body and "38 C" not in body
    assert rule_level("infection.fever_on_chemotherapy") is Level.EMERGENCY


def test_no_page_tells_a_patient_on_treatment_to_take_paracetamol_first() -> None:
    for item in library.articles().values():
        for sentence in re.split(r"(?<=[.!?])\s+", item.body):
            if "paracetamol" in sentence.lower() and re.search(r"fever|temperature", sentence):
                assert re.search(r"do not take paracetamol|not on chemotherapy", sentence, re.I), (
                    item.id,
                    sentence,
                )


def test_an_unknown_rule_in_a_marker_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown triage rule"):
        advice_block("no.such_rule")
    with pytest.raises(ValueError, match="unknown triage rule"):
        library.parse_article(
            "---\nid: x\ntitle: X\nsummary: s\nsources: []\nlast_reviewed: 2026-12-01\n"
            "topics: []\ntriage_rules: []\n---\n## A\n\n{{advice:no.such_rule}}\n"
        )
