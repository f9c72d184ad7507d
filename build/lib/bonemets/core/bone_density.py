"""WHO categories of a bone-density T-score (WHO 1994), with the ISCD Z-score convention for
premenopausal women and men under 50. Thresholds live in ``knowledge/bone_density.toml``."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

from bonemets.core.errors import InputError
from bonemets.core.knowledge import check_source_ids, load

Sex = Literal["female", "male"]
Category = Literal["normal", "osteopenia", "osteoporosis", "severe_osteoporosis"]
Applicability = Literal["applies", "use_z_score", "unknown"]

# Float noise must not cross a category boundary.
_ROUND = 9


@dataclass(frozen=True, slots=True)
class TScoreCategory:
    t_score: float
    category: Category
    label: str
    description: str
    applicability: Applicability  # do the WHO T-score categories apply to this person?
    z_score_note: str | None
    sources: list[str]
    evidence: str
    caveats: list[str] = field(default_factory=list)
    unverified: list[str] = field(default_factory=list)  # the U/P parts of the basis, to flag


@cache
def _table() -> dict[str, Any]:
    table = load("bone_density")
    check_source_ids(table["sources"], "bone_density")
    check_source_ids(table["z_score"]["sources"], "bone_density.z_score")
    for caveat in table["caveats"]:
        check_source_ids(caveat["sources"], "bone_density.caveats")
    return table


def _applicability(
    age: int | None, sex: Sex | None, menopausal: bool | None
) -> tuple[Applicability, str]:
    """Whether the T-score categories apply, and why (for the caveat)."""
    adult_age: int = _table()["z_score"]["applies_age_from"]
    if sex == "female":
        if menopausal is True:
            return "applies", "postmenopausal woman"
        if menopausal is False:
            return "use_z_score", "premenopausal woman"
        return "unknown", "menopausal status unknown"
    if sex == "male":
        if age is None:
            return "unknown", "age unknown"
        if age >= adult_age:
            return "applies", f"man aged {adult_age} or over"
        return "use_z_score", f"man under {adult_age}"
    return "unknown", "sex unknown"


def tscore_category(
    t_score: float,
    *,
    age: int | None = None,
    sex: Sex | None = None,
    menopausal: bool | None = None,
    fragility_fracture: bool = False,
) -> TScoreCategory:
    """The WHO category of a DXA T-score.

    normal: T >= -1.0; osteopenia: -2.5 < T < -1.0; osteoporosis: T <= -2.5; severe osteoporosis:
    T <= -2.5 with a fragility fracture. The categories apply to postmenopausal women and men 50
    or over; otherwise (or when that is unknown) the result carries a Z-score note.
    """
    table = _table()
    if isinstance(t_score, bool) or not isinstance(t_score, int | float) or math.isnan(t_score):
        raise InputError("t_score", f"expected a number; got {t_score!r}")
    low, high = table["plausible"]
    if not low <= t_score <= high:
        raise InputError(
            "t_score",
            f"T-score {t_score} is outside the plausible range {low:g} to {high:g}; check it",
        )
    if age is not None and (isinstance(age, bool) or not 18 <= age <= 120):
        raise InputError("age", f"expected an adult age of 18-120 years; got {age}")
    if sex not in (None, "female", "male"):
        raise InputError("sex", f"expected 'female', 'male' or unknown; got {sex!r}")

    t = round(float(t_score), _ROUND)
    category: Category
    if t <= table["osteoporosis_at_or_below"]:
        category = "severe_osteoporosis" if fragility_fracture else "osteoporosis"
    elif t < table["normal_at_or_above"]:
        category = "osteopenia"
    else:
        category = "normal"

    applicability, why = _applicability(age, sex, menopausal)
    sources = list(table["sources"])
    z_note: str | None = None
    if applicability == "use_z_score":
        z_note = f"{table['z_score']['note']} Here: {why}."
    elif applicability == "unknown":
        z_note = f"{table['z_score']['unknown_note']} Here: {why}."
    if z_note is not None:
        sources += table["z_score"]["sources"]

    caveats = [c["text"] for c in table["caveats"]]
    if fragility_fracture and category != "severe_osteoporosis":
        caveats.append(
            "A fragility fracture was reported but the T-score is above -2.5: the WHO "
            "densitometric category is unchanged; the fracture matters clinically in its own right."
        )
    if z_note is not None:
        caveats.insert(0, z_note)
    entry = table["categories"][category]
    return TScoreCategory(
        t_score=float(t_score),
        category=category,
        label=entry["label"],
        description=entry["description"],
        applicability=applicability,
        z_score_note=z_note,
        sources=sources,
        evidence=str(table["evidence"]),
        caveats=caveats,
        unverified=[c["text"] for c in table["caveats"] if c["evidence"] in ("U", "P")],
    )
