"""Benchmark of the vectorised cohort engine against a loop of per-patient SciPy runs.

    .venv/bin/python bench/simulate.py [--patients 10000] [--sample 10] [--days 1825]

Integrates N virtual patients of the vicious-cycle model on denosumab 120 mg every 4 weeks
(monthly dose breakpoints, the costly case) over 5 years with the cohort engine, then a sample of
the same patients one by one with SciPy (LSODA) and scales the loop to N. Prints the ratio and the
worst relative disagreement on the sample (per state: max |cohort - SciPy| / max |SciPy|).
Target (issue 8): ratio >= 100 with agreement <= 1e-4.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from bonemets.sim.api import model, run_params
from bonemets.sim.cohort import integrate_batch, sample_patients, stack_breakpoints
from bonemets.sim.solve import integrate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--sample", type=int, default=10)
    parser.add_argument("--days", type=float, default=1825.0)
    parser.add_argument("--treatment", default="denosumab")
    args = parser.parse_args()
    console = Console()
    m = model("vicious-cycle")
    base = run_params(m, args.treatment, 0.0, "curated", None)
    params, y0 = sample_patients(m, args.patients, seed=0, base_params=base, initial=m.initial())
    bps = stack_breakpoints([m.breakpoints(base, args.days)] * args.patients)

    with Progress(console=console, transient=True) as bar:
        task = bar.add_task(f"cohort engine, {args.patients} patients", total=args.days)
        start = time.perf_counter()
        batch = integrate_batch(m, params, y0, args.days, bps,
                                progress=lambda day: bar.update(task, completed=day))  # fmt: skip
        cohort_s = time.perf_counter() - start

    picks = np.linspace(0, args.patients - 1, args.sample).astype(int)
    loop: dict[str, float] = {}
    worst = 0.0
    settings = [
        ("SciPy LSODA rtol 1e-10 (single-run setting)", 1e-10, 1e-12),
        ("SciPy LSODA rtol 1e-9 (cohort's tolerance)", 1e-9, 1e-11),
    ]
    for label, rtol, atol in settings:
        start = time.perf_counter()
        for i in picks:
            one = integrate(m, {k: float(v[i]) for k, v in params.items()}, y0[:, i], args.days,
                            rtol=rtol, atol=atol)  # fmt: skip
            if rtol == 1e-10:
                err = np.abs(batch.y[i] - one.y).max(axis=1) / np.abs(one.y).max(axis=1)
                worst = max(worst, float(err.max()))
        loop[label] = (time.perf_counter() - start) / len(picks) * args.patients

    table = Table(title=f"{args.patients} virtual patients, {args.days:g} days, {args.treatment}")
    table.add_column("engine")
    table.add_column("seconds", justify="right")
    table.add_column("ratio (loop / cohort)", justify="right")
    table.add_row("cohort engine (NumPy, vectorised DOPRI5)", f"{cohort_s:.1f}", "1")
    for label, seconds in loop.items():
        table.add_row(f"{label}, {args.sample} measured, scaled", f"{seconds:.0f}",
                      f"{seconds / cohort_s:.0f}x")  # fmt: skip
    console.print(table)
    console.print(f"worst relative disagreement on the sample: {worst:.1e} (target <= 1e-4)")


if __name__ == "__main__":
    main()
