"""The `ask` command's safety net (issue 21 item 3): the four questions the issue names, and the
acute-oncology ones, get the matching rule's advice before any "not covered"."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from bonemets.core.levels import Level
from bonemets.core.triage.engine import rule_advice, rule_table
from tests.education.test_safety_net import RED_FLAG_QUESTIONS, _cli

# The four questions issue 21 names, then acute-oncology ones.
QUESTIONS = [
    *RED_FLAG_QUESTIONS[:4],
    ("I'm shivery after my zometa, I'm on chemo", "emergency", "infection.fever_on_chemotherapy"),
    ("my temperature is 37.6 what do I do", "emergency", "infection.fever_on_chemotherapy"),
    ("I fainted this morning", "emergency", "ukons.dizziness"),
    ("it burns when I wee", "urgent", "ukons.urinary"),
]


@pytest.mark.parametrize(("question", "level", "rule"), QUESTIONS)
def test_ask_gives_the_rules_advice(question: str, level: str, rule: str) -> None:
    out = CliRunner().invoke(_cli(), ["ask", question, "--json"])
    assert out.exit_code == 0, out.output
    net = json.loads(out.stdout)["safety_net"]
    assert net is not None and net["level"] == level and net["rules"][0] == rule
    text = CliRunner().invoke(_cli(), ["ask", question]).stdout
    flat = " ".join(text.split())
    first = rule_advice(rule, Level(level))[0]
    assert " ".join(first.split()) in flat
    assert rule in flat and all(s in flat for s in rule_table()[rule]["sources"][:1])


def test_a_temperature_question_never_suggests_paracetamol_first() -> None:
    text = CliRunner().invoke(_cli(), ["ask", "I'm shivery after my zometa"]).stdout
    flat = " ".join(text.split())
    assert "Do not take paracetamol" in flat
    assert "take paracetamol if you usually can" not in flat
