"""Lesions: Mirels' score for long bones and SINS for the spine, where the inputs are recorded.

The scores themselves are ``bonemets.core.scores.mirels`` and ``bonemets.core.scores.sins``.
"""

from __future__ import annotations

from typing import Any, Literal

from bonemets.core.errors import InputError
from bonemets.core.pathway.models import LesionResult, ScoreSummary
from bonemets.core.record import VERTEBRAL_LEVELS, Lesion, Record
from bonemets.core.scores import mirels, sins

MirelsSite = Literal["upper_limb", "lower_limb", "peritrochanteric"]

# Long-bone sites and their Mirels site category. The femoral head/neck is scored as
# peritrochanteric (3 points), the less reassuring choice: Mirels' categories do not name it [P].
MIRELS_SITE: dict[str, MirelsSite] = {
    "humerus_proximal": "upper_limb",
    "humerus_shaft": "upper_limb",
    "humerus_distal": "upper_limb",
    "radius": "upper_limb",
    "ulna": "upper_limb",
    "femur_head_neck": "peritrochanteric",
    "femur_peritrochanteric": "peritrochanteric",
    "femur_shaft": "lower_limb",
    "femur_distal": "lower_limb",
    "tibia": "lower_limb",
    "fibula": "lower_limb",
}
HEAD_NECK_NOTE = (
    "Femoral head/neck scored with the peritrochanteric site points (3), the higher category; "
    "Mirels' categories do not name it [P]."
)


def current_lesions(record: Record) -> list[Lesion]:
    """Every lesion, with only the latest entry of each lesion id."""
    latest: dict[str, Lesion] = {}
    out: list[Lesion] = []
    for lesion in sorted(record.lesions, key=lambda x: x.date):
        if lesion.id is None:
            out.append(lesion)
        else:
            latest[lesion.id] = lesion
    out.extend(latest.values())
    return sorted(out, key=lambda x: (x.date, x.site))


def _summary(result: Any, surgical_opinion: bool | None = None) -> ScoreSummary:
    return ScoreSummary(
        score=result.score,
        band=result.band,
        recommendation=result.recommendation,
        caveats=list(result.caveats),
        sources=list(result.sources),
        evidence=result.evidence,
        unverified=list(result.unverified),
        surgical_opinion=surgical_opinion,
    )


def _missing(names: list[tuple[str, object]]) -> list[str]:
    return [name for name, value in names if value is None]


def assess_lesion(lesion: Lesion, index: int) -> LesionResult:
    where = f"lesions[{index}]"
    base: dict[str, Any] = {
        "site": lesion.site,
        "type": lesion.type,
        "date": lesion.date,
        "id": lesion.id,
    }
    if lesion.site in MIRELS_SITE:
        missing = _missing(
            [("pain", lesion.pain), ("type", lesion.type), ("size_fraction", lesion.size_fraction)]
        )
        if missing:
            return LesionResult(
                **base, note=f"Mirels not scored: {', '.join(missing)} not recorded."
            )
        assert (
            lesion.pain is not None and lesion.type is not None and lesion.size_fraction is not None
        )
        try:
            result = mirels(
                site=MIRELS_SITE[lesion.site],
                pain=lesion.pain,
                lesion=lesion.type,
                size_fraction=lesion.size_fraction,
            )
        except InputError as exc:
            raise InputError(f"{where}.{exc.field}", exc.message) from None
        summary = _summary(result)
        if lesion.site == "femur_head_neck":
            summary = summary.model_copy(update={"caveats": [*summary.caveats, HEAD_NECK_NOTE]})
        return LesionResult(**base, mirels=summary)
    if lesion.site in VERTEBRAL_LEVELS:
        s = lesion.sins
        missing = _missing(
            [
                ("type", lesion.type),
                ("sins.pain", s.pain if s else None),
                ("sins.alignment", s.alignment if s else None),
                ("sins.collapse", s.collapse if s else None),
                ("sins.posterolateral", s.posterolateral if s else None),
            ]
        )
        if missing or s is None:
            return LesionResult(**base, note=f"SINS not scored: {', '.join(missing)} not recorded.")
        assert lesion.type is not None and s.pain is not None and s.alignment is not None
        assert s.collapse is not None and s.posterolateral is not None
        try:
            result_s = sins(
                location=lesion.site,
                pain=s.pain,
                lesion=lesion.type,
                alignment=s.alignment,
                collapse=s.collapse,
                posterolateral=s.posterolateral,
            )
        except InputError as exc:
            raise InputError(f"{where}.{exc.field}", exc.message) from None
        return LesionResult(**base, sins=_summary(result_s, result_s.surgical_opinion))
    if lesion.site == "sacrum":
        return LesionResult(
            **base,
            note="SINS not scored: give the sacral level (S1-S5); S1 and S2-S5 score differently.",
        )
    return LesionResult(**base, note="No fracture-risk score applies at this site.")


def assess_lesions(record: Record) -> list[LesionResult]:
    return [assess_lesion(lesion, i) for i, lesion in enumerate(current_lesions(record))]
