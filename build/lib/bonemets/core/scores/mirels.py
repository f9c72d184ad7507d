"""Mirels' score (Mirels 1989): impending pathological fracture through a long-bone metastasis.

Four factors, 1-3 points each (total 4-12): site, pain, radiographic lesion type and size. A total
of 9 or more recommends prophylactic fixation, 8 is borderline, 7 or less means radiotherapy and
observation. Points, bands and caveats live in ``knowledge/mirels.toml``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

from bonemets.core.errors import InputError
from bonemets.core.knowledge import check_source_ids, load
from bonemets.core.scores import bands

Site = Literal["upper_limb", "lower_limb", "peritrochanteric"]
Pain = Literal["mild", "moderate", "functional"]
Lesion = Literal["blastic", "mixed", "lytic"]
MirelsBand = Literal["fixation", "borderline", "radiotherapy_observe"]

# Float noise (0.33333333333333337) must not cross a size boundary.
_ROUND = 9


@dataclass(frozen=True, slots=True)
class MirelsResult:
    score: int
    band: MirelsBand
    recommendation: str
    fracture_risk: str
    components: dict[str, int]
    size_fraction: float
    size_basis: str
    sources: list[str]
    evidence: str
    caveats: list[str] = field(default_factory=list)
    unverified: list[str] = field(default_factory=list)  # the U/P parts of the basis, to flag


@cache
def _table() -> dict[str, Any]:
    table = load("mirels")
    check_source_ids(table["sources"], "mirels")
    check_source_ids(table["points"]["sources"], "mirels.points")
    check_source_ids(table["size"]["sources"], "mirels.size")
    for band in table["bands"]:
        check_source_ids(band["sources"], f"mirels.bands.{band['name']}")
    for caveat in table["caveats"]:
        check_source_ids(caveat["sources"], "mirels.caveats")
    return table


def _points(factor: str, value: str) -> int:
    options: dict[str, int] = _table()["points"][factor]
    if not isinstance(value, str) or value not in options:
        raise InputError(
            factor, f"{value!r} is not a Mirels {factor}; expected one of {list(options)}"
        )
    return options[value]


def size_points(size_fraction: float) -> int:
    """Points for the fraction of the bone involved.

    < 1/3 -> 1, 1/3 to 2/3 inclusive -> 2, > 2/3 -> 3.
    """
    if isinstance(size_fraction, bool) or not isinstance(size_fraction, int | float):
        raise InputError(
            "size_fraction", f"expected a number between 0 and 1; got {size_fraction!r}"
        )
    if math.isnan(size_fraction) or not 0.0 < size_fraction <= 1.0:
        raise InputError(
            "size_fraction",
            f"the fraction of the bone involved must be above 0 and at most 1; got {size_fraction}",
        )
    spec = _table()["size"]
    lower = round(spec["lower"][0] / spec["lower"][1], _ROUND)
    upper = round(spec["upper"][0] / spec["upper"][1], _ROUND)
    value = round(float(size_fraction), _ROUND)
    if value < lower:
        return int(spec["points_below"])
    if value <= upper:
        return int(spec["points_between"])
    return int(spec["points_above"])


def band_for(score: int) -> dict[str, Any]:
    """The knowledge entry of the band containing a Mirels total."""
    return bands.band_for(_table(), score, "Mirels")


def mirels(
    *,
    site: Site,
    pain: Pain,
    lesion: Lesion,
    size_fraction: float,
) -> MirelsResult:
    """Mirels' score of a long-bone metastasis.

    `size_fraction` is the fraction of the bone diameter involved (0 < f <= 1).
    """
    components = {
        "site": _points("site", site),
        "pain": _points("pain", pain),
        "lesion": _points("lesion", lesion),
        "size": size_points(size_fraction),
    }
    score = sum(components.values())
    band = band_for(score)
    table = _table()
    caveats = [table["size"]["basis_caveat"], *(c["text"] for c in table["caveats"])]
    unverified = [c["text"] for c in table["caveats"] if c["evidence"] in ("U", "P")]
    if table["size"]["basis_evidence"] in ("U", "P"):
        unverified.insert(0, table["size"]["basis_caveat"])
    return MirelsResult(
        score=score,
        band=band["name"],
        recommendation=band["recommendation"],
        fracture_risk=band["fracture_risk"],
        components=components,
        size_fraction=float(size_fraction),
        size_basis=table["size"]["basis"],
        sources=list(table["sources"]),
        evidence=band["evidence"],
        caveats=caveats,
        unverified=unverified,
    )
