"""`bonemets score`: fracture and instability scores (Mirels, SINS)."""

from __future__ import annotations

from collections.abc import Sequence

import typer

from bonemets.core.knowledge import EVIDENCE_WORDS
from bonemets.core.scores import mirels, sins
from bonemets.faces.cli.common import JsonOption, console, print_json, run_guarded

app = typer.Typer(no_args_is_help=True, help="Fracture and spinal instability scores.")


def print_line(text: str, style: str | None = None) -> None:
    """Print plain text (knowledge text contains brackets such as [S], never rich markup)."""
    console.print(text, style=style, markup=False, highlight=False)


def print_basis(sources: Sequence[str], evidence: str, unverified: Sequence[str] = ()) -> None:
    """The sources, the evidence tag and every unverified (U/P) part of a result's basis."""
    print_line(f"Evidence: [{evidence}] {EVIDENCE_WORDS.get(evidence, evidence)}")
    print_line(f"Sources: {', '.join(sources)}  (details: bonemets sources ID)")
    for text in unverified:
        print_line(f"Unverified basis: {text}", style="yellow")


def print_caveats(caveats: Sequence[str], unverified: Sequence[str] = ()) -> None:
    for text in caveats:
        if text not in unverified:
            print_line(f"- {text}", style="dim")


@app.command("mirels")
def mirels_cmd(
    site: str = typer.Option(..., help="upper_limb, lower_limb or peritrochanteric"),
    pain: str = typer.Option(..., help="mild, moderate or functional"),
    lesion: str = typer.Option(..., help="blastic, mixed or lytic"),
    size_fraction: float = typer.Option(
        ...,
        "--size",
        "--size-fraction",
        help="Fraction of the bone diameter involved, above 0 and at most 1 (e.g. 0.5).",
    ),
    json_: bool = JsonOption,
) -> None:
    """Mirels' score for impending pathological fracture of a long bone (total 4-12)."""
    result = run_guarded(
        lambda: mirels(site=site, pain=pain, lesion=lesion, size_fraction=size_fraction)  # type: ignore[arg-type]
    )
    if json_:
        print_json(result)
        return
    parts = ", ".join(f"{k} {v}" for k, v in result.components.items())
    print_line(f"Mirels score {result.score} ({parts}): {result.band}", style="bold")
    print_line(result.recommendation)
    print_line(f"Fracture risk as quoted: {result.fracture_risk}")
    print_basis(result.sources, result.evidence, result.unverified)
    print_caveats(result.caveats, result.unverified)


@app.command("sins")
def sins_cmd(
    location: str = typer.Option(
        ...,
        help=(
            "junctional, mobile, semirigid or rigid; "
            "or a level: occiput, C1-C7, T1-T12, L1-L5, S1-S5"
        ),
    ),
    pain: str = typer.Option(..., help="mechanical, occasional or none"),
    lesion: str = typer.Option(..., help="lytic, mixed or blastic"),
    alignment: str = typer.Option(..., help="subluxation, de_novo_deformity or normal"),
    collapse: str = typer.Option(
        ..., help="over_50, under_50, none_over_50_involved (no collapse, >50% involved) or none"
    ),
    posterolateral: str = typer.Option(..., help="bilateral, unilateral or none"),
    json_: bool = JsonOption,
) -> None:
    """SINS, the Spinal Instability Neoplastic Score (total 0-18)."""
    result = run_guarded(
        lambda: sins(
            location=location,
            pain=pain,  # type: ignore[arg-type]
            lesion=lesion,  # type: ignore[arg-type]
            alignment=alignment,  # type: ignore[arg-type]
            collapse=collapse,  # type: ignore[arg-type]
            posterolateral=posterolateral,  # type: ignore[arg-type]
        )
    )
    if json_:
        print_json(result)
        return
    parts = ", ".join(f"{k} {v}" for k, v in result.components.items())
    where = (
        f"{result.level}, {result.location_category}" if result.level else result.location_category
    )
    print_line(f"SINS {result.score} ({parts}; location {where}): {result.band}", style="bold")
    print_line(result.recommendation)
    opinion = "yes" if result.surgical_opinion else "no"
    print_line(f"Surgical opinion warranted (SINS 7 or more): {opinion}")
    print_basis(result.sources, result.evidence, result.unverified)
    print_caveats(result.caveats, result.unverified)
