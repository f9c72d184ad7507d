"""The `bonemets` command. Each area registers its own sub-commands."""

from __future__ import annotations

import typer

from bonemets import ENGINE_VERSION
from bonemets.faces.cli import (
    assess_cmd,
    calc,
    i18n_cmds,
    interop_cmds,
    labs_cmds,
    learn_cmds,
    notify_cmds,
    population_cmds,
    score,
    simulate_cmd,
    sources_cmd,
    triage_cmd,
    web_cmds,
)

app = typer.Typer(
    name="bonemets",
    help=(
        "Clinical decision support for people with bone metastases. "
        "It supports, and does not replace, clinical judgement."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
schema_app = typer.Typer(help="JSON Schemas of the public inputs, generated from the models.")
app.add_typer(schema_app, name="schema")
app.add_typer(calc.app, name="calc")
app.add_typer(score.app, name="score")

labs_cmds.register(calc.app)
triage_cmd.register(app, schema_app)
sources_cmd.register(app)
assess_cmd.register(app, schema_app)
web_cmds.register(app)
notify_cmds.register(app)
simulate_cmd.register(app)
interop_cmds.register(app)
learn_cmds.register(app)
i18n_cmds.register(app)
population_cmds.register(app)


@app.command()
def version() -> None:
    """Print the engine version (the rule set that produced a result)."""
    typer.echo(ENGINE_VERSION)


def run() -> None:
    """The `bonemets` command: a module of a missing extra is a one-line message and exit 2."""
    from bonemets.extras import missing_extra_message

    try:
        app()
    except ModuleNotFoundError as exc:
        message = missing_extra_message(exc)
        if message is None:
            raise
        from rich.markup import escape

        from bonemets.faces.cli.common import err_console

        err_console.print(f"[bold red]error[/]: {escape(message)}", highlight=False)
        raise SystemExit(2) from None


if __name__ == "__main__":
    run()
