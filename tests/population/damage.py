"""A copy of an export with a truncated line, a garbage line and a patient the adapter refuses."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import orjson


@dataclass(frozen=True)
class Damage:
    export: Path
    truncated_file: str
    truncated_line: int
    truncated_patient: str
    garbage_file: str
    garbage_line: int
    refused_patient: str


def _patient(line: bytes) -> str:
    return str(orjson.loads(line)["subject"]["reference"]).removeprefix("Patient/")


def damage(src: Path, dst: Path) -> Damage:
    dst.mkdir(parents=True)
    for p in src.iterdir():
        (dst / p.name).write_bytes(p.read_bytes())
    obs = dst / "Observation.000.ndjson"
    lines = obs.read_bytes().splitlines()
    i = 10
    victim = _patient(lines[i])
    lines[i] = lines[i][: lines[i].index(b'"encounter"')]  # cut after the subject: keyed, not JSON
    # Another patient gets a lab in a unit no analyte has: the adapter refuses that patient.
    j = next(
        k
        for k, line in enumerate(lines)
        if b'"code":"mg/dL"' in line and b"17861-6" in line and _patient(line) != victim
    )
    refused = _patient(lines[j])
    lines[j] = (
        lines[j]
        .replace(b'"code":"mg/dL"', b'"code":"furlong"')
        .replace(b'"unit":"mg/dL"', b'"unit":"furlong"')
    )
    obs.write_bytes(b"\n".join(lines) + b"\n")
    cond = dst / "Condition.001.ndjson"
    clines = cond.read_bytes().splitlines()
    clines.insert(5, b'{"resourceType": "Condition", "id": "x", "subject": {"refer')
    cond.write_bytes(b"\n".join(clines) + b"\n")
    return Damage(dst, obs.name, i + 1, victim, cond.name, 6, refused)
