"""Finding the band of a score total in a knowledge table (shared by Mirels and SINS)."""

from __future__ import annotations

from typing import Any, cast

from bonemets.core.errors import InputError


def band_for(table: dict[str, Any], score: int, name: str) -> dict[str, Any]:
    """The entry of `table["bands"]` whose min..max holds `score`."""
    for band in table["bands"]:
        if band["min"] <= score <= band["max"]:
            return cast(dict[str, Any], band)
    low, high = table["total_range"]
    raise InputError("score", f"a {name} total is {low}-{high}; got {score}")
