"""Shared CLI plumbing: JSON or rich output, and the exit-2 contract for bad input."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import orjson
import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console

from bonemets.core.errors import InputError

console = Console()
err_console = Console(stderr=True, soft_wrap=True)

EXIT_BAD_INPUT = 2

JsonOption = typer.Option(False, "--json", help="Print machine-readable JSON instead of a summary.")


def to_jsonable(obj: Any) -> Any:
    if isinstance(obj, BaseModel):
        return obj.model_dump(mode="json")
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    return obj


def print_json(obj: Any) -> None:
    sys.stdout.buffer.write(orjson.dumps(to_jsonable(obj), option=orjson.OPT_INDENT_2) + b"\n")
    sys.stdout.flush()


def fail(field: str, message: str) -> NoReturn:
    """Report bad input naming the field, and exit with code 2."""
    err_console.print(f"[bold red]error[/]: [bold]{field}[/]: {message}", highlight=False)
    raise typer.Exit(EXIT_BAD_INPUT)


def existing_database_url() -> str:
    """The configured database's URL, refusing a SQLite file that does not exist yet: a command
    that reads patients would otherwise create an empty database and report "no patient record"
    without saying where it looked."""
    from bonemets.config import Settings

    url = Settings.from_env().database_url
    path = sqlite_path(url)
    if path is not None and not path.exists():
        fail(
            "database",
            f"no database at {path}: build the demo there with `bonemets demo --no-serve`, "
            "or create an empty one with `bonemets db upgrade` (or set BONEMETS_DATABASE_URL "
            "or BONEMETS_DATA_DIR to where yours is)",
        )
    return url


def sqlite_path(url: str) -> Path | None:
    """The file of a `sqlite:///...` URL (None for other databases and in-memory SQLite)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url[len(prefix) :] in ("", ":memory:"):
        return None
    return Path(url[len(prefix) :].split("?", 1)[0])


def pydantic_field(error: dict[str, Any]) -> str:
    """`labs[0].unit` from a pydantic error location."""
    out = ""
    for part in error.get("loc", ()):
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "input"


def run_guarded(action: Callable[[], Any]) -> Any:
    """Run `action`, turning input errors into the exit-2 contract."""
    try:
        return action()
    except InputError as exc:
        fail(exc.field, exc.message)
    except ValidationError as exc:
        first = exc.errors()[0]
        fail(pydantic_field(dict(first)), str(first.get("msg", "invalid value")))
