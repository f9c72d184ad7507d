"""Alert burden: alerts per patient-week, before and after the care loop (issue 15, item 8).

    .venv/bin/python bench/alert_burden.py [--population 200] [--seed 11]

Each cohort's recent history (from its first symptom report to the cohort's day) is replayed day
by day through the service layer on a fresh SQLite database: every report, lab, dose and other
entry is filed on its own day through the one filing path (`filing.file_entries`), and the team
acknowledges every open alert at the end of the day it opened (without resolving red flags: the
conservative case for folding). Counted:

- old policy: one alert per report whose triage calls for the team (soon or above), and none from
  any other entry (a lab entered as an emergency raised nothing);
- every path, no budget: the filing path with folding switched off (each filing that finds
  anything at soon or above opens an alert): the baseline of the alert budget;
- every path, budget: the filing path as it is (repeats fold into the alert they repeat), split
  into reports and other entries; and tasks (read a message; missed check-ins are left out, as
  they depend on who has a login).

The cohorts are the demo's (50 patients, seed 7) and a larger synthetic population of the same
generator. Figures go to bench/results/alert_burden.json.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import json
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from rich.console import Console
from rich.progress import track
from rich.table import Table

from bonemets.adapters.storage import repository as repo
from bonemets.adapters.storage import tables as t
from bonemets.adapters.storage.records import KINDS, entries_of, entry_date
from bonemets.adapters.storage.repository import Database
from bonemets.config import Settings
from bonemets.core.pathway import assess_with_triage
from bonemets.core.record import Record
from bonemets.demo.cohort import make_cohort
from bonemets.service import filing

AS_OF = dt.date(2026, 11, 23)
RESULTS = Path(__file__).parent / "results" / "alert_burden.json"


def _window(record: Record) -> tuple[dt.date, dt.date] | None:
    if not record.symptom_reports:
        return None
    return min(r.date for r in record.symptom_reports), AS_OF


def before(record: Record) -> int:
    """The old policy: one alert per report whose triage calls for the team."""
    alerts = 0
    for report in record.symptom_reports:
        if assess_with_triage(record.as_of(report.date), report.date)[1].clinician_alert:
            alerts += 1
    return alerts


def _models(record: Record, start: dt.date) -> dict[dt.date, list[tuple[str, BaseModel]]]:
    """The record's entries from `start` on, by day, as the models the filing path takes."""
    by_day: dict[dt.date, list[tuple[str, BaseModel]]] = {}
    for kind, _date, data in entries_of(record):
        model = KINDS[kind][1].model_validate(data)
        day = entry_date(model)
        if day >= start:
            by_day.setdefault(day, []).append((kind, model))
    return by_day


def after(db: Database, settings: Settings, record: Record, team_id: int) -> Counter[str]:
    """Replay the record's window through the filing path; count the alerts opened by kind."""
    window = _window(record)
    assert window is not None
    start, end = window
    counts: Counter[str] = Counter()
    with db.transaction() as s:
        patient = repo.create_patient(
            s,
            record.as_of(start - dt.timedelta(days=1)),
            team_id=team_id,
            display_name=record.id,
            origin="demo",
        )
        patient_id = patient.id
    for day, added in sorted(_models(record, start).items()):
        if day > end:
            break
        on_day = dataclasses.replace(settings, fixed_today=day)
        with db.transaction() as s:
            patient, key = repo.patient_and_key(s, patient_id) or (None, None)
            assert patient is not None and key is not None
            filing.file_entries(db, s, on_day, None, patient, key, added, origin="demo")
        with db.transaction() as s:  # the team acts the same day
            for alert in repo.alerts_for(s, [patient_id], open_only=True):
                counts[alert.kind] += 1
                alert.acknowledged_at = t.utcnow()
                alert.action_taken = "replay: acknowledged the same day"
    return counts


def run(name: str, records: list[Record], *, budget: bool) -> dict[str, Any]:
    from unittest import mock

    from bonemets.service import alerting

    # Without the budget nothing is absorbed: every filing that finds something opens an alert.
    no_budget = mock.patch.object(alerting, "absorbed_by", lambda signal, priors: None)
    with tempfile.TemporaryDirectory() as folder, contextlib.nullcontext() if budget else no_budget:
        url = f"sqlite:///{folder}/burden.sqlite3"
        db = Database(url)
        settings = Settings(database_url=url, fixed_today=AS_OF)
        with db.transaction() as s:
            team_id = repo.get_or_create_team(s, "Replay").id
        weeks = 0.0
        old = 0
        new: Counter[str] = Counter()
        mode = "budget" if budget else "no budget"
        for record in track(records, description=f"Replaying {name}, {mode}"):
            window = _window(record)
            if window is None:
                continue
            weeks += ((window[1] - window[0]).days + 1) / 7
            old += before(record)
            new += after(db, settings, record, team_id)
        db.dispose()
    alerts_after = new["report"] + new["record"]
    return {
        "cohort": name,
        "patients": len(records),
        "patient_weeks": round(weeks, 1),
        "before_alerts": old,
        "before_per_patient_week": round(old / weeks, 3),
        "after_alerts": alerts_after,
        "after_per_patient_week": round(alerts_after / weeks, 3),
        "after_from_reports": new["report"],
        "after_from_other_entries": new["record"],
        "after_tasks_read_message": new["message"],
        "after_tasks_per_patient_week": round(new["message"] / weeks, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--population", type=int, default=200, help="synthetic population size")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    cohorts = {
        "demo (50, seed 7)": [p.record for p in make_cohort(50, seed=7, as_of=AS_OF)],
        f"synthetic ({args.population}, seed {args.seed})": [
            p.record for p in make_cohort(args.population, seed=args.seed, as_of=AS_OF)
        ],
    }
    rows = []
    for name, records in cohorts.items():
        without = run(name, records, budget=False)
        row = run(name, records, budget=True)
        row["no_budget_alerts"] = without["after_alerts"]
        row["no_budget_per_patient_week"] = without["after_per_patient_week"]
        rows.append(row)
    table = Table(title="Alerts per patient-week (the team acknowledges the same day)")
    for column in ("cohort", "patient-weeks", "old policy", "every path, no budget",
                   "every path, budget", "budget: reports / entries",
                   "tasks (messages)"):  # fmt: skip
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["cohort"],
            f"{row['patient_weeks']:g}",
            f"{row['before_per_patient_week']:.3f} ({row['before_alerts']})",
            f"{row['no_budget_per_patient_week']:.3f} ({row['no_budget_alerts']})",
            f"{row['after_per_patient_week']:.3f} ({row['after_alerts']})",
            f"{row['after_from_reports']} / {row['after_from_other_entries']}",
            f"{row['after_tasks_per_patient_week']:.3f} ({row['after_tasks_read_message']})",
        )
    Console().print(table)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"as_of": AS_OF.isoformat(), "rows": rows}, indent=2) + "\n")
    print(f"written {RESULTS}")


if __name__ == "__main__":
    main()
