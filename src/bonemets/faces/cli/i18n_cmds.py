"""`bonemets i18n extract` and `bonemets i18n check`: the interface's gettext catalogues
(docs/translating.md)."""

from __future__ import annotations

import typer

from bonemets.faces.cli.common import console, err_console


def register(app: typer.Typer) -> None:
    i18n_app = typer.Typer(help="The interface's translation catalogues (Babel, gettext .po).")
    app.add_typer(i18n_app, name="i18n")

    @i18n_app.command()
    def extract() -> None:
        """Write locale/messages.pot (the template a translation starts from) from the sources."""
        from bonemets.faces.web.i18n_extract import extract as run_extract

        written = run_extract()
        for path in written:
            console.print(f"wrote {path}", highlight=False)
        if not written:
            console.print("catalogues already up to date", highlight=False)

    @i18n_app.command()
    def check() -> None:
        """Exit 1 when the committed catalogues are not what the sources give now."""
        from bonemets.faces.web.i18n_extract import check as run_check

        problems = run_check()
        for problem in problems:
            err_console.print(f"[bold red]error[/]: {problem}", highlight=False)
        if problems:
            raise typer.Exit(1)
        console.print("catalogues up to date", highlight=False)
