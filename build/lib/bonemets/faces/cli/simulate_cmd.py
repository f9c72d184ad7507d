"""`bonemets simulate MODEL`: run a bone-remodelling model, write CSV, JSON and PNG to --out."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import orjson
import typer
from rich.progress import Progress

from bonemets.faces.cli.common import JsonOption, console, fail, print_json, run_guarded


def _write_json(path: Path, obj: Any) -> None:
    path.write_bytes(orjson.dumps(obj, option=orjson.OPT_INDENT_2) + b"\n")


def register(app: typer.Typer) -> None:
    @app.command("simulate")
    def simulate_command(
        model: Annotated[
            str,
            typer.Argument(
                help="komarova2003, ayati2010-tumour, ayati2010-treatment or vicious-cycle."
            ),
        ],
        out: Annotated[Path, typer.Option("--out", help="Directory for the CSV, JSON and PNG.")],
        treatment: Annotated[
            list[str] | None,
            typer.Option(
                "--treatment",
                help="vicious-cycle only: none, denosumab, zoledronic-acid, zoledronic-acid-q12w, "
                "anti-tumour, aromatase-inhibitor; combine with + . Repeat for cohort arms.",
            ),
        ] = None,
        days: Annotated[float | None, typer.Option("--days", help="Days to simulate.")] = None,
        step: Annotated[float, typer.Option("--step", help="Output every STEP days.")] = 1.0,
        cohort: Annotated[
            int | None, typer.Option("--cohort", help="Virtual patients per treatment arm.")
        ] = None,
        start_day: Annotated[
            float, typer.Option("--start-day", help="Day the treatments start.")
        ] = 0.0,
        seed: Annotated[int, typer.Option("--seed", help="Cohort random seed.")] = 0,
        variant: Annotated[
            str, typer.Option("--variant", help="Ayati thresholds: curated (SBML) or paper.")
        ] = "curated",
        plot: Annotated[bool, typer.Option("--plot/--no-plot", help="Write PNG figures.")] = True,
        as_json: bool = JsonOption,
    ) -> None:
        """Simulate bone cells, bone mass and tumour over time (illustrative, not a prediction)."""
        from bonemets.sim import api  # imported here: SciPy and matplotlib load only when used

        if variant not in ("curated", "paper"):
            fail("--variant", "must be curated or paper")
        if start_day < 0:
            fail("--start-day", "must be >= 0")
        arms = treatment or ["none"]
        if cohort is None and len(arms) > 1:
            fail("--treatment", "a single run takes one --treatment (combine drugs with +)")
        chosen: Literal["curated", "paper"] = "paper" if variant == "paper" else "curated"
        m = run_guarded(lambda: api.model(model))
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            fail("--out", f"cannot create directory: {exc.strerror}")
        if cohort is None:
            run = run_guarded(
                lambda: api.simulate(
                    model, arms[0], days=days, step=step, start_day=start_day, variant=chosen
                )
            )
            api.write_trajectory_csv(run, out / "trajectory.csv")
            summary = api.run_summary(run)
        else:
            total = days or m.default_days
            with Progress(console=console, transient=True, disable=as_json) as bar:
                task = bar.add_task("simulating virtual patients", total=1.0)

                def tick(day: float) -> None:
                    bar.update(task, completed=day / total)

                result = run_guarded(lambda: api.simulate_cohort(
                    model, arms, n=cohort, days=days, step=step, start_day=start_day, seed=seed,
                    variant=chosen, progress=tick))  # fmt: skip
            api.write_cohort_csv(result, out / "cohort.csv")
            summary = api.cohort_summary(result) | {"cohort_size": cohort}
        if plot:
            from bonemets.sim import plots

            if cohort is None:
                summary["figure"] = plots.save(
                    plots.trajectory_figure(run), out / "trajectory.png"
                ).name
            else:
                summary["figure"] = plots.save(plots.cohort_figure(result), out / "cohort.png").name
        _write_json(out / "summary.json", summary)
        if as_json:
            print_json(summary)
            return
        _print_summary(summary, out)


def _print_summary(summary: dict[str, Any], out: Path) -> None:
    console.print(f"[bold]{summary['title']}[/]")
    if "arms" in summary:
        for arm, s in summary["arms"].items():
            zero = s["fraction_bone_mass_zero"]
            console.print(f"  {arm}: median lowest bone mass {s['median_min_bone_mass']:.1f}%, "
                          f"bone mass reached 0 in {zero:.0%} of patients")  # fmt: skip
    else:
        console.print(f"  lowest bone mass {summary['min_bone_mass']:.2f}% on day "
                      f"{summary['min_bone_mass_day']:g}")  # fmt: skip
        if summary["bone_mass_zero_day"] is not None:
            console.print(f"  bone mass reached 0 on day {summary['bone_mass_zero_day']:.1f}")
    if summary["illustrative"]:
        console.print(f"[italic]{summary['disclaimer']}[/]")
    console.print(f"  written to {out}")
