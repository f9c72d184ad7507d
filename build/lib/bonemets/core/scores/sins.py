"""SINS, the Spinal Instability Neoplastic Score (Fisher 2010; Fourney 2011).

Six components (location, pain, bone lesion, alignment, vertebral body collapse, posterolateral
involvement), total 0-18: 0-6 stable, 7-12 potentially unstable, 13-18 unstable; 7 or more warrants
a surgical opinion. Points, level map, bands and caveats live in ``knowledge/sins.toml``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal, cast

from bonemets.core.errors import InputError
from bonemets.core.knowledge import check_source_ids, load
from bonemets.core.scores import bands

LocationCategory = Literal["junctional", "mobile", "semirigid", "rigid"]
Pain = Literal["mechanical", "occasional", "none"]
Lesion = Literal["lytic", "mixed", "blastic"]
Alignment = Literal["subluxation", "de_novo_deformity", "normal"]
Collapse = Literal["over_50", "under_50", "none_over_50_involved", "none"]
Posterolateral = Literal["bilateral", "unilateral", "none"]
SinsBand = Literal["stable", "potentially_unstable", "unstable"]

# Every vertebral level SINS scores, in cranio-caudal order.
LEVELS: tuple[str, ...] = (
    "occiput",
    *(f"C{i}" for i in range(1, 8)),
    *(f"T{i}" for i in range(1, 13)),
    *(f"L{i}" for i in range(1, 6)),
    *(f"S{i}" for i in range(1, 6)),
)


@dataclass(frozen=True, slots=True)
class SinsResult:
    score: int
    band: SinsBand
    surgical_opinion: bool
    recommendation: str
    components: dict[str, int]
    location_category: LocationCategory
    level: str | None
    sources: list[str]
    evidence: str
    caveats: list[str] = field(default_factory=list)
    unverified: list[str] = field(default_factory=list)  # the U/P parts of the basis, to flag


@cache
def _table() -> dict[str, Any]:
    table = load("sins")
    check_source_ids(table["sources"], "sins")
    for caveat in table["caveats"]:
        check_source_ids(caveat["sources"], "sins.caveats")
    seen: dict[str, str] = {}
    for category, entry in table["location"].items():
        for level in entry["levels"]:
            if level in seen:
                raise KeyError(f"sins.location: {level} is in both {seen[level]} and {category}")
            seen[level] = category
    if set(seen) != set(LEVELS):
        raise KeyError(f"sins.location: levels do not match LEVELS: {set(LEVELS) ^ set(seen)}")
    return table


@cache
def _level_map() -> dict[str, str]:
    """Upper-case level spelling -> location category."""
    out: dict[str, str] = {}
    for category, entry in _table()["location"].items():
        for level in entry["levels"]:
            out[level.upper()] = category
    return out


def _canonical_level(level: str) -> str:
    return "occiput" if level.upper() == "OCCIPUT" else level.upper()


def sins_location_category(location: str) -> tuple[LocationCategory, str | None]:
    """The SINS location category of `location` (a category name or a vertebral level), and the
    level in its canonical spelling (None when a category was given)."""
    if not isinstance(location, str):
        raise InputError("location", f"expected a category or a vertebral level; got {location!r}")
    text = location.strip()
    categories: dict[str, Any] = _table()["location"]
    if text.lower() in categories:
        return cast(LocationCategory, text.lower()), None
    category = _level_map().get(text.upper())
    if category is None:
        raise InputError(
            "location",
            f"{location!r} is neither a SINS location category {list(categories)} nor a vertebral "
            "level (occiput, C1-C7, T1-T12, L1-L5, S1-S5)",
        )
    return cast(LocationCategory, category), _canonical_level(text)


def _points(component: str, value: str) -> int:
    options: dict[str, int] = _table()["points"][component]
    if not isinstance(value, str) or value not in options:
        raise InputError(
            component, f"{value!r} is not a SINS {component} value; expected one of {list(options)}"
        )
    return options[value]


def band_for(score: int) -> dict[str, Any]:
    """The knowledge entry of the band containing a SINS total."""
    return bands.band_for(_table(), score, "SINS")


def sins(
    *,
    location: str,
    pain: Pain,
    lesion: Lesion,
    alignment: Alignment,
    collapse: Collapse,
    posterolateral: Posterolateral,
) -> SinsResult:
    """The SINS of a spinal metastasis.

    `location` is a category ("junctional", "mobile", "semirigid", "rigid") or a vertebral level
    ("occiput", "C1".."C7", "T1".."T12", "L1".."L5", "S1".."S5"; case-insensitive).
    """
    table = _table()
    category, level = sins_location_category(location)
    components = {
        "location": int(table["location"][category]["points"]),
        "pain": _points("pain", pain),
        "lesion": _points("lesion", lesion),
        "alignment": _points("alignment", alignment),
        "collapse": _points("collapse", collapse),
        "posterolateral": _points("posterolateral", posterolateral),
    }
    score = sum(components.values())
    band = band_for(score)
    return SinsResult(
        score=score,
        band=band["name"],
        surgical_opinion=score >= int(table["surgical_opinion_from"]),
        recommendation=band["recommendation"],
        components=components,
        location_category=category,
        level=level,
        sources=list(table["sources"]),
        evidence=str(table["evidence"]),
        caveats=[c["text"] for c in table["caveats"]],
        unverified=[c["text"] for c in table["caveats"] if c["evidence"] in ("U", "P")],
    )
