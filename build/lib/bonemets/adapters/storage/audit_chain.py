"""The audit log's hash chain: how one row's hash is computed (format 1).

hash(row) = SHA-256 of the JSON array [1, seq, at, user_id, username, action, patient_id, what,
allowed, client, prev_hash], with `at` as UTC ISO 8601 to the microsecond; the first row's
prev_hash is GENESIS. Changing any of these fields of a stored row, or deleting or reordering
rows, breaks the chain from there on. Kept apart from the repository so the migration that
chained the rows already stored computes exactly the same hashes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from typing import Any

import orjson

GENESIS = "0" * 64
FORMAT = 1
FIELDS = ("seq", "at", "user_id", "username", "action", "patient_id", "what", "allowed", "client")


def utc_text(moment: dt.datetime) -> str:
    """A stored time as the chain reads it (SQLite gives back naive UTC, PostgreSQL aware)."""
    aware = moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)
    return aware.isoformat(timespec="microseconds")


def row_hash(row: Mapping[str, Any], prev_hash: str) -> str:
    values: list[Any] = [FORMAT]
    for name in FIELDS:
        value = row.get(name)
        if name == "at" and isinstance(value, dt.datetime):
            value = utc_text(value)
        elif name == "allowed":
            value = bool(value)
        values.append(value)
    values.append(prev_hash)
    return hashlib.sha256(orjson.dumps(values)).hexdigest()
