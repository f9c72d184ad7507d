"""`bonemets sources [ID]`: resolve source ids to full citations."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from bonemets.core.knowledge import sources
from bonemets.faces.cli.common import JsonOption, console, fail, print_json


def register(app: typer.Typer) -> None:
    @app.command("sources")
    def sources_command(
        source_id: Annotated[
            str | None, typer.Argument(metavar="[ID]", help="One source id.")
        ] = None,
        as_json: bool = JsonOption,
    ) -> None:
        """List the sources behind the rules, or show one by id."""
        registry = sources()
        if source_id is not None:
            if source_id not in registry:
                fail("ID", f"unknown source id {source_id!r}; run `bonemets sources` for the list")
            chosen = [registry[source_id]]
        else:
            chosen = list(registry.values())
        if as_json:
            print_json(chosen)  # orjson writes the Source dataclasses as they are
            return
        table = Table(show_lines=True)
        table.add_column("id", style="bold")
        table.add_column("kind")
        table.add_column("citation")
        for s in chosen:
            table.add_row(s.id, s.kind, s.citation + (f"\n{s.url}" if s.url else ""))
        console.print(table)
