"""Population worklist benchmarks: throughput, scaling, memory and ratios, all in one run.

    python bench/population.py [--sizes 1000,10000,100000] [--workdir /tmp/bonemets-bench]
                               [--spark-size 10000] [--sample 300]

For each size: a synthetic export (`synth_export`), then `run_worklist` (local engine, 2 workers)
in a fresh subprocess whose peak RSS (its own and its worker processes') is read with getrusage.
Ratios:
the worklist against merely parsing the same files with orjson; against a straightforward pipeline
that validates every resource with fhir.resources (`fhir_to_records(validate=True)`) and assesses
(timed on a sample of patients, scaled); Spark local[2] against the local engine on one export.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import orjson

AS_OF = dt.date(2025, 6, 30)

CHILD = r"""
import datetime as dt, json, resource, sys, time
from pathlib import Path
from bonemets.population import run_worklist
export, out, engine = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
t = time.perf_counter()
day = dt.date.fromisoformat(sys.argv[4])
r = run_worklist(export, day, out, engine=engine, workers=2, chart=False)
seconds = time.perf_counter() - t
print(json.dumps({
    "seconds": seconds,
    "patients": r.summary["patients"],
    "resources": r.summary["resource_count"],
    "lines": r.summary["lines"],
    "rss_main_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "rss_workers_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
}))
"""


def run_child(export: Path, out: Path, engine: str) -> dict[str, float]:
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"}
    shutil.rmtree(out, ignore_errors=True)
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(export), str(out), engine, AS_OF.isoformat()],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def orjson_parse(export: Path) -> tuple[float, int]:
    from bonemets.population.local import export_files

    n = 0
    t = time.perf_counter()
    for p in export_files(export):
        with p.open("rb") as fh:
            for line in fh:
                orjson.loads(line)
                n += 1
    return time.perf_counter() - t, n


def sample_groups(export: Path, patients: int) -> list[list[bytes]]:
    from bonemets.population.keys import Keyed, classify
    from bonemets.population.local import export_files

    groups: dict[str, list[bytes]] = {}
    for p in export_files(export):
        with p.open("rb") as fh:
            for raw in fh:
                line = raw.rstrip(b"\n")
                c = classify(line)
                if isinstance(c, Keyed):
                    groups.setdefault(c.key, []).append(line)
    keys = sorted(groups)[:patients]
    return [groups[k] for k in keys]


def profile_steps(groups: list[list[bytes]]) -> dict[str, float]:
    """Seconds per patient in each step of the per-patient function (one process)."""
    from bonemets.adapters.fhir import fhir_to_records
    from bonemets.core.pathway import assess

    parse = imp = ass = 0.0
    for lines in groups:
        t0 = time.perf_counter()
        res = [orjson.loads(x) for x in lines]
        t1 = time.perf_counter()
        r = fhir_to_records(res)
        t2 = time.perf_counter()
        for rec in r.records.values():
            assess(rec, AS_OF)
        t3 = time.perf_counter()
        parse += t1 - t0
        imp += t2 - t1
        ass += t3 - t2
    n = len(groups)
    return {"parse": parse / n, "import": imp / n, "assess": ass / n}


def validated_pipeline(groups: list[list[bytes]]) -> float:
    """Seconds per patient: fhir.resources validation of every resource, then import and assess."""
    from bonemets.adapters.fhir import fhir_to_records
    from bonemets.core.pathway import assess

    fhir_to_records([], validate=True)  # warm the model classes
    t = time.perf_counter()
    for lines in groups:
        r = fhir_to_records([orjson.loads(x) for x in lines], validate=True)
        for rec in r.records.values():
            assess(rec, AS_OF)
    return (time.perf_counter() - t) / len(groups)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/bonemets-bench"))
    ap.add_argument("--spark-size", type=int, default=10000)
    ap.add_argument("--sample", type=int, default=300)
    ap.add_argument("--keep", action="store_true", help="Keep the exports.")
    args = ap.parse_args()
    from bonemets.population import synth_export

    sizes = [int(x) for x in args.sizes.split(",")]
    args.workdir.mkdir(parents=True, exist_ok=True)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    per_size: dict[int, dict[str, float]] = {}
    for n in sizes:
        export = args.workdir / f"export-{n}"
        if not export.exists():
            s = synth_export(export, n, 1, as_of=AS_OF)
            print(
                f"synth-export {n:>7,} patients: {s.resources:>10,} resources "
                f"in {s.seconds:6.1f} s "
                f"({s.resources / s.seconds:,.0f} resources/s, {n / s.seconds:,.0f} patients/s)"
            )
        # Twice, the faster counted: the first may read a cold export from disk, and the
        # worklist after it would then find the files in the page cache.
        parse_s, lines = min(orjson_parse(export), orjson_parse(export))
        r = run_child(export, args.workdir / f"out-{n}", "local")
        r["orjson_seconds"] = parse_s
        per_size[n] = r
        res_s = r["resources"] / r["seconds"]
        print(
            f"worklist  {n:>7,} patients: {r['seconds']:7.1f} s, {res_s:>8,.0f} resources/s, "
            f"{r['patients'] / r['seconds']:>6,.0f} patients/s, "
            f"{1000 * r['seconds'] / r['patients']:.2f} ms/patient; "
            f"peak RSS main {r['rss_main_mb']:.0f} MB, worker {r['rss_workers_mb']:.0f} MB; "
            f"orjson parse alone {lines / parse_s:,.0f} lines/s "
            f"-> worklist at {100 * res_s / (lines / parse_s):.1f}% of it"
        )
    if len(sizes) >= 2:
        a, b = sizes[0], sizes[-1]
        ca = per_size[a]["seconds"] / a
        cb = per_size[b]["seconds"] / b
        print(
            f"cost per patient {a:,} -> {b:,}: {1000 * ca:.2f} -> {1000 * cb:.2f} ms "
            f"(x{cb / ca:.2f})"
        )
        if 10000 in per_size and sizes[-1] > 10000:
            m10 = max(per_size[10000]["rss_main_mb"], per_size[10000]["rss_workers_mb"])
            mb = max(per_size[b]["rss_main_mb"], per_size[b]["rss_workers_mb"])
            print(
                f"peak RSS 10,000 -> {b:,}: {m10:.0f} -> {mb:.0f} MB ({100 * (mb / m10 - 1):+.1f}%)"
            )
    # Where the time goes, and the fhir.resources pipeline, on a sample of the first export.
    groups = sample_groups(args.workdir / f"export-{sizes[0]}", args.sample)
    steps = profile_steps(groups)
    total = sum(steps.values())
    print(
        "per patient, one process: "
        + ", ".join(f"{k} {1000 * v:.2f} ms ({100 * v / total:.0f}%)" for k, v in steps.items())
    )
    validated = validated_pipeline(groups)
    big = per_size[sizes[-1]]
    ours = big["seconds"] / big["patients"]
    print(
        f"fhir.resources-validated pipeline (1 process): {1000 * validated:.2f} ms/patient -> "
        f"{1 / validated:,.0f} patients/s; worklist (2 workers) {1 / ours:,.0f} patients/s: "
        f"x{validated / ours:.1f} faster (x{validated / total:.1f} per process)"
    )
    if args.spark_size:
        export = args.workdir / f"export-{args.spark_size}"
        if not export.exists():
            synth_export(export, args.spark_size, 1, as_of=AS_OF)
        local = per_size.get(args.spark_size) or run_child(export, args.workdir / "out-l", "local")
        spark = run_child(export, args.workdir / "out-spark", "spark")
        print(
            f"spark local[2] {args.spark_size:,} patients: {spark['seconds']:.1f} s "
            f"({spark['patients'] / spark['seconds']:,.0f} patients/s, incl. JVM start) vs local "
            f"{local['seconds']:.1f} s: spark/local time x{spark['seconds'] / local['seconds']:.2f}"
        )
    if not args.keep:
        for p in args.workdir.glob("export-*"):
            shutil.rmtree(p, ignore_errors=True)


if __name__ == "__main__":
    main()
