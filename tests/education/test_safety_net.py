"""A question about a red-flag symptom is answered with the triage rules' advice, never only
"the library does not cover this"; off-topic questions are still refused."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from bonemets.core.knowledge import sources
from bonemets.core.triage.engine import rule_table
from bonemets.education.search import ask
from bonemets.faces.cli import learn_cmds
from tests.education.questions import NOT_COVERED

RED_FLAG_QUESTIONS = [
    ("one leg is fat and hot and sore", "urgent", "clot.deep_vein_thrombosis"),
    ("I fell and can't put weight on my hip", "emergency", "fracture.suspected"),
    ("my legs went wobbly and I keep tripping", "emergency", "mscc.neurological"),
    (
        "pins and needles round my mouth after my xgeva jab",
        "urgent",
        "calcium.hypocalcaemia_symptoms",
    ),
    ("is it bad that I coughed up blood", "emergency", "clot.pulmonary_embolism"),
    ("what do I do, I've wet myself and my back hurts", "emergency", "mscc.sphincter"),
]


@pytest.mark.parametrize(("question", "level", "rule"), RED_FLAG_QUESTIONS)
def test_a_red_flag_question_gets_the_rules_advice(question: str, level: str, rule: str) -> None:
    net = ask(question).safety_net
    assert net is not None
    assert net.level == level
    assert net.rules[0] == rule
    entry = rule_table()[rule]
    assert net.headline == entry["headline"]
    assert net.advice[: len(entry["advice"])] == entry["advice"]
    assert set(entry["sources"]) <= set(net.sources)
    assert all(s in sources() for s in net.sources)
    assert net.words and all(w.lower() in question.lower() for w in net.words)
    assert net.disclaimer


def test_unknown_context_is_the_less_reassuring_case() -> None:
    # On chemotherapy or not is unknown in a question: a fever is read as possibly neutropenic.
    net = ask("I feel hot and shivery what should I do").safety_net
    assert net is not None and net.level == "emergency"
    assert net.rules[0] == "infection.fever_on_chemotherapy"


@pytest.mark.parametrize("question", NOT_COVERED)
def test_off_topic_questions_get_no_net(question: str) -> None:
    # Whether the library answers them is the search's accuracy (floors in test_search.py and
    # test_search_eval.py); no off-topic question may raise the triage rules' alarm.
    answer = ask(question)
    assert answer.safety_net is None
    assert answer.covered or answer.results == []


@pytest.mark.parametrize(
    "question",
    ["no numbness, just wondering about zometa", "I'm not confused, how long is the drip"],
)
def test_a_denied_symptom_gives_no_net(question: str) -> None:
    assert ask(question).safety_net is None


def test_a_covered_question_that_names_a_red_flag_carries_the_net_too() -> None:
    answer = ask("my legs feel weak and numb and I can't walk properly")
    assert answer.covered
    assert answer.results[0].article == "spinal-cord-compression"
    assert answer.safety_net is not None and answer.safety_net.level == "emergency"


def _cli() -> typer.Typer:
    app = typer.Typer()
    learn_cmds.register(app)
    return app


def test_cli_shows_the_advice_before_saying_the_library_has_no_article() -> None:
    out = CliRunner().invoke(_cli(), ["ask", "one leg is fat and hot and sore"])
    assert out.exit_code == 0, out.output
    text = " ".join(out.stdout.split())
    assert "This could be a blood clot in the leg: get help today." in text
    assert "Contact your cancer team's 24-hour line, your GP or an urgent care service" in text
    assert "clot.deep_vein_thrombosis" in text and "nhs-blood-clots" in text
    assert text.index("blood clot") < text.index("does not cover")
    refused = CliRunner().invoke(_cli(), ["ask", "how do I renew my passport"]).stdout
    assert "does not cover" in refused and "If this is happening" not in refused


def test_cli_json_carries_the_net() -> None:
    out = CliRunner().invoke(_cli(), ["ask", "I fell and can't put weight on my hip", "--json"])
    data = json.loads(out.stdout)
    net = data["safety_net"]
    assert net["level"] == "emergency" and net["rules"] == ["fracture.suspected"]
    assert net["words"] == ["fell and can't put weight"]
    off = json.loads(
        CliRunner().invoke(_cli(), ["ask", "how do I renew my passport", "--json"]).stdout
    )
    assert off["safety_net"] is None and off["covered"] is False
