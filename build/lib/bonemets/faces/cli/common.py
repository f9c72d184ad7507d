"""Shared CLI plumbing: JSON or rich output, and the exit-2 contract for bad input."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
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
