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

# Floors for the regression set (the search as shipped: 58 of 58 in the top 3 would be
# perfect; 55 answered right in the top 3 and 17 of 21 off-topic refused when this was written).
REGRESSION_TOP3 = 0.9
REGRESSION_REFUSAL = 0.75


def _top3(question: str, good: tuple[str, ...]) -> bool:
    answer = ask(question)
    return answer.covered and any(r.article in good for r in answer.results[:3])


def test_accuracy_over_the_regression_set() -> None:
    assert len(COVERED) >= 30
    right = sum(_top3(q, good) for q, good in COVERED)
    refused = sum(not ask(q).covered for q in NOT_COVERED)
    assert right / len(COVERED) >= REGRESSION_TOP3, right
    assert refused / len(NOT_COVERED) >= REGRESSION_REFUSAL, refused


@pytest.mark.parametrize(
    ("question", "good"),
    [
        # From issue 20: a paraphrase with no word in common, symptoms described not named,
        # and a number the articles do not use.
        ("is cancer in my bones the same as bone cancer?", ("what-are-bone-metastases",)),
        ("I'm really thirsty, sick and constipated and a bit muddled", ("high-calcium",)),
        ("how much calcium should I eat a day at 60", ("eating-for-bones",)),
        # One word the library does not know no longer refuses the whole question.
        ("what is zomita", ("zoledronic-acid",)),
        ("I can't manage in the kitchen any more", ("recovery-and-mobility-aids",)),
        ("can I still get up the stairs with bone mets", ("recovery-and-mobility-aids",)),
        # Brand names the articles do not use.
        ("whats the difference between prolia and xgeva", ("denosumab",)),
        ("why do I need adcal", ("low-calcium", "eating-for-bones", "denosumab")),
    ],
)
def test_paraphrase_misspelling_and_brand_names(question: str, good: tuple[str, ...]) -> None:
    answer = ask(question)
    assert answer.covered, (answer.best_score, answer.reason)
    assert any(r.article in good for r in answer.results[:3]), [r.article for r in answer.results]


def test_the_article_of_the_rule_a_question_sets_off_comes_first() -> None:
    answer = ask("I'm really thirsty, sick and constipated and a bit muddled")
    assert answer.safety_net is not None and answer.safety_net.level == "emergency"
    assert answer.results[0].article == "high-calcium"
    # by relevance alone pain relief (constipation) ranks first: only the order of the best
    # three changes
    plain = index().search("I'm really thirsty, sick and constipated and a bit muddled")
    assert {r.article for r in plain.results[:3]} == {r.article for r in answer.results[:3]}


def test_a_misspelt_drug_name_is_read_as_the_library_word() -> None:
    answer = ask("what is zomita")
    assert answer.corrections == {"zomita": "zometa"}
    assert answer.results[0].article == "zoledronic-acid"
    # Everyday words are never "corrected" towards a library word.
    assert ask("how do I paint a fence").corrections == {}
    assert ask("book a table for two").corrections == {}


@pytest.mark.parametrize("question", ["I have a cold sore on my lip", "how do I paint a fence"])
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


def test_the_model_loads_from_the_wheel_without_the_network(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import socket

    from bonemets.education import embed

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the embedding model tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setenv("HOME", "/nonexistent")  # no cache to fall back on either
    embed._model.cache_clear()
    vectors = embed.embed(
        [
            "I am really thirsty and muddled",
            "too much calcium in the blood makes you thirsty and confused",
            "how do I renew my passport",
        ]
    )
    assert vectors.shape == (3, embed.DIM)
    assert abs(float(vectors[0] @ vectors[0]) - 1.0) < 1e-5
    # the question sits near the passage that answers it, far from an unrelated one
    assert vectors[0] @ vectors[1] > 0.5 > 0.1 > vectors[0] @ vectors[2]
