"""`bonemets triage FILE|-` and `bonemets schema triage`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.panel import Panel
from rich.table import Table

from bonemets.core.levels import Level
from bonemets.core.triage import TriageInput, TriageResult, triage
from bonemets.faces.cli.common import JsonOption, console, fail, print_json, run_guarded

LEVEL_STYLE = {
    Level.EMERGENCY: "bold white on red",
    Level.URGENT: "bold red",
    Level.SOON: "bold yellow",
    Level.ROUTINE: "bold blue",
    Level.SELF_CARE: "bold green",
}


def read_json(path: str) -> Any:
    """Parse JSON from a file path or `-` (standard input); exit 2 naming the problem."""
    try:
        raw = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        fail("FILE", f"cannot read {path}: {exc.strerror}")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        fail("FILE", f"not valid JSON: {exc}")


def render(result: TriageResult) -> None:
    style = LEVEL_STYLE[result.level]
    console.print(
        Panel(
            f"[{style}] {result.level.value.upper()} [/]  {result.headline}\n\n"
            f"{result.patient_action}",
            title="bonemets triage",
            expand=False,
        )
    )
    for line in result.advice:
        console.print(f"  • {line}", highlight=False)
    table = Table(title="Why", show_lines=False)
    table.add_column("level")
    table.add_column("rule")
    table.add_column("because")
    table.add_column("sources")
    for reason in result.reasons:
        flag = " [yellow](unverified basis)[/]" if reason.unverified else ""
        table.add_row(
            f"[{LEVEL_STYLE[reason.level]}]{reason.level.value}[/]",
            reason.rule + flag,
            "\n".join(reason.because),
            ", ".join(reason.sources),
        )
    console.print(table)
    for caveat in result.caveats:
        console.print(f"[yellow]note:[/] {caveat}", highlight=False)
    if result.free_text:
        console.print(f"[bold]Patient's words:[/] {result.free_text}", highlight=False)
    console.print(
        f"[dim]Care team: {result.care_team_action} Engine {result.engine_version}. "
        f"{result.disclaimer}[/]"
    )


def register(app: typer.Typer, schema_app: typer.Typer) -> None:
    @app.command("triage")
    def triage_command(
        file: Annotated[str, typer.Argument(help="A triage report as JSON, or - for stdin.")],
        as_json: bool = JsonOption,
    ) -> None:
        """Triage a symptom report (shared/spec/triage.md) and say what to do now."""
        data = read_json(file)
        if not isinstance(data, dict):
            fail("input", "a triage report must be a JSON object")
        result: TriageResult = run_guarded(lambda: triage(data))
        if as_json:
            print_json(result)
        else:
            render(result)

    @schema_app.command("triage")
    def schema_triage() -> None:
        """JSON Schema of the triage input."""
        print_json(TriageInput.model_json_schema())
