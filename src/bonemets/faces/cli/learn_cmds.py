"""`bonemets ask`, `bonemets careplan`, `bonemets calendar`: the education library and a patient's
printable care plan and calendar (from the configured database)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bonemets.faces.cli.common import (
    JsonOption,
    console,
    existing_database_url,
    fail,
    print_json,
)

if TYPE_CHECKING:
    from bonemets.education.plan import CarePlan


def _plan_from_db(patient: str, what: str) -> CarePlan:
    """The care plan of record `patient` today, from the configured database (audited)."""
    from bonemets.adapters.storage import repository as repo
    from bonemets.adapters.storage.repository import Database, NotFound
    from bonemets.config import Settings
    from bonemets.core.pathway import assess
    from bonemets.education.plan import build_care_plan, team_contacts_setting

    settings = Settings.from_env()
    db = Database(existing_database_url())
    try:
        with db.transaction() as s:
            try:
                row = repo.get_patient(s, patient)
            except NotFound:
                fail("patient", f"no patient record {patient!r}")
            record = repo.load_record(s, patient)
            stored = repo.get_setting(s, "team_contacts")
            repo.audit(s, user=None, action="read", what=f"{what} (cli)", patient_id=patient)
            display_name = row.display_name
    finally:
        db.dispose()
    assessment = assess(record, settings.today())
    return build_care_plan(
        patient_id=patient,
        display_name=display_name,
        record=record,
        assessment=assessment,
        contacts_text=team_contacts_setting(settings, stored),
    )


def register(app: typer.Typer) -> None:
    @app.command()
    def ask(
        question: Annotated[str, typer.Argument(help="The question, in your own words.")],
        limit: Annotated[int, typer.Option(min=1, max=20, help="Most results to show.")] = 5,
        as_json: bool = JsonOption,
    ) -> None:
        """Search the patient education library. Says plainly when it does not cover the
        question."""
        from bonemets.education.search import ask as search

        answer = search(question, limit)
        if as_json:
            print_json(answer.to_json())
            return
        net = answer.safety_net
        if net is not None:  # a symptom that needs action: the triage rules' advice comes first
            console.print(
                f"[bold]If this is happening to you now: {net.headline}[/]", highlight=False
            )
            for line in net.advice:
                console.print(f"  - {line}", highlight=False, markup=False)
            console.print(
                f"  [dim]From the triage rules {', '.join(net.rules)} (level {net.level}), "
                f"for: {'; '.join(net.words)}. Sources: {', '.join(net.sources)}.[/]",
                highlight=False,
            )
            console.print(f"  [dim]{net.disclaimer}[/]", highlight=False)
        for wrote, read in answer.corrections.items():
            console.print(f"[dim]Read “{wrote}” as “{read}”.[/]", highlight=False)
        if not answer.covered:
            console.print(
                "[bold]The library does not cover this question.[/] Please ask your care team.",
                highlight=False,
            )
            return
        for i, r in enumerate(answer.results, 1):
            console.print(f"[bold]{i}. {r.title}[/] ({r.url})", highlight=False)
            console.print(f"   {r.snippet}", highlight=False, markup=False)
            console.print(f"   [dim]Sources: {', '.join(r.sources)}[/]", highlight=False)

    @app.command()
    def careplan(
        patient: Annotated[str, typer.Argument(help="Record id of the patient.")],
        out: Annotated[Path, typer.Option("--out", help="The PDF file to write.")],
        paper: Annotated[str, typer.Option(help="Paper size: a4 or letter.")] = "a4",
    ) -> None:
        """Write a patient's printable care plan (PDF) from the configured database."""
        from bonemets.education.careplan import render_pdf

        if paper not in ("a4", "letter"):
            fail("paper", f"expected a4 or letter; got {paper!r}")
        plan = _plan_from_db(patient, "read care plan pdf")
        out.write_bytes(render_pdf(plan, "a4" if paper == "a4" else "letter"))
        console.print(f"Wrote {out} ({paper}).", highlight=False)

    @app.command()
    def calendar(
        patient: Annotated[str, typer.Argument(help="Record id of the patient.")],
        out: Annotated[Path, typer.Option("--out", help="The .ics file to write.")],
    ) -> None:
        """Write a patient's upcoming doses and tests as an iCalendar file."""
        from bonemets.education.calendar import calendar_ics

        plan = _plan_from_db(patient, "read calendar ics")
        out.write_bytes(calendar_ics(plan.patient_id, plan.schedule, plan.as_of))
        dated = sum(1 for item in plan.schedule if item.due is not None)
        console.print(f"Wrote {out} ({dated} events).", highlight=False)
