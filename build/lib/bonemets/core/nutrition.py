"""Daily calcium and vitamin D targets for adults (IOM 2011 RDAs), and the minimum supplement the
zoledronic acid and denosumab labels ask for. Numbers live in ``knowledge/intake.toml``."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

from bonemets.core.errors import InputError
from bonemets.core.knowledge import check_source_ids, load

Sex = Literal["female", "male"]


@dataclass(frozen=True, slots=True)
class DrugSupplement:
    """The minimum daily supplement while on a bone-modifying agent (separate from the RDAs)."""

    agents: list[str]
    calcium_mg: int
    vitamin_d_iu: int
    vitamin_d_ug: int
    note: str
    sources: list[str]
    evidence: str


@dataclass(frozen=True, slots=True)
class DailyIntake:
    age: int
    sex: Sex | None
    age_band: str
    calcium_mg: int
    vitamin_d_iu: int
    vitamin_d_ug: int
    drug_supplement: DrugSupplement
    sources: list[str]
    evidence: str
    caveats: list[str] = field(default_factory=list)


@cache
def _table() -> dict[str, Any]:
    table = load("intake")
    check_source_ids(table["sources"], "intake")
    check_source_ids(table["drug_supplement"]["sources"], "intake.drug_supplement")
    for caveat in table["caveats"]:
        check_source_ids(caveat["sources"], "intake.caveats")
    return table


def daily_intake(age: int, sex: Sex | None) -> DailyIntake:
    """The RDA of calcium (mg) and vitamin D (IU and micrograms) for an adult of `age` and `sex`.

    Unknown sex takes the higher calcium target. Under 19 is refused: the table is for adults.
    """
    table = _table()
    if isinstance(age, bool) or not isinstance(age, int):
        raise InputError("age", f"expected whole years; got {age!r}")
    if age < table["min_age"]:
        raise InputError(
            "age", f"these targets are for adults aged {table['min_age']} or over; got {age}"
        )
    if age > table["max_age"]:
        raise InputError("age", f"age {age} is above {table['max_age']}; check the value")
    if sex not in (None, "female", "male"):
        raise InputError("sex", f"expected 'female', 'male' or unknown; got {sex!r}")
    band = next(b for b in table["bands"] if b["ages"][0] <= age <= b["ages"][1])
    caveats = [c["text"] for c in table["caveats"]]
    by_sex: dict[str, int] = band["calcium_mg"]
    if sex is None:
        calcium = max(by_sex.values())
        if len(set(by_sex.values())) > 1:
            caveats.insert(0, f"Sex unknown: the higher calcium target ({calcium} mg) is given.")
    else:
        calcium = by_sex[sex]
    low, high = band["ages"]
    age_band = f"{low}-{high}" if high < table["max_age"] else f"{low}+"
    supplement = table["drug_supplement"]
    return DailyIntake(
        age=age,
        sex=sex,
        age_band=age_band,
        calcium_mg=calcium,
        vitamin_d_iu=int(band["vitamin_d_iu"]),
        vitamin_d_ug=int(band["vitamin_d_ug"]),
        drug_supplement=DrugSupplement(
            agents=list(supplement["agents"]),
            calcium_mg=int(supplement["calcium_mg"]),
            vitamin_d_iu=int(supplement["vitamin_d_iu"]),
            vitamin_d_ug=int(supplement["vitamin_d_ug"]),
            note=supplement["note"],
            sources=list(supplement["sources"]),
            evidence=supplement["evidence"],
        ),
        sources=[*table["sources"], *supplement["sources"]],
        evidence=str(table["evidence"]),
        caveats=caveats,
    )
