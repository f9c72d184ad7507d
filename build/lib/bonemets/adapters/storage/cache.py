"""An in-process cache of validated patient records, checked against the database on every use.

Rebuilding a Record from its rows (decoding every entry's JSON and validating it with the core's
models) is the most expensive part of a read. A record changes only when an entry is added or
the profile changes, so each worker process keeps the last Record it built per patient, under a
`RecordKey` read from the database in the same transaction as the read it serves: the patient
row's creation time and profile, and the number and highest id of its entries. Entries are
append-only (nothing updates or deletes a single entry), so any change to a record changes its
key: another worker's write is seen at the next read, and nothing is shared between processes.

Values derived from a record alone (its JSON, its assessment on a day) are kept with it and go
when it goes. Writers put a record only after their transaction has committed, so a rolled-back
write (whose entry ids SQLite may hand out again) never leaves a record behind.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from bonemets.core.record import Record

T = TypeVar("T")


@dataclass(frozen=True)
class RecordKey:
    """What identifies one state of a patient's record in the database."""

    created_at: dt.datetime
    profile: dict[str, Any] = field(hash=False)
    entries: int
    max_entry_id: int | None


@dataclass
class Slot:
    """One patient's cached record and what has been derived from it."""

    key: RecordKey
    record: Record
    _derived: dict[Hashable, Any] = field(default_factory=dict)

    def memo(self, name: Hashable, compute: Callable[[], T]) -> T:
        """`compute()` once per slot (a benign race at worst computes it twice)."""
        try:
            value: T = self._derived[name]
        except KeyError:
            value = self._derived[name] = compute()
        return value

    def seed(self, name: Hashable, value: object) -> None:
        self._derived[name] = value


class RecordCache:
    """Least-recently-used slots, one per patient, safe to share between threads."""

    def __init__(self, size: int = 2048) -> None:
        self.size = size
        self._slots: OrderedDict[str, Slot] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, patient_id: str, key: RecordKey) -> Slot | None:
        """The slot if it holds the record in state `key` (else None: a stale slot is dropped)."""
        with self._lock:
            slot = self._slots.get(patient_id)
            if slot is None:
                return None
            if slot.key != key:
                del self._slots[patient_id]
                return None
            self._slots.move_to_end(patient_id)
            return slot

    def put(self, patient_id: str, key: RecordKey, record: Record) -> Slot:
        slot = Slot(key=key, record=record)
        with self._lock:
            self._slots[patient_id] = slot
            self._slots.move_to_end(patient_id)
            while len(self._slots) > self.size:
                self._slots.popitem(last=False)
        return slot

    def discard(self, patient_id: str) -> None:
        with self._lock:
            self._slots.pop(patient_id, None)

    def clear(self) -> None:
        with self._lock:
            self._slots.clear()

    def __len__(self) -> int:
        return len(self._slots)
