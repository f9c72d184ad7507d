"""The phrase finder on a bank of real-world phrasings: every case read as a clinician would,
and precision and recall over the bank."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from bonemets.core.triage.free_text import find_symptoms
from bonemets.core.triage.models import FreeTextFinding
from tests.free_text_bank import BANK, HELD_OUT, NAMED, NOTHING, Case


def key(finding: FreeTextFinding) -> str:
    """`code`, `code@site`, `code+feature...`: what a case expects of a finding."""
    out = finding.code
    if finding.site:
        out += f"@{finding.site}"
    for feature in finding.features:
        out += f"+{feature}"
    return out


def read(text: str) -> tuple[set[str], set[str]]:
    findings = find_symptoms(text)
    return (
        {key(f) for f in findings if not f.negated},
        {key(f) for f in findings if f.negated},
    )


@pytest.mark.parametrize(
    ("text", "found", "negated"), BANK + HELD_OUT, ids=[text[:60] for text, _, _ in BANK + HELD_OUT]
)
def test_each_phrasing_is_read_as_a_clinician_would(
    text: str, found: set[str], negated: set[str]
) -> None:
    got_found, got_negated = read(text)
    assert got_found == found
    assert got_negated == negated


def test_the_bank_is_large_and_varied() -> None:
    assert len(BANK) >= 150
    assert sum(1 for _, _, negated in BANK if negated) >= 25
    assert len(NOTHING) >= 20
    assert {"numbness_tingling", "limb_weakness", "bladder_problem", "suspected_fracture"} <= {
        k.split("@")[0].split("+")[0] for _, found, _ in NAMED for k in found
    }


def scores(cases: Iterable[Case]) -> tuple[float, float, int, int, int]:
    """Precision and recall of positive findings (code, site and features must all match), with
    the true positive, false positive and false negative counts."""
    tp = fp = fn = 0
    for text, found, _ in cases:
        got, _ = read(text)
        tp += len(got & found)
        fp += len(got - found)
        fn += len(found - got)
    return tp / (tp + fp), tp / (tp + fn), tp, fp, fn


def test_precision_and_recall_over_the_bank() -> None:
    precision, recall, *_ = scores(BANK + HELD_OUT)
    assert recall == 1.0
    assert precision == 1.0


def test_a_negated_mention_is_never_a_positive_finding() -> None:
    for text, _, negated in BANK + HELD_OUT:
        got_found, _ = read(text)
        assert not (got_found & negated) or text.startswith("I haven't wet myself but"), text
