"""`bonemets calc`: clinical calculators (creatinine clearance, T-score category, calcium and
vitamin D intake, WHO pain ladder). Other modules add commands to this same `app`."""

from __future__ import annotations

from typing import Literal

import typer

from bonemets.core.bone_density import tscore_category
from bonemets.core.nutrition import daily_intake
from bonemets.core.pain import pain_ladder
from bonemets.core.renal import cockcroft_gault
from bonemets.faces.cli.common import JsonOption, fail, print_json, run_guarded
from bonemets.faces.cli.score import print_basis, print_caveats, print_line

app = typer.Typer(no_args_is_help=True, help="Clinical calculators.")

_SEXES: dict[str, Literal["female", "male"]] = {
    "female": "female",
    "f": "female",
    "woman": "female",
    "male": "male",
    "m": "male",
    "man": "male",
}
SexOption = typer.Option(None, "--sex", help="female or male; leave out if unknown.")


def parse_sex(value: str | None) -> Literal["female", "male"] | None:
    if value is None or value.strip().lower() in ("", "unknown"):
        return None
    sex = _SEXES.get(value.strip().lower())
    if sex is None:
        fail("sex", f"expected female, male or unknown; got {value!r}")
    return sex


@app.command("crcl")
def crcl_cmd(
    age: int = typer.Option(..., help="Age in years (18-120)."),
    weight: float = typer.Option(..., help="Actual body weight in kg."),
    creatinine: float = typer.Option(..., help="Serum creatinine."),
    unit: str = typer.Option(..., help="Creatinine unit: mg/dL or umol/L."),
    sex: str | None = SexOption,
    json_: bool = JsonOption,
) -> None:
    """Creatinine clearance by Cockcroft-Gault (mL/min, not normalised to body surface area)."""
    sex_value = parse_sex(sex)
    result = run_guarded(
        lambda: cockcroft_gault(
            age=age, weight_kg=weight, sex=sex_value, creatinine=creatinine, creatinine_unit=unit
        )
    )
    if json_:
        print_json(result)
        return
    print_line(f"Creatinine clearance {result.value:g} mL/min (Cockcroft-Gault)", style="bold")
    print_line(f"Formula: {result.formula}")
    print_basis(result.sources, "S", [c for c in result.caveats if "[U]" in c])
    print_caveats(result.caveats, [c for c in result.caveats if "[U]" in c])


@app.command("tscore")
def tscore_cmd(
    t_score: float = typer.Option(..., "--t-score", "--t", help="DXA T-score, e.g. -2.7."),
    age: int | None = typer.Option(None, help="Age in years, if known."),
    sex: str | None = SexOption,
    menopausal: bool | None = typer.Option(
        None, "--postmenopausal/--premenopausal", help="Menopausal status of a woman, if known."
    ),
    fragility_fracture: bool = typer.Option(
        False, "--fragility-fracture", help="A fragility fracture has occurred."
    ),
    json_: bool = JsonOption,
) -> None:
    """WHO category of a bone-density T-score (normal, osteopenia, osteoporosis, severe)."""
    sex_value = parse_sex(sex)
    result = run_guarded(
        lambda: tscore_category(
            t_score,
            age=age,
            sex=sex_value,
            menopausal=menopausal,
            fragility_fracture=fragility_fracture,
        )
    )
    if json_:
        print_json(result)
        return
    print_line(f"T-score {result.t_score:g}: {result.label} ({result.category})", style="bold")
    print_line(result.description)
    print_basis(result.sources, result.evidence, result.unverified)
    print_caveats(result.caveats, result.unverified)


@app.command("intake")
def intake_cmd(
    age: int = typer.Option(..., help="Age in years (adults, 19 or over)."),
    sex: str | None = SexOption,
    json_: bool = JsonOption,
) -> None:
    """Daily calcium and vitamin D targets (IOM 2011 RDA) and the supplement minimum with
    zoledronic acid or denosumab."""
    sex_value = parse_sex(sex)
    result = run_guarded(lambda: daily_intake(age, sex_value))
    if json_:
        print_json(result)
        return
    print_line(
        f"Age {result.age_band}: calcium {result.calcium_mg} mg a day, vitamin D "
        f"{result.vitamin_d_iu} IU ({result.vitamin_d_ug} micrograms) a day",
        style="bold",
    )
    print_line(result.drug_supplement.note)
    print_basis(result.sources, result.evidence)
    print_caveats(result.caveats)


@app.command("pain-ladder")
def pain_ladder_cmd(
    score: int = typer.Option(..., help="Pain score 0-10."),
    egfr_or_crcl: float | None = typer.Option(
        None, "--egfr-or-crcl", "--egfr", "--crcl", help="eGFR or CrCl in mL/min, if known."
    ),
    heart_failure: bool | None = typer.Option(
        None, "--heart-failure/--no-heart-failure", help="Heart failure, if known."
    ),
    platelets: float | None = typer.Option(None, help="Platelet count in 10^9/L, if known."),
    on_anticoagulant: bool | None = typer.Option(
        None, "--on-anticoagulant/--no-anticoagulant", help="Taking an anticoagulant, if known."
    ),
    age: int | None = typer.Option(None, help="Age in years, if known."),
    json_: bool = JsonOption,
) -> None:
    """WHO analgesic ladder step for a 0-10 pain score, with NSAID cautions."""
    result = run_guarded(
        lambda: pain_ladder(
            score,
            egfr_or_crcl=egfr_or_crcl,
            heart_failure=heart_failure,
            platelets=platelets,
            on_anticoagulant=on_anticoagulant,
            age=age,
        )
    )
    if json_:
        print_json(result)
        return
    print_line(f"Pain {result.score}/10 ({result.severity}): {result.step_name}", style="bold")
    print_line(result.summary)
    for principle in result.principles:
        print_line(f"- {principle}")
    for caution in result.nsaid_cautions:
        print_line(f"NSAID caution: {caution.message}", style="red")
    for advice in result.opioid_advice:
        print_line(advice)
    print_basis(result.sources, result.evidence, result.unverified)
    print_caveats(result.caveats, result.unverified)
