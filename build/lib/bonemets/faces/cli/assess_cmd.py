"""`bonemets assess`, `bonemets schema record` and `bonemets example-record`."""

from __future__ import annotations

import datetime as dt
from importlib import resources
from pathlib import Path

import typer
from rich.table import Table

from bonemets.adapters.fhir import load_record
from bonemets.core.pathway import Assessment, assess
from bonemets.core.record import Record
from bonemets.faces.cli.common import JsonOption, console, fail, print_json, run_guarded

_LEVEL_STYLE = {
    "emergency": "bold white on red",
    "urgent": "bold red",
    "soon": "bold yellow",
    "routine": "cyan",
    "self_care": "green",
}


def example_record_text() -> str:
    return resources.files("bonemets.examples").joinpath("record.json").read_text("utf-8")


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        fail("as_of", f"{text!r} is not a date YYYY-MM-DD")


def _summary(result: Assessment) -> None:
    level = result.level.value
    patient = result.patient
    console.print(
        f"[bold]{patient.id}[/] (age {patient.age if patient.age is not None else 'unknown'}, "
        f"{patient.sex or 'sex unknown'}) on {result.as_of}: "
        f"[{_LEVEL_STYLE[level]}]{level}[/]"
    )
    if result.alerts:
        table = Table(title="Alerts", show_lines=False)
        for column in ("level", "rule", "message"):
            table.add_column(column)
        for alert in result.alerts:
            table.add_row(
                f"[{_LEVEL_STYLE[alert.level.value]}]{alert.level.value}[/]",
                alert.rule,
                alert.message,
            )
        console.print(table)
    bma = result.bma
    console.print(f"\n[bold]Bone-modifying agent[/]: {bma.agent or 'none'}: [bold]{bma.status}[/]")
    if bma.status_reason:
        console.print(f"  {bma.status_reason}", highlight=False)
    if bma.last_dose or bma.next_due:
        console.print(f"  last dose {bma.last_dose or '-'}, next due {bma.next_due or '-'}")
    if bma.dose is not None:
        value = "unknown" if bma.dose.value is None else f"{bma.dose.value:g} {bma.dose.unit}"
        console.print(f"  dose: {value} ({bma.dose.basis})", highlight=False)
    for check in bma.checks:
        console.print(
            f"  check {check.check}: {check.status}"
            + (f" - {check.detail}" if check.detail else "")
        )
    for text in bma.suggestions:
        console.print(f"  suggestion: {text}")
    for warning in bma.warnings:
        console.print(f"  [yellow]warning[/]: {warning.text}")
    table = Table(title="Monitoring")
    for column in ("test", "last", "due", "status"):
        table.add_column(column)
    for item in result.monitoring:
        flag = " [U]" if item.unverified else ""
        table.add_row(item.test, str(item.last or "-"), str(item.due or "-"), item.status + flag)
    console.print(table)
    for lesion in result.lesions:
        score = ""
        if lesion.mirels is not None:
            score = f"Mirels {lesion.mirels.score} ({lesion.mirels.band})"
        elif lesion.sins is not None:
            score = f"SINS {lesion.sins.score} ({lesion.sins.band})"
        console.print(
            f"  lesion {lesion.site} ({lesion.type or 'type unknown'}): {score or lesion.note}"
        )
    console.print(
        f"\nengine {result.engine_version}. Supports, and does not replace, clinical judgement."
    )


def register(app: typer.Typer, schema_app: typer.Typer) -> None:
    @app.command("assess")
    def assess_command(
        record: Path = typer.Argument(
            ...,
            help="The patient record: bonemets JSON, a FHIR Bundle, or a folder of FHIR NDJSON.",
        ),
        as_of: str = typer.Option(..., "--as-of", help="The day to assess, YYYY-MM-DD."),
        json_out: bool = JsonOption,
    ) -> None:
        """What the care pathway asks for on one day: BMA, monitoring, lesions, alerts."""
        day = _date(as_of)

        def run() -> Assessment:
            return assess(load_record(record), day)

        result: Assessment = run_guarded(run)
        if json_out:
            print_json(result)
        else:
            _summary(result)

    @schema_app.command("record")
    def schema_record() -> None:
        """JSON Schema of the patient record (input of `bonemets assess`)."""
        print_json(Record.model_json_schema())

    @app.command("example-record")
    def example_record() -> None:
        """Print a realistic example patient record (JSON) to start from."""
        typer.echo(example_record_text().rstrip("\n"))
