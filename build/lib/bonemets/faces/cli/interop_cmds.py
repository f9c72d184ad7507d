"""`bonemets import BUNDLE.json|NDJSON-DIR`: FHIR data into the database."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from bonemets.faces.cli.common import JsonOption, console, fail, print_json


def register(app: typer.Typer) -> None:
    @app.command("import")
    def import_command(
        source: Annotated[Path, typer.Argument(help="A FHIR Bundle (JSON) or a folder of NDJSON.")],
        team: Annotated[str, typer.Option(help="Care team the patients belong to.")] = "Imported",
        as_json: bool = JsonOption,
    ) -> None:
        """Import FHIR R4 data: one transaction per patient, idempotent, with a report of what
        was read, skipped and refused."""
        from bonemets.adapters.fhir import FormatError, bundle_resources, read_ndjson_dir
        from bonemets.adapters.storage.repository import Database
        from bonemets.config import Settings
        from bonemets.service.interop import import_resources

        resources: Any
        if source.is_dir():
            resources = read_ndjson_dir(source)
        else:
            import orjson

            try:
                bundle = orjson.loads(source.read_bytes())
            except (OSError, orjson.JSONDecodeError) as exc:
                fail("SOURCE", f"cannot read {source} as JSON: {exc}")
            if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
                fail("SOURCE", "expected a FHIR Bundle or a folder of NDJSON files")
            resources = bundle_resources(bundle)
        settings = Settings.from_env()
        db = Database(settings.database_url)
        try:
            report = import_resources(db, settings, resources, team=team)
        except FormatError as exc:
            fail(exc.field, exc.message)
        finally:
            db.dispose()
        counts = {k: vars_of(v) for k, v in sorted(report.fhir.counts.items())}
        refusals = [vars_of(r) for r in report.fhir.refusals]
        if as_json:
            print_json(
                {
                    "patients": report.outcomes,
                    "resources": counts,
                    "refusals": refusals,
                    "added_entries": report.added_entries,
                    "notes": report.fhir.notes,
                }
            )
            return
        table = Table(title=f"Imported from {source}")
        for column in ("resource", "read", "imported", "skipped", "refused"):
            table.add_column(column, justify="right" if column != "resource" else "left")
        for rtype, c in counts.items():
            table.add_row(rtype, *(str(c[k]) for k in ("read", "imported", "skipped", "refused")))
        console.print(table)
        tally: dict[str, int] = {}
        for outcome in report.outcomes.values():
            tally[outcome] = tally.get(outcome, 0) + 1
        console.print("Patients: " + ", ".join(f"{n} {k}" for k, n in sorted(tally.items())))
        console.print(f"Entries added: {report.added_entries}")
        for r in report.fhir.refusals:
            console.print(
                f"[red]refused[/] {r.resource_type}/{r.resource_id} (patient {r.patient}): "
                f"{r.reason}",
                highlight=False,
            )


def vars_of(obj: object) -> dict[str, Any]:
    slots = getattr(obj, "__slots__", None)
    if slots:
        return {name: getattr(obj, name) for name in slots}
    return dict(vars(obj))
