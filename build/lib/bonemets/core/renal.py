"""Creatinine clearance by Cockcroft-Gault (Cockcroft & Gault 1976), as the Zometa and Aredia labels
specify for dosing. The result is in mL/min and is not normalised to body surface area.

Weight convention: actual (total) body weight. The labels do not say which weight was intended
[U]; the answer records the weight used so a clinician can recompute with another.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from bonemets.core.errors import InputError
from bonemets.core.units import check_plausible, normalise_unit, to_canonical

FEMALE_FACTOR = 0.85
UMOL_PER_MG_DL = 88.4


@dataclass(frozen=True, slots=True)
class CreatinineClearance:
    value: float  # mL/min
    formula: str
    age: int
    weight_kg: float
    sex_used: Literal["female", "male"]
    creatinine_mg_dl: float
    weight_basis: str = "actual body weight"
    sources: list[str] = field(default_factory=lambda: ["cockcroft-gault-1976", "zometa-label"])
    caveats: list[str] = field(default_factory=list)


def cockcroft_gault(
    *,
    age: int,
    weight_kg: float,
    sex: Literal["female", "male"] | None,
    creatinine: float,
    creatinine_unit: str,
) -> CreatinineClearance:
    """CrCl (mL/min) = (140 - age) x weight / (72 x SCr mg/dL), x 0.85 for women.

    Unknown sex uses the female factor: it gives the lower clearance, the less reassuring answer
    for dosing a kidney-cleared drug.
    """
    if not 18 <= age <= 120:
        raise InputError("age", f"Cockcroft-Gault is for adults aged 18-120; got {age}")
    if not 20.0 <= weight_kg <= 350.0:
        raise InputError("weight_kg", f"weight {weight_kg} kg is outside 20-350 kg")
    if sex not in (None, "female", "male"):
        raise InputError("sex", f"expected female, male or unknown (null); got {sex!r}")
    unit = normalise_unit("creatinine", creatinine_unit, "creatinine_unit")
    check_plausible("creatinine", creatinine, unit, "creatinine")
    scr_mg_dl = to_canonical("creatinine", creatinine, unit) / UMOL_PER_MG_DL
    caveats = ["Weight is actual body weight; the labels do not specify the convention [U]."]
    sex_used: Literal["female", "male"]
    if sex is None:
        sex_used = "female"
        caveats.append(
            "Sex unknown: the female factor 0.85 was applied (gives the lower clearance)."
        )
    else:
        sex_used = sex
    value = (140 - age) * weight_kg / (72.0 * scr_mg_dl)
    factor = ""
    if sex_used == "female":
        value *= FEMALE_FACTOR
        factor = " x 0.85"
    formula = f"(140 - {age}) x {weight_kg:g} kg / (72 x {scr_mg_dl:.3g} mg/dL){factor}"
    return CreatinineClearance(
        value=round(value, 1),
        formula=formula,
        age=age,
        weight_kg=weight_kg,
        sex_used=sex_used,
        creatinine_mg_dl=round(scr_mg_dl, 4),
        caveats=caveats,
    )
