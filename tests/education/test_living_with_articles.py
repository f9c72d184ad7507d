"""The articles added for issue 20 (living with bone metastases: practical and emotional
topics): present, and they leave urgent advice to the triage rules and "When to get help fast"
rather than restating it (one source of truth for what to do in a hurry)."""

from __future__ import annotations

import re

import pytest

from bonemets.education.library import articles, text_blocks

LIVING_WITH = [
    "sex-and-relationships",
    "travel-and-insurance",
    "work-benefits-and-driving",
    "fatigue",
    "what-scans-are-like",
    "steroids",
    "radiotherapy-side-effects",
    "recovery-and-mobility-aids",
    "carers",
    "clinical-trials",
    "emotional-support",
]
URGENT = re.compile(r"emergency|\b(999|911|112)\b|24-hour|A&E|ambulance|call .{0,30} now", re.I)


def test_the_articles_exist() -> None:
    assert set(LIVING_WITH) <= set(articles())


@pytest.mark.parametrize("article_id", LIVING_WITH)
def test_no_urgent_advice_restated(article_id: str) -> None:
    item = articles()[article_id]
    text = " ".join([item.summary, *text_blocks(item)])
    assert URGENT.search(text) is None, URGENT.search(text)
    assert item.triage_rules == ()  # the rules' own articles are the ones that explain them


def test_symptom_talk_points_to_when_to_get_help() -> None:
    pointing = [
        a for a in LIVING_WITH if "When to get help fast" in " ".join(text_blocks(articles()[a]))
    ]
    assert {"fatigue", "carers", "recovery-and-mobility-aids", "travel-and-insurance"} <= set(
        pointing
    )
    assert "when-to-get-help" in articles()


def test_helpline_numbers_are_the_cited_ones() -> None:
    text = " ".join(text_blocks(articles()["emotional-support"]))
    assert "0808 800 6000" in text and "0808 808 00 00" in text and "116 123" in text
