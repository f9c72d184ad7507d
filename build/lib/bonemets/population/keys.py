"""The light parser: which patient an NDJSON line belongs to, mostly without parsing its JSON.

A line is keyed by a byte-level look-up of its ``"subject"`` / ``"patient"`` reference when that
is unambiguous (exactly one such field, no ``contained`` resources, a plain reference string).
Every other line (Patient resources, lines without a patient, escaped references) is parsed and
keyed by the same rules the FHIR adapter groups by (`reference_id`): a Patient by its id, any
other resource by ``subject``, else ``patient``. The key never decides what a resource *means*:
the adapter does, per patient.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from dataclasses import dataclass
from typing import Any

import orjson

from bonemets.adapters.fhir.importer import reference_id

Json = dict[str, Any]

_REF = re.compile(rb'"(?:subject|patient)"\s*:\s*\{\s*"reference"\s*:\s*"([^"\\]*)"')
_SUBJECT = b'"subject"'
_PATIENT = b'"patient"'
_CONTAINED = b'"contained"'
_FIELD = len(_SUBJECT)  # == len(_PATIENT)
_COMPACT = b':{"reference":"'  # what follows the field name in compact JSON


@dataclass(frozen=True, slots=True)
class Keyed:
    """A line that belongs to patient `key`."""

    key: str


@dataclass(frozen=True, slots=True)
class Orphan:
    """A well-formed resource that names no patient (Medication, Practitioner, a bad subject...)."""

    resource: Any


@dataclass(frozen=True, slots=True)
class Corrupt:
    """A line that is not JSON."""

    reason: str


def fast_reference(line: bytes) -> bytes | None:
    """The bytes of the line's only ``subject``/``patient`` reference, or None when the line must
    be parsed to know its patient.

    Only a line with exactly one of the two field names (as `bytes.count` counts them) and no
    ``"contained"`` is looked up. On compact JSON, literal searches find the reference (~4x
    cheaper than the regex `_REF`, which takes any other spacing). Those bytes run to the next
    quote, so they may hold a backslash where the regex finds no match: `key_of_reference`
    refuses them, so the key is the regex's."""
    i = line.find(_SUBJECT)
    if i >= 0:
        if line.find(_SUBJECT, i + _FIELD) >= 0 or line.find(_PATIENT) >= 0:
            return None
    else:
        i = line.find(_PATIENT)
        if i < 0 or line.find(_PATIENT, i + _FIELD) >= 0:
            return None
    if line.find(_CONTAINED) >= 0:
        return None
    start = i + _FIELD + len(_COMPACT)
    if line[i + _FIELD : start] != _COMPACT:
        m = _REF.search(line)
        return None if m is None else m.group(1)
    end = line.find(b'"', start)
    return None if end < 0 else line[start:end]


def key_of_reference(ref: bytes) -> str | None:
    """The patient key of a reference's bytes (`fast_reference`), by the adapter's rules; None for
    an escaped reference (the line is parsed instead)."""
    if ref.find(b"\\") >= 0:
        return None
    try:
        text = ref.decode()
    except UnicodeDecodeError:
        return None
    return reference_id({"reference": text})


def fast_key(line: bytes) -> str | None:
    """The patient key from the bytes alone, or None when the line must be parsed."""
    ref = fast_reference(line)
    return None if ref is None else key_of_reference(ref)


def parse_line(line: bytes) -> Any:
    """orjson.loads; a line that is not UTF-8 is read with replacement characters first (as Spark's
    text reader does), so both engines see the same resource. Raises orjson.JSONDecodeError."""
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        try:
            line.decode()
        except UnicodeDecodeError:
            return orjson.loads(line.decode(errors="replace"))
        raise


def resource_key(res: Any) -> str | None:
    """The patient a parsed resource belongs to, by the adapter's grouping rules; None if none."""
    if not isinstance(res, dict):
        return None
    if res.get("resourceType") == "Patient":
        pid = res.get("id")
        return pid if isinstance(pid, str) else None
    for name in ("subject", "patient"):
        if name in res:
            return reference_id(res[name])
    return None


def classify(line: bytes) -> Keyed | Orphan | Corrupt:
    """Key one non-blank NDJSON line (bytes, no line terminator)."""
    key = fast_key(line)
    if key is not None:
        return Keyed(key)
    return parse_classify(line)


def parse_classify(line: bytes) -> Keyed | Orphan | Corrupt:
    """`classify` for a line `fast_key` could not key: by parsing it."""
    try:
        res = parse_line(line)
    except orjson.JSONDecodeError as exc:
        return Corrupt(f"not JSON: {exc}")
    key = resource_key(res)
    if key is not None:
        return Keyed(key)
    return Orphan(res)


def bucket_of(key: str, buckets: int, salt: int = 0) -> int:
    """A stable bucket for `key` (not Python's randomised hash): crc32, or for a re-split
    (`salt` > 0) a salted BLAKE2b, which is independent of the first split."""
    if salt == 0:
        return zlib.crc32(key.encode()) % buckets
    digest = hashlib.blake2b(key.encode(), digest_size=8, salt=salt.to_bytes(8, "big")).digest()
    return int.from_bytes(digest, "big") % buckets
