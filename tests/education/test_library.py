"""The article library: sources resolve, every statement is cited, every red-flag triage rule
has an article, the Markdown is rendered safely, and the nutrition table matches the core."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from bonemets.core.knowledge import load, sources
from bonemets.core.nutrition import daily_intake
from bonemets.education import library
from bonemets.education.library import (
    article_for_rule,
    articles,
    cited_ids,
    parse_article,
    passages,
    render,
    render_markdown,
    text_blocks,
    uncited_blocks,
)

ARTICLES = list(articles().values())
RULES: dict[str, dict[str, object]] = load("triage_rules")["rules"]
ALERTING = ("emergency", "urgent", "soon")


def _levels(spec: dict[str, object]) -> set[str]:
    if "level" in spec:
        return {str(spec["level"])}
    by_grade = spec.get("levels_by_grade")
    assert isinstance(by_grade, dict)
    return {str(v) for v in by_grade.values()}


def test_there_are_articles_for_every_topic_of_the_material() -> None:
    wanted = {
        "what-are-bone-metastases", "finding-bone-metastases", "treating-the-cancer",
        "bone-strengthening-drugs", "zoledronic-acid", "pamidronate", "ibandronic-acid",
        "clodronate", "denosumab", "jaw-and-dental-care", "radiotherapy",
        "surgery-and-bone-cement", "radiopharmaceuticals", "pain-relief",
        "bone-pain-and-broken-bones", "spinal-cord-compression", "high-calcium", "low-calcium",
        "atypical-thigh-fracture", "blood-clots", "bone-marrow-and-blood-counts", "bone-density",
        "eating-for-bones", "exercise", "preventing-falls", "monitoring",
        "prognosis-and-living-well", "palliative-care", "when-to-get-help",
    }  # fmt: skip
    assert wanted <= set(articles())


@pytest.mark.parametrize("article", ARTICLES, ids=lambda a: a.id)
def test_sources_resolve_and_match_the_citations(article: library.Article) -> None:
    known = sources()
    assert article.sources, "an article lists its sources"
    assert [s for s in article.sources if s not in known] == []
    assert set(cited_ids(article)) == set(article.sources), "front matter = what the text cites"
    refs = render(article.id).references
    assert [r.number for r in refs] == list(range(1, len(refs) + 1))
    assert {r.source.id for r in refs} == set(article.sources)


@pytest.mark.parametrize("article", ARTICLES, ids=lambda a: a.id)
def test_every_statement_carries_a_citation(article: library.Article) -> None:
    assert uncited_blocks(article) == []


@pytest.mark.parametrize("article", ARTICLES, ids=lambda a: a.id)
def test_front_matter(article: library.Article) -> None:
    assert article.title and article.summary and article.topics
    assert dt.date(2026, 1, 1) <= article.last_reviewed <= dt.date.today()
    assert set(article.triage_rules) <= set(RULES), "triage_rules name real rule ids"
    assert article.body.lstrip().startswith("## "), "the text starts with a section"


@pytest.mark.parametrize("article", ARTICLES, ids=lambda a: a.id)
def test_plain_language(article: library.Article) -> None:
    """Short sentences (a rough reading-age check): mean under 14 words, none over 40."""
    sentences = [
        s
        for block in [article.summary, *text_blocks(article)]
        for s in re.split(r"(?<=[.!?;:])\s+", re.sub(r"\([^)]*\)", "", block))
        if len(s.split()) > 1
    ]
    lengths = [len(s.split()) for s in sentences]
    assert sum(lengths) / len(lengths) < 14, article.id
    assert max(lengths) <= 40, [s for s in sentences if len(s.split()) > 40]


@pytest.mark.parametrize(
    "rule",
    [r for r, spec in RULES.items() if _levels(spec) & set(ALERTING)],
)
def test_every_red_flag_rule_has_an_article(rule: str) -> None:
    found = article_for_rule(rule)
    assert found is not None, f"no article lists triage rule {rule}"
    assert rule in found.triage_rules


def test_every_rule_listed_by_an_article_is_listed_once_as_primary() -> None:
    seen: dict[str, str] = {}
    for item in ARTICLES:
        for rule in item.triage_rules:
            assert rule not in seen, f"{rule} in {seen.get(rule)} and {item.id}"
            seen[rule] = item.id


def test_unknown_rule_has_no_article() -> None:
    assert article_for_rule("no.such_rule") is None


def test_articles_for_assessment() -> None:
    from bonemets.core.pathway import assess
    from bonemets.core.record import Record
    from tests.web.conftest import example_record

    record: Record = example_record("x")
    assessment = assess(record, dt.date(2026, 11, 23))
    links = library.articles_for_assessment(assessment)
    assert links["bma"].id == "zoledronic-acid"
    assert links["monitoring:imaging"].id == "monitoring"
    assert links["lesions"].id == "what-are-bone-metastases"
    for alert in assessment.alerts:
        if f"alert:{alert.rule}" in links:
            assert alert.rule in (
                *links[f"alert:{alert.rule}"].triage_rules,
                *links[f"alert:{alert.rule}"].alert_rules,
            )


def test_markdown_escapes_raw_html_and_numbers_citations() -> None:
    html, cited = render_markdown(
        "Hello <script>alert(1)</script> [x](javascript:alert(1)) fact.[^b] again[^a][^b]\n"
    )
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'href="javascript' not in html
    assert cited == ["b", "a"]
    assert '<a href="#ref-1" title="b">[1]</a>' in html
    assert '<a href="#ref-2" title="a">[2]</a>' in html


def test_parse_article_refuses_bad_front_matter() -> None:
    with pytest.raises(ValueError, match="front matter"):
        parse_article("no front matter\n")
    with pytest.raises(ValueError, match="lacks"):
        parse_article("---\nid: x\n---\nBody\n")


def test_the_calcium_table_matches_the_core_nutrition_table() -> None:
    body = articles()["eating-for-bones"].body
    rows = re.findall(r"^\| (.+?) \| ([\d,]+) mg \| (\d+) IU", body, re.M)
    ages = {
        "Women and men aged 19 to 50": [(30, "female"), (30, "male")],
        "Men aged 51 to 70": [(60, "male")],
        "Women aged 51 to 70": [(60, "female")],
        "Everyone aged 71 and over": [(75, "female"), (75, "male")],
    }
    assert len(rows) == 4
    for who, calcium, vitamin_d in rows:
        for age, sex in ages[who]:
            intake = daily_intake(age, sex)  # type: ignore[arg-type]
            assert intake.calcium_mg == int(calcium.replace(",", "")), who
            assert intake.vitamin_d_iu == int(vitamin_d), who


def test_passages_split_at_sections_with_their_sources() -> None:
    parts = passages("radiotherapy")
    assert parts[0].heading == "In short"
    headings = [p.heading for p in parts]
    assert "Stereotactic radiotherapy" in headings
    stereo = next(p for p in parts if p.heading == "Stereotactic radiotherapy")
    assert "sc24-2021" in stereo.sources
    assert "[^" not in stereo.text
