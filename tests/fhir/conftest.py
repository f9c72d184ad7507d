from __future__ import annotations

import datetime as dt

import pytest

from bonemets.core.record import Record
from bonemets.demo.cohort import make_cohort

AS_OF = dt.date(2026, 11, 23)


@pytest.fixture(scope="session")
def cohort() -> list[Record]:
    return [p.record for p in make_cohort(50, seed=7, as_of=AS_OF)]


def as_read_back(record: Record) -> Record:
    """`record` as the importer reads its export back: unchanged. (25-hydroxyvitamin D recorded
    in nmol/L is exported in ng/mL under its mass LOINC code with the recorded quantity in the
    Quantity translation extension, which the importer reads back: issue 22.)"""
    return record
