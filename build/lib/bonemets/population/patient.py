"""The per-patient step both engines run: one patient's NDJSON lines -> one worklist row.

`assess_group(key, lines, meds, as_of)` parses the lines (skipping and reporting any that are not
JSON), hands the resources to the FHIR adapter's `fhir_to_records` (the one FHIR mapping) and the
record to `assess` (the one implementation of every rule), and flattens the assessment into a row.
Lines are taken in a canonical order (by their bytes), so the answer does not depend on how the
export was split into files, sorted, compressed, or which engine grouped it.

A patient the adapter refuses is listed, not dropped: level ``error``, the reason in ``error``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, cast

import orjson

from bonemets.adapters.fhir import fhir_to_records
from bonemets.core.levels import Level
from bonemets.core.pathway import Assessment, PathwaySettings, assess
from bonemets.population.keys import parse_line

Json = dict[str, Any]

ERROR_LEVEL = "error"
ERROR_RANK = -1  # listed after self-care: the summary counts them, the CLI prints them in red
LEVEL_RANK: dict[str, int] = {level.value: level.rank for level in Level} | {
    ERROR_LEVEL: ERROR_RANK
}
LEVELS_BY_RANK: tuple[str, ...] = tuple(sorted(LEVEL_RANK, key=lambda k: -LEVEL_RANK[k]))

# One worklist row, in column order (see `population.output.SCHEMA`).
COLUMNS: tuple[str, ...] = (
    "patient_id",
    "record_id",
    "level",
    "level_rank",
    "bma_agent",
    "bma_status",
    "bma_next_due",
    "failed_checks",
    "missing_checks",
    "overdue_monitoring",
    "never_monitored",
    "alert_rules",
    "resources",
    "skipped_lines",
    "error",
)
Row = tuple[Any, ...]


def sort_key(row: Row) -> tuple[int, str]:
    """Worklist order: most urgent level first, then patient id."""
    return (-int(row[3]), str(row[0]))


@dataclass(frozen=True, slots=True)
class Source:
    """Where a line came from: file name (relative to the export) and 1-based line number.

    Spark's text reader does not number lines: the Spark engine gives a line of a plain file as
    its split (``block``, the split's first byte) and its ``row`` in the split (from 1), with
    ``line`` None, and fills in the line number once every split's line count is known."""

    file: str
    line: int | None
    block: int = 0
    row: int = 0


@dataclass(slots=True)
class Problem:
    kind: str  # corrupt_line | corrupt_file | refused_resource | refused_patient
    file: str | None
    line: int | None
    patient: str | None
    resource: str | None
    reason: str
    block: int = 0  # see `Source`
    row: int = 0

    def sort_key(self) -> tuple[str, int, str, str, str, str]:
        return (
            self.file or "",
            self.line or 0,
            self.kind,
            self.patient or "",
            self.resource or "",
            self.reason,
        )

    def as_json(self) -> Json:
        return {
            "kind": self.kind,
            "file": self.file,
            "line": self.line,
            "patient": self.patient,
            "resource": self.resource,
            "reason": self.reason,
        }


@dataclass(slots=True)
class Stats:
    """What a set of lines amounted to; added up across buckets / Spark partitions."""

    lines: int = 0
    corrupt_lines: int = 0
    corrupt_files: int = 0
    patients: int = 0
    refused_patients: int = 0
    groups_without_record: int = 0
    types: dict[str, list[int]] = field(
        default_factory=dict
    )  # type -> read, imported, skipped, refused

    def count(self, counts: Mapping[str, Any]) -> None:
        for rtype, c in counts.items():
            acc = self.types.setdefault(rtype, [0, 0, 0, 0])
            acc[0] += c.read
            acc[1] += c.imported
            acc[2] += c.skipped
            acc[3] += c.refused

    def add(self, other: Stats) -> None:
        self.lines += other.lines
        self.corrupt_lines += other.corrupt_lines
        self.corrupt_files += other.corrupt_files
        self.patients += other.patients
        self.refused_patients += other.refused_patients
        self.groups_without_record += other.groups_without_record
        for rtype, c in other.types.items():
            acc = self.types.setdefault(rtype, [0, 0, 0, 0])
            for i in range(4):
                acc[i] += c[i]

    @property
    def resources(self) -> int:
        return sum(c[0] for c in self.types.values())


@dataclass(slots=True)
class GroupResult:
    row: Row | None
    problems: list[Problem]
    stats: Stats


def _medication_refs(resources: Iterable[Json], meds: Mapping[str, Json]) -> list[Json]:
    """The Medication resources (from elsewhere in the export) these resources point at."""
    out: dict[str, Json] = {}
    for res in resources:
        ref = res.get("medicationReference")
        if isinstance(ref, dict) and isinstance(ref.get("reference"), str):
            mid = ref["reference"].rpartition("/")[2].removeprefix("urn:uuid:")
            med = meds.get(mid)
            if med is not None:
                out[mid] = med
    return [out[k] for k in sorted(out)]


def row_of(key: str, assessment: Assessment, resources: int, skipped: int) -> Row:
    bma = assessment.bma
    return (
        key,
        assessment.patient.id,
        assessment.level.value,
        assessment.level.rank,
        bma.agent,
        bma.status,
        bma.next_due.isoformat() if bma.next_due is not None else None,
        [c.check for c in bma.checks if c.status == "fail"],
        [c.check for c in bma.checks if c.status == "missing"],
        [m.test for m in assessment.monitoring if m.status == "overdue"],
        [m.test for m in assessment.monitoring if m.status == "never"],
        [a.rule for a in assessment.alerts],
        resources,
        skipped,
        None,
    )


def error_row(key: str, record_id: str, reason: str, resources: int, skipped: int) -> Row:
    return (
        key,
        record_id,
        ERROR_LEVEL,
        ERROR_RANK,
        None,
        None,
        None,
        [],
        [],
        [],
        [],
        [],
        resources,
        skipped,
        reason,
    )


_LINE = itemgetter(1)  # a tagged line's bytes: the canonical order of a patient's lines


def _itself(source: Any) -> Source:
    return cast(Source, source)


def assess_group(
    key: str,
    lines: Iterable[tuple[Any, bytes]],
    meds: Mapping[str, Json],
    as_of: dt.date,
    settings: PathwaySettings | None = None,
    *,
    source: Callable[[Any], Source] = _itself,
) -> GroupResult:
    """The worklist row of patient `key` from all its NDJSON lines (any order, any source).

    Each line comes with where it was read: a `Source`, or a cheaper tag that `source` turns into
    one when a problem must be reported (most lines never need it)."""
    stats = Stats()
    problems: list[Problem] = []
    resources: list[Json] = []
    for tag, line in sorted(lines, key=_LINE):
        stats.lines += 1
        try:
            res = parse_line(line)
        except orjson.JSONDecodeError as exc:
            res, reason = None, f"not JSON: {exc}"
        else:
            reason = "not a JSON object"
        if not isinstance(res, dict):
            stats.corrupt_lines += 1
            src = source(tag)
            problems.append(
                Problem("corrupt_line", src.file, src.line, key, None, reason, src.block, src.row)
            )
            continue
        resources.append(res)
    n_resources = len(resources)
    extra = _medication_refs(resources, meds) if meds else []
    result = fhir_to_records([*resources, *extra])
    stats.count(result.counts)
    if "Medication" in result.counts and extra:  # counted where they were read, not here
        c = stats.types["Medication"]
        c[0] -= len(extra)
        c[1] -= len(extra)
        if not any(c):
            del stats.types["Medication"]
    for r in result.refusals:
        problems.append(
            Problem(
                "refused_resource",
                None,
                None,
                key,
                f"{r.resource_type}/{r.resource_id}",
                r.reason,
            )
        )
    if result.refused_patients:
        record_id, reason = next(iter(result.refused_patients.items()))
        stats.refused_patients += 1
        problems.append(Problem("refused_patient", None, None, key, None, reason))
        row = error_row(key, record_id, reason, n_resources, stats.corrupt_lines)
        return GroupResult(row, problems, stats)
    if not result.records:
        stats.groups_without_record += 1
        return GroupResult(None, problems, stats)
    record = next(iter(result.records.values()))
    stats.patients += 1
    row = row_of(key, assess(record, as_of, settings), n_resources, stats.corrupt_lines)
    return GroupResult(row, problems, stats)


def assess_orphan(src: Source, res: Any) -> tuple[Json | None, list[Problem], Stats]:
    """A resource that names no patient, through the adapter for its verdict (a Medication is kept
    for the patients that reference it; a clinical resource without a patient is refused)."""
    stats = Stats(lines=1)
    result = fhir_to_records([res])
    stats.count(result.counts)
    problems = [
        Problem(
            "refused_resource",
            src.file,
            src.line,
            None,
            f"{r.resource_type}/{r.resource_id}",
            r.reason,
            src.block,
            src.row,
        )
        for r in result.refusals
    ]
    med = None
    if (
        isinstance(res, dict)
        and res.get("resourceType") == "Medication"
        and isinstance(res.get("id"), str)
    ):
        med = res
    return med, problems, stats


def corrupt_file(name: str, lines: int, reason: str) -> tuple[Problem, Stats]:
    """A file that cannot be read to its end: its first `lines` lines were read (and are used);
    what follows is missing, and the patients in it may be incomplete."""
    return Problem(
        "corrupt_file",
        name,
        None,
        None,
        None,
        f"{reason}: read to line {lines}, the rest of the file is missing "
        "(its patients' data may be incomplete)",
    ), Stats(corrupt_files=1)


def corrupt_orphan(src: Source, reason: str) -> tuple[list[Problem], Stats]:
    stats = Stats(lines=1, corrupt_lines=1)
    return [
        Problem("corrupt_line", src.file, src.line, None, None, reason, src.block, src.row)
    ], stats
