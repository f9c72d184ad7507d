"""`bonemets calc corrected-calcium` and `bonemets calc ctcae`, added to the calc group."""

from __future__ import annotations

from typing import Annotated

import typer

from bonemets.core.labs import CRITERIA, CorrectedCalcium, Grade, corrected_calcium, ctcae_grade
from bonemets.faces.cli.common import JsonOption, console, print_json, run_guarded


def register(calc_app: typer.Typer) -> None:
    @calc_app.command("corrected-calcium")
    def corrected_calcium_command(
        calcium: Annotated[float, typer.Option(help="Total serum calcium.")],
        albumin: Annotated[float, typer.Option(help="Serum albumin.")],
        calcium_unit: Annotated[str, typer.Option(help="mmol/L or mg/dL.")] = "mmol/L",
        albumin_unit: Annotated[str, typer.Option(help="g/L or g/dL.")] = "g/L",
        as_json: bool = JsonOption,
    ) -> None:
        """Albumin-corrected calcium, with its CTCAE grade."""

        def compute() -> tuple[CorrectedCalcium, Grade, Grade]:
            cc = corrected_calcium(calcium, calcium_unit, albumin, albumin_unit)
            return (
                cc,
                ctcae_grade("hypercalcaemia", cc.value, cc.unit),
                ctcae_grade("hypocalcaemia", cc.value, cc.unit),
            )

        cc, high, low = run_guarded(compute)
        grade = high if high.grade else low
        if as_json:
            print_json({"corrected_calcium": cc, "ctcae": grade})
            return
        console.print(f"Corrected calcium [bold]{cc.value:.2f} {cc.unit}[/] = {cc.formula}")
        console.print(grade.describe())
        for caveat in cc.caveats + grade.caveats:
            console.print(f"[yellow]note:[/] {caveat}")
        console.print(f"[dim]sources: {', '.join(cc.sources + grade.sources)}[/]")

    @calc_app.command("ctcae")
    def ctcae_command(
        criterion: Annotated[str, typer.Argument(help=f"One of: {', '.join(CRITERIA)}.")],
        value: Annotated[float, typer.Option(help="The laboratory value.")],
        unit: Annotated[str, typer.Option(help="Its unit, as the laboratory reports it.")],
        lower_limit: Annotated[float | None, typer.Option(help="The laboratory's LLN.")] = None,
        upper_limit: Annotated[float | None, typer.Option(help="The laboratory's ULN.")] = None,
        baseline: Annotated[float | None, typer.Option(help="Baseline (creatinine).")] = None,
        sex: Annotated[str | None, typer.Option(help="female or male (default limits).")] = None,
        as_json: bool = JsonOption,
    ) -> None:
        """CTCAE v5 grade of one laboratory value."""

        def compute() -> Grade:
            if sex not in (None, "female", "male"):
                from bonemets.core.errors import InputError

                raise InputError("sex", "expected female or male")
            return ctcae_grade(
                criterion,
                value,
                unit,
                lower_limit=lower_limit,
                upper_limit=upper_limit,
                baseline=baseline,
                sex=sex,  # type: ignore[arg-type]
            )

        grade: Grade = run_guarded(compute)
        if as_json:
            print_json(grade)
            return
        console.print(grade.describe())
        for caveat in grade.caveats:
            console.print(f"[yellow]note:[/] {caveat}")
        console.print(f"[dim]sources: {', '.join(grade.sources)}[/]")
