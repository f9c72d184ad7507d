"""Monitoring intervals: every status, centre settings, the unverified flag."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bonemets.core.pathway import MonitoringItem, PathwaySettings, assess
from bonemets.core.record import Record
from tests.pathway.builders import D, lab, patient


def _items(
    as_of: str, settings: PathwaySettings | None = None, **extra: object
) -> dict[str, MonitoringItem]:
    result = assess(Record.model_validate(patient(**extra)), D(as_of), settings)
    return {m.test: m for m in result.monitoring}


def test_never_when_nothing_recorded() -> None:
    items = _items("2026-03-01")
    assert [items[t].status for t in ("imaging", "tumour_markers", "blood_chemistry")] == [
        "never"
    ] * 3


@pytest.mark.parametrize(
    ("as_of", "status"),
    [
        ("2026-04-16", "ok"),  # due 2026-05-01: 15 days away
        ("2026-04-17", "due"),  # 14 days away
        ("2026-05-01", "due"),  # on the day
        ("2026-05-02", "overdue"),
    ],
)
def test_imaging_statuses(as_of: str, status: str) -> None:
    items = _items(as_of, imaging=[{"date": "2026-02-01", "modality": "ct"}])
    item = items["imaging"]
    assert item.last == D("2026-02-01")
    assert item.due == D("2026-05-01")
    assert item.status == status


def test_tumour_markers_and_chemistry_use_their_lab_codes() -> None:
    labs = [
        lab("cea", 4.0, "ng/mL", "2026-01-31"),
        lab("alkaline_phosphatase", 90, "U/L", "2025-11-30"),
        lab("creatinine", 80, "umol/L", "2026-02-20"),  # kidney only: not the chemistry test
    ]
    items = _items("2026-03-01", labs=labs)
    assert items["tumour_markers"].last == D("2026-01-31")
    assert items["tumour_markers"].due == D("2026-04-30")
    assert items["tumour_markers"].status == "ok"
    assert items["blood_chemistry"].due == D("2026-02-28")  # month-end clamp
    assert items["blood_chemistry"].status == "overdue"


def test_unverified_intervals_are_flagged() -> None:
    items = _items("2026-03-01")
    assert items["tumour_markers"].unverified and items["tumour_markers"].evidence == "U"
    assert items["blood_chemistry"].unverified
    assert "unverified" in (items["blood_chemistry"].note or "")
    assert not items["imaging"].unverified


def test_centre_settings_change_intervals() -> None:
    settings = PathwaySettings(imaging_months=6)
    items = _items("2026-05-02", settings, imaging=[{"date": "2026-02-01", "modality": "ct"}])
    assert items["imaging"].due == D("2026-08-01")
    assert items["imaging"].status == "ok"
    assert PathwaySettings().imaging_months == 3
    with pytest.raises(ValidationError):
        PathwaySettings(imaging_months=0)


def test_overdue_monitoring_raises_a_routine_alert() -> None:
    record = Record.model_validate(patient(imaging=[{"date": "2025-01-01", "modality": "ct"}]))
    alerts = [
        a for a in assess(record, D("2026-03-01")).alerts if a.rule == "monitoring.imaging_overdue"
    ]
    assert len(alerts) == 1 and alerts[0].level == "routine"
