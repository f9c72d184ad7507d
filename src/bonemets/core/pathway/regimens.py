"""Regimens of the bone-modifying agents as data, and which one a course follows.

The regimens (indication, dose, route, intervals, product codes) are ``[[regimens]]`` of
``knowledge/agents.toml``. A course is matched to its regimen from what the record says of it, in
order: an indication recorded on it, its product code, its dose, its interval (planned, or the
gaps between its doses); when none of these tells, the bone-metastasis regimen. Only that one
takes the bone-metastasis doses: a Prolia course for bone loss keeps its own 60 mg every 6 months.
"""

from __future__ import annotations

import itertools
import math
import statistics
from dataclasses import dataclass
from functools import cache
from typing import Any

from bonemets.core.knowledge import check_source_ids, load
from bonemets.core.record import BmaDose, BmaPlan

METASTATIC = "bone_metastases"
INDICATION_WORDS = {
    "bone_metastases": "bone metastases",
    "adjuvant": "adjuvant treatment of early breast cancer",
    "osteoporosis": "osteoporosis or treatment-induced bone loss",
}
# An interval matches a regimen's when within this ratio of it (3-4 weeks vs 12 vs 26 vs 52).
_INTERVAL_RATIO = 1.35


@dataclass(frozen=True, slots=True)
class Regimen:
    id: str
    agent: str
    indication: str
    label: str
    dose_mg: float
    route: str
    intervals_weeks: tuple[float, ...]
    products: tuple[str, ...]
    sources: tuple[str, ...]
    evidence: str

    @property
    def metastatic(self) -> bool:
        return self.indication == METASTATIC

    @property
    def longest_interval(self) -> float:
        return max(self.intervals_weeks)


@dataclass(frozen=True, slots=True)
class Match:
    regimen: Regimen
    basis: str  # what on the record chose it


@cache
def regimens() -> tuple[Regimen, ...]:
    out = []
    raw: list[dict[str, Any]] = load("agents")["regimens"]
    for e in raw:
        check_source_ids(e["sources"], f"agents.regimens.{e['id']}")
        out.append(
            Regimen(
                id=e["id"],
                agent=e["agent"],
                indication=e["indication"],
                label=e["label"],
                dose_mg=float(e["dose_mg"]),
                route=e["route"],
                intervals_weeks=tuple(float(x) for x in e["intervals_weeks"]),
                products=tuple(e["products"]),
                sources=tuple(e["sources"]),
                evidence=e["evidence"],
            )
        )
    return tuple(out)


def of_agent(agent: str) -> list[Regimen]:
    return [r for r in regimens() if r.agent == agent]


def metastatic_regimen(agent: str) -> Regimen | None:
    return next((r for r in of_agent(agent) if r.metastatic), None)


def product_agent(code: str) -> Regimen | None:
    """The regimen whose product list holds RxNorm `code`."""
    return next((r for r in regimens() if code in r.products), None)


def observed_interval(doses: list[BmaDose]) -> float | None:
    """The median gap (weeks) between the doses of a course, oldest first; None under 2 doses."""
    if len(doses) < 2:
        return None
    gaps = [(b.date - a.date).days / 7 for a, b in itertools.pairwise(doses)]
    gaps = [g for g in gaps if g > 0]
    return statistics.median(gaps) if gaps else None


def interval_fits(weeks: float, regimen: Regimen) -> bool:
    return any(
        abs(math.log(weeks / w)) <= math.log(_INTERVAL_RATIO) for w in regimen.intervals_weeks
    )


def snap(weeks: float, regimen: Regimen) -> float:
    """The regimen interval nearest to `weeks` (log scale)."""
    return min(regimen.intervals_weeks, key=lambda w: abs(math.log(weeks / w)))


def _latest(values: list[Any]) -> Any:
    """The last value that is not None (the latest, for lists oldest first)."""
    for value in reversed(values):
        if value is not None:
            return value
    return None


def match(
    agent: str,
    doses: list[BmaDose],
    plan: BmaPlan | None,
    *,
    bone_metastases: bool,
) -> Match | None:
    """The regimen a course of `agent` follows (doses oldest first, its latest plan)."""
    candidates = of_agent(agent)
    if not candidates:
        return None
    plans = [plan] if plan is not None else []
    reasons: list[str] = []

    def narrow(kept: list[Regimen], why: str) -> None:
        nonlocal candidates
        if kept and len(kept) < len(candidates):
            candidates = kept
            reasons.append(why)

    indication: str | None = _latest(
        [*(d.indication for d in doses), *(p.indication for p in plans)]
    )
    if indication is not None:
        narrow(
            [r for r in candidates if r.indication == indication],
            f"indication recorded: {INDICATION_WORDS.get(indication, indication)}",
        )
    product: str | None = _latest(
        [*(d.product_code for d in doses), *(p.product_code for p in plans)]
    )
    if product is not None:
        narrow([r for r in candidates if product in r.products], f"product code RxNorm {product}")
    dose: float | None = _latest([*(d.dose for d in doses), *(p.dose for p in plans)])
    if dose is not None:
        narrow([r for r in candidates if abs(r.dose_mg - dose) < 1e-6], f"dose {dose:g} mg")
    planned = plan.interval_weeks if plan is not None else None
    seen = observed_interval(doses)
    interval = planned if planned is not None else seen
    if interval is not None:
        how = "planned" if planned is not None else "between doses"
        narrow(
            [r for r in candidates if interval_fits(interval, r)],
            f"interval {interval:g} weeks ({how})",
        )
    if len(candidates) > 1:
        # Nothing recorded tells them apart: the bone-metastasis regimen, the most closely
        # checked (kidney bands, holds), rather than a guess at another indication.
        candidates = [r for r in candidates if r.metastatic] or candidates
        reasons.append(
            "bone metastases on the record"
            if bone_metastases
            else "nothing recorded tells the regimens apart: the bone-metastasis one assumed"
        )
    chosen = candidates[0]
    return Match(chosen, "; ".join(reasons) or "the only regimen")
