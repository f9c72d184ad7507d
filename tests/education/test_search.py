"""Search: the right article for real patient questions, "not covered" for off-topic ones, and
the `bonemets ask --json` contract."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from bonemets.core.knowledge import sources
from bonemets.education.search import ask, index
from bonemets.faces.cli import learn_cmds
from tests.education.questions import COVERED, NOT_COVERED


@pytest.mark.parametrize(("question", "good"), COVERED, ids=[q for q, _ in COVERED])
def test_finds_the_right_article(question: str, good: tuple[str, ...]) -> None:
    answer = ask(question)
    assert answer.covered, (answer.best_score, answer.coverage, answer.reason)
    assert answer.results[0].article in good, [r.article for r in answer.results]


def test_accuracy_over_the_question_set() -> None:
    assert len(COVERED) >= 30
    right = sum(1 for q, good in COVERED if (a := ask(q)).covered and a.results[0].article in good)
    rejected = sum(1 for q in NOT_COVERED if not ask(q).covered)
    assert right == len(COVERED)
    assert rejected == len(NOT_COVERED)


@pytest.mark.parametrize("question", NOT_COVERED)
def test_says_not_covered_for_off_topic_questions(question: str) -> None:
    answer = ask(question)
    assert not answer.covered
    assert answer.results == []
    assert answer.reason


def test_results_carry_snippets_and_resolvable_sources() -> None:
    answer = ask("can I have my tooth out on zometa")
    known = sources()
    for r in answer.results:
        assert r.snippet and "\x02" not in r.snippet
        assert r.sources and all(s in known for s in r.sources)
        assert r.url == f"/learn/{r.article}"
    scores = [r.score for r in answer.results]
    assert scores == sorted(scores, reverse=True)
    assert len({r.article for r in answer.results}) == len(answer.results)


def test_empty_and_stop_word_questions_are_not_covered() -> None:
    assert not ask("").covered
    assert not ask("what is it and why?").covered
    assert not ask('" OR * AND ( ^').covered
    # FTS5 syntax in a question is quoted, never run as a query
    answer = ask('tooth" OR zometa*')
    assert answer.results[0].article in ("jaw-and-dental-care", "zoledronic-acid")


def test_index_is_built_once() -> None:
    assert index() is index()
    assert index().passage_count > len(COVERED)


def _cli() -> typer.Typer:
    app = typer.Typer()
    learn_cmds.register(app)
    return app


def test_ask_json_contract() -> None:
    result = CliRunner().invoke(_cli(), ["ask", "why do I need calcium tablets", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["question"] == "why do I need calcium tablets"
    assert data["covered"] is True
    first = data["results"][0]
    assert {"article", "title", "snippet", "sources"} <= set(first)
    off = json.loads(
        CliRunner().invoke(_cli(), ["ask", "how do I renew my passport", "--json"]).stdout
    )
    assert off["covered"] is False and off["results"] == []


def test_ask_text_says_plainly_when_not_covered() -> None:
    result = CliRunner().invoke(_cli(), ["ask", "how do I renew my passport"])
    assert result.exit_code == 0
    assert "does not cover" in result.stdout
    covered = CliRunner().invoke(_cli(), ["ask", "what is a vertebroplasty"])
    assert "Surgery and bone cement" in covered.stdout
