"""Record builders for the pathway tests.

`patient()` is a man aged 40 on 2026-01-01 with nothing else recorded; with creatinine 1.0 mg/dL
(88.4 umol/L) Cockcroft-Gault gives CrCl = 100 x weight / 72, so weight = 0.72 x CrCl hits a
chosen clearance exactly (to the 0.1 mL/min the renal module rounds to).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from bonemets.core.record import Record

D = dt.date.fromisoformat
FIRST = D("2026-01-05")  # first dose in most tests


def patient(**extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "t1",
        "demographics": {"birth_date": "1985-06-01", "sex": "male", "weights": []},
        "cancer": {
            "primary_site": "breast",
            "bone_metastases": True,
            "bone_metastases_date": "2025-12-01",
        },
    }
    data.update(extra)
    return data


def weight(day: str, kg: float) -> dict[str, Any]:
    return {"date": day, "kg": kg}


def lab(code: str, value: float, unit: str, day: str, **limits: float) -> dict[str, Any]:
    return {"code": code, "value": value, "unit": unit, "date": day, **limits}


def creat(value: float, day: str, unit: str = "mg/dL") -> dict[str, Any]:
    return lab("creatinine", value, unit, day)


def dose(day: str, agent: str = "zoledronic_acid", route: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"agent": agent, "date": day}
    if route:
        out["route"] = route
    return out


def plan(day: str, agent: str = "zoledronic_acid", **kw: Any) -> dict[str, Any]:
    return {"date": day, "agent": agent, **kw}


def on_agent(
    agent: str = "zoledronic_acid",
    *,
    crcl: float | None = 70.0,
    doses: list[str] | None = None,
    labs: list[dict[str, Any]] | None = None,
    route: str | None = None,
    unit: str = "mg/dL",
    interval: float | None = 4.0,
    **extra: Any,
) -> Record:
    """A patient on `agent` with a baseline creatinine and weight before the first dose, and a
    plan of `interval` weeks on the day of the first dose unless plans are given (a missing
    interval is not read as 4-weekly: see test_regimens)."""
    doses = doses if doses is not None else [FIRST.isoformat()]
    base_labs: list[dict[str, Any]] = []
    data = patient(**extra)
    if crcl is not None:
        scr = 1.0 if crcl >= 28 else 3.0  # keeps the weight within 20-350 kg
        data["demographics"]["weights"] = [weight("2026-01-02", round(0.72 * crcl * scr, 6))]
        base_labs.append(
            creat(scr if unit == "mg/dL" else round(88.4 * scr, 6), "2026-01-02", unit)
        )
    data["labs"] = base_labs + (labs or []) + data.get("labs", [])
    data["bma_doses"] = [dose(d, agent, route) for d in doses]
    if interval is not None and "bma_plans" not in extra and doses:
        data["bma_plans"] = [plan(min(doses), agent, interval_weeks=interval)]
    return Record.model_validate(data)


def check(result: Any, name: str) -> Any:
    found = [c for c in result.bma.checks if c.check == name]
    assert len(found) == 1, f"expected one {name} check, got {result.bma.checks}"
    return found[0]
