"""Reading FHIR Bundles and NDJSON folders, writing NDJSON, and `load_record` for any format."""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from bonemets.adapters.fhir.importer import ImportResult, Refusal, fhir_to_records
from bonemets.core.errors import InputError
from bonemets.core.record import Record

Json = dict[str, Any]


class FormatError(InputError):
    """RECORD is none of the accepted formats, or not exactly one readable patient."""

    def __init__(self, message: str) -> None:
        super().__init__("RECORD", message)


def bundle_resources(bundle: Json) -> Iterator[Json]:
    """The resources of a Bundle's entries (a ``urn:uuid:`` fullUrl names an id-less resource)."""
    for entry in bundle.get("entry") or []:
        if not isinstance(entry, dict):
            continue
        res = entry.get("resource")
        if not isinstance(res, dict):
            continue
        full = entry.get("fullUrl")
        if "id" not in res and isinstance(full, str) and full.startswith("urn:uuid:"):
            res = {**res, "id": full[9:]}
        yield res


def read_bundle(path: str | Path) -> Iterator[Json]:
    """The resources of the FHIR Bundle in the JSON file at `path`."""
    try:
        data = orjson.loads(Path(path).read_bytes())
    except orjson.JSONDecodeError as exc:
        raise FormatError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        raise FormatError(f"{path} is not a FHIR Bundle")
    return bundle_resources(data)


def _ndjson_files(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.iterdir() if p.name.endswith((".ndjson", ".ndjson.gz")) and p.is_file()
    )


def read_ndjson_dir(path: str | Path) -> Iterator[Json]:
    """Every resource of the ``*.ndjson`` / ``*.ndjson.gz`` files in folder `path`, file by file."""
    folder = Path(path)
    for file in _ndjson_files(folder):
        opener = gzip.open if file.name.endswith(".gz") else open
        with opener(file, "rb") as handle:
            for lineno, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    yield orjson.loads(line)
                except orjson.JSONDecodeError as exc:
                    raise FormatError(f"{file.name} line {lineno} is not JSON: {exc}") from None


def write_ndjson(resources: Iterable[Json], folder: str | Path, *, gz: bool = False) -> list[Path]:
    """Write `resources` as one ``<Type>.ndjson`` file per resource type (bulk-export layout)."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    by_type: dict[str, list[bytes]] = {}
    for res in resources:
        by_type.setdefault(res["resourceType"], []).append(orjson.dumps(res))
    written = []
    for rtype, lines in sorted(by_type.items()):
        data = b"\n".join(lines) + b"\n"
        if gz:
            file = out / f"{rtype}.ndjson.gz"
            file.write_bytes(gzip.compress(data, mtime=0))
        else:
            file = out / f"{rtype}.ndjson"
            file.write_bytes(data)
        written.append(file)
    return written


def _one(result: ImportResult, path: Path, refusals: list[Refusal] | None = None) -> Record:
    if result.refused_patients:
        patient, reason = next(iter(result.refused_patients.items()))
        raise FormatError(f"{path}: patient {patient} refused: {reason}")
    refused = [r for r in result.refusals if r.patient is None]
    if refused:
        r = refused[0]
        raise FormatError(f"{path}: {r.resource_type}/{r.resource_id} refused: {r.reason}")
    if len(result.records) != 1:
        raise FormatError(
            f"{path}: expected exactly one patient, found {len(result.records)}"
            + (f" ({', '.join(sorted(result.records)[:5])})" if result.records else "")
            + (
                "; for a whole export use `bonemets worklist` (every patient, most urgent "
                "first) or `bonemets import` (into the database)"
                if len(result.records) > 1
                else ""
            )
        )
    record_id, record = next(iter(result.records.items()))
    if refusals is not None:
        refusals.extend(result.partial.get(record_id, []))
    return record


def load_record(
    path: str | Path, *, validate: bool = False, refusals: list[Refusal] | None = None
) -> Record:
    """One patient's Record from a FHIR Bundle, a folder of FHIR NDJSON, or bonemets record JSON.

    The format is detected: a folder is read as NDJSON; a JSON object with ``resourceType`` Bundle
    as FHIR; any other JSON object as the bonemets record. Raises `FormatError` (an `InputError`
    naming RECORD) unless exactly one patient is read. A resource of that patient that cannot
    be read is refused alone (issue 22): it is appended to `refusals` when a list is given, and
    the rest of the patient is returned.
    """
    p = Path(path)
    if p.is_dir():
        if not _ndjson_files(p):
            raise FormatError(f"{p} holds no *.ndjson or *.ndjson.gz files")
        return _one(fhir_to_records(read_ndjson_dir(p), validate=validate), p, refusals)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise FormatError(f"cannot read {p}: {exc.strerror or exc}") from None
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise FormatError(f"{p} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise FormatError("expected a JSON object (a FHIR Bundle or the bonemets patient record)")
    rtype = data.get("resourceType")
    if rtype == "Bundle":
        return _one(fhir_to_records(bundle_resources(data), validate=validate), p, refusals)
    if rtype is not None:
        raise FormatError(f"{p} is a FHIR {rtype}, not a Bundle")
    try:
        return Record.model_validate(data)
    except ValidationError:
        raise  # the CLI turns it into a message naming the field
