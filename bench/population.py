"""Population worklist benchmarks: throughput, scaling, memory and ratios, all in one run.

    python bench/population.py [--sizes 1000,10000,100000] [--workdir /tmp/bonemets-bench]
                               [--spark-size 10000] [--sample 300] [--out bench/results]
    python bench/population.py --engine spark --master spark://host:7077 [--spark-size 10000]
                               [--executor-cores 1] [--workers 1,2]

For each size: a synthetic export (`synth_export`), then `run_worklist` (local engine, 2 workers)
in a fresh subprocess whose peak RSS (its own and its largest worker's) is read with getrusage.
Ratios, each against a baseline measured in the same run (these machines are noisy):

- against merely parsing the same files with orjson, the practical upper bound: in one process
  (what the issue's target is set against) and in as many processes as the worklist has workers;
- against a straightforward pipeline that validates every resource with fhir.resources
  (`fhir_to_records(validate=True)`) and assesses, in one process (timed on a sample of patients,
  scaled);
- Spark local[2] against the local engine on one export.

The figures go to `<out>/population.json` and a chart to `<out>/population.png`.

With ``--engine spark --master URL`` it measures a cluster instead: one export, run with the
application's cores capped (``spark.cores.max``) at 1 and 2 executors of ``--executor-cores``
each (on a standalone cluster of one-core workers: 1 and 2 workers), in a fresh driver each time.
The time is counted from a running session with its executors up (JVM and executor start-up are
reported apart), and the figure is rows (patients) per second per executor core; the ratio of the
two runs' rows per second is the scaling, measured rather than assumed. The rows of every run are
checked against the local engine's. To `<out>/population-cluster.json`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson

AS_OF = dt.date(2025, 6, 30)
WORKERS = 2
WARM = 20  # patients run before a per-patient timing starts

CHILD = r"""
import datetime as dt, json, resource, sys, time
from pathlib import Path
from bonemets.population import run_worklist
export, out, engine, workers = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], int(sys.argv[5])
t = time.perf_counter()
day = dt.date.fromisoformat(sys.argv[4])
r = run_worklist(export, day, out, engine=engine, workers=workers, chart=False)
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
        [
            sys.executable,
            "-c",
            CHILD,
            str(export),
            str(out),
            engine,
            AS_OF.isoformat(),
            str(WORKERS),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


CHILD_CLUSTER = r"""
import datetime as dt, json, sys, time
t0 = time.perf_counter()
from bonemets.population import run_worklist
from bonemets.population.spark import _executors, spark_session, wait_for_executors
export, out, master, want = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[5])
day = dt.date.fromisoformat(sys.argv[4])
session = spark_session(master).spark
wait_for_executors(session, 180)
deadline = time.monotonic() + 120
while _executors(session) < want and time.monotonic() < deadline:
    time.sleep(0.25)
executors = _executors(session)
t1 = time.perf_counter()
r = run_worklist(export, day, out, engine="spark", spark=session, chart=False)
seconds = time.perf_counter() - t1
session.stop()
print(json.dumps({"seconds": seconds, "startup_seconds": t1 - t0, "executors": executors,
                  "patients": r.summary["patients"], "resources": r.summary["resource_count"]}))
"""


def cluster_bench(args: argparse.Namespace) -> None:
    """Rows per second per executor core on the cluster at `args.master`, 1 and 2 executors."""
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    from bonemets.population import run_worklist, synth_export

    export = args.workdir / f"export-{args.spark_size}"
    if not export.exists():
        synth_export(export, args.spark_size, 1, as_of=AS_OF)
    local_out = args.workdir / "cluster-local"
    shutil.rmtree(local_out, ignore_errors=True)
    run_worklist(export, AS_OF, local_out, workers=WORKERS, chart=False)
    local_rows = pq.read_table(local_out / "worklist.parquet").to_pylist()
    cores = args.executor_cores
    runs = []
    for n in [int(x) for x in args.workers.split(",")]:
        out = args.workdir / f"cluster-{n}"
        shutil.rmtree(out, ignore_errors=True)
        conf = f"--conf spark.cores.max={n * cores} --conf spark.executor.cores={cores}"
        env = {**os.environ, "PYSPARK_SUBMIT_ARGS": f"{conf} pyspark-shell"}
        proc = subprocess.run(
            [
                sys.executable,
                "-c",
                CHILD_CLUSTER,
                str(export),
                str(out),
                args.master,
                AS_OF.isoformat(),
                str(n),
            ],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        r: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
        same = pq.read_table(out / "worklist.parquet").to_pylist() == local_rows
        r |= {
            "workers": n,
            "executor_cores": cores,
            "rows_per_s": r["patients"] / r["seconds"],
            "rows_per_s_per_core": r["patients"] / r["seconds"] / (r["executors"] * cores),
            "rows_equal_local": same,
        }
        runs.append(r)
        print(
            f"spark {args.master}, {r['executors']} executor(s) x {cores} core(s): "
            f"{r['patients']:,} rows in {r['seconds']:.1f} s (+{r['startup_seconds']:.1f} s "
            f"start-up): {r['rows_per_s']:,.0f} rows/s, {r['rows_per_s_per_core']:,.0f} rows/s "
            f"per executor core; rows equal to the local engine's: {same}"
        )
    results: dict[str, Any] = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "master": args.master,
        "patients": args.spark_size,
        "runs": runs,
    }
    if len(runs) >= 2:
        results["speedup"] = runs[-1]["rows_per_s"] / runs[0]["rows_per_s"]
        print(
            f"{runs[-1]['executors']} vs {runs[0]['executors']} executor(s): "
            f"x{results['speedup']:.2f} rows/s"
        )
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "population-cluster.json"
    path.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2) + b"\n")
    print(f"figures: {path}")


def _parse_file(path: Path) -> int:
    n = 0
    with path.open("rb") as fh:
        for line in fh:
            orjson.loads(line)
            n += 1
    return n


def orjson_parse(export: Path, processes: int = 1) -> tuple[float, int]:
    """Seconds to orjson-parse every line of the export, and the line count."""
    from bonemets.population.local import export_files

    files = [Path(f.path) for f in sorted(export_files(export), key=lambda f: -f.size)]
    t = time.perf_counter()  # largest first
    if processes == 1:
        n = sum(_parse_file(p) for p in files)
    else:
        with mp.get_context("fork").Pool(processes) as pool:
            n = sum(pool.imap_unordered(_parse_file, files))
    return time.perf_counter() - t, n


def sample_groups(export: Path, patients: int) -> list[list[bytes]]:
    from bonemets.population.keys import Keyed, classify
    from bonemets.population.local import export_files

    groups: dict[str, list[bytes]] = {}
    for f in export_files(export):
        with open(f.path, "rb") as fh:
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

    for lines in groups[:WARM]:  # as the validated pipeline: timed warm
        for rec in fhir_to_records([orjson.loads(x) for x in lines]).records.values():
            assess(rec, AS_OF)
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

    # Warm: fhir.resources imports a resource type's model class on its first use, which would
    # otherwise be timed as part of the first patients (~15% of a 300-patient sample).
    for lines in groups[:WARM]:
        fhir_to_records([orjson.loads(x) for x in lines], validate=True)
    t = time.perf_counter()
    for lines in groups:
        r = fhir_to_records([orjson.loads(x) for x in lines], validate=True)
        for rec in r.records.values():
            assess(rec, AS_OF)
    return (time.perf_counter() - t) / len(groups)


def measure_size(n: int, workdir: Path) -> dict[str, float]:
    from bonemets.population import synth_export

    export = workdir / f"export-{n}"
    if not export.exists():
        s = synth_export(export, n, 1, as_of=AS_OF)
        print(
            f"synth-export {n:>7,} patients: {s.resources:>10,} resources in {s.seconds:6.1f} s "
            f"({s.resources / s.seconds:,.0f} resources/s, {n / s.seconds:,.0f} patients/s)"
        )
    # Twice, the faster counted: the first may read a cold export from disk, and the worklist
    # after it then finds the files in the page cache.
    parse_s, lines = min(orjson_parse(export), orjson_parse(export))
    parse_par_s, _ = orjson_parse(export, WORKERS)
    r = run_child(export, workdir / f"out-{n}", "local")
    r |= {"orjson_seconds": parse_s, "orjson_parallel_seconds": parse_par_s, "size": n}
    r["resources_per_s"] = r["resources"] / r["seconds"]
    r["patients_per_s"] = r["patients"] / r["seconds"]
    r["ms_per_patient"] = 1000 * r["seconds"] / r["patients"]
    r["pct_of_orjson"] = 100 * parse_s / r["seconds"]
    r["pct_of_orjson_parallel"] = 100 * parse_par_s / r["seconds"]
    print(
        f"worklist  {n:>7,} patients: {r['seconds']:7.1f} s, {r['resources_per_s']:>8,.0f} "
        f"resources/s, {r['patients_per_s']:>6,.0f} patients/s, {r['ms_per_patient']:.2f} "
        f"ms/patient; peak RSS main {r['rss_main_mb']:.0f} MB, worker "
        f"{r['rss_workers_mb']:.0f} MB; orjson parse alone {lines / parse_s:,.0f} lines/s in one "
        f"process ({lines / parse_par_s:,.0f} in {WORKERS}) -> worklist at "
        f"{r['pct_of_orjson']:.1f}% of one process ({r['pct_of_orjson_parallel']:.1f}% of "
        f"{WORKERS})"
    )
    return r


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = results["sizes"]
    sizes = [r["size"] for r in rows]
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    ax = axes[0]
    ax.plot(sizes, [r["patients_per_s"] for r in rows], "o-", label="worklist (2 workers)")
    ax.plot(
        sizes,
        [r["patients"] / r["orjson_seconds"] for r in rows],
        "s--",
        label="orjson parse only, 1 process",
    )
    ax.set(xscale="log", yscale="log", xlabel="patients", ylabel="patients/s")
    ax.set_title("Throughput")
    ax.legend(fontsize=8)
    ax = axes[1]
    ax.plot(sizes, [r["ms_per_patient"] for r in rows], "o-")
    ax.set(xscale="log", xlabel="patients", ylabel="ms per patient (wall)", ylim=(0, None))
    ax.set_title("Cost per patient")
    ax = axes[2]
    ax.plot(sizes, [r["rss_main_mb"] for r in rows], "o-", label="main process")
    ax.plot(sizes, [r["rss_workers_mb"] for r in rows], "s-", label="largest worker")
    ax.set(xscale="log", xlabel="patients", ylabel="peak RSS (MB)", ylim=(0, None))
    ax.set_title("Peak memory")
    ax.legend(fontsize=8)
    for ax in axes:
        ax.grid(alpha=0.3)
    ratios = results.get("ratios", {})
    fig.suptitle(
        f"bonemets worklist on {results['machine']['cpus']} cores: "
        f"{ratios.get('pct_of_orjson', 0):.0f}% of orjson parsing (1 process), "
        f"x{ratios.get('x_fhir_resources', 0):.1f} a fhir.resources pipeline",
        fontsize=11,
    )
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/bonemets-bench"))
    ap.add_argument("--spark-size", type=int, default=10000)
    ap.add_argument("--sample", type=int, default=300)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    ap.add_argument("--keep", action="store_true", help="Keep the exports.")
    ap.add_argument("--engine", choices=("local", "spark"), default="local")
    ap.add_argument("--master", help="With --engine spark: the cluster to measure.")
    ap.add_argument("--executor-cores", type=int, default=1)
    ap.add_argument("--workers", default="1,2", help="Executors to measure with (cluster).")
    args = ap.parse_args()
    if args.engine == "spark":
        if not args.master:
            ap.error("--engine spark needs --master (a cluster's URL)")
        args.workdir.mkdir(parents=True, exist_ok=True)
        cluster_bench(args)
        return

    sizes = [int(x) for x in args.sizes.split(",")]
    args.workdir.mkdir(parents=True, exist_ok=True)
    cpus = os.cpu_count() or 1
    print(f"machine: {platform.machine()}, {cpus} cores, Python {platform.python_version()}")
    results: dict[str, Any] = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": cpus, "python": platform.python_version()},
        "workers": WORKERS,
        "sizes": [measure_size(n, args.workdir) for n in sizes],
    }
    per_size = {r["size"]: r for r in results["sizes"]}
    big = per_size[sizes[-1]]
    ratios: dict[str, float] = {
        "pct_of_orjson": big["pct_of_orjson"],
        "pct_of_orjson_parallel": big["pct_of_orjson_parallel"],
    }
    if len(sizes) >= 2:
        a, b = sizes[0], sizes[-1]
        ca, cb = per_size[a]["ms_per_patient"], per_size[b]["ms_per_patient"]
        ratios["cost_per_patient_slope"] = cb / ca
        print(f"cost per patient {a:,} -> {b:,}: {ca:.2f} -> {cb:.2f} ms (x{cb / ca:.2f})")
        if 10000 in per_size and b > 10000:
            m10 = max(per_size[10000]["rss_main_mb"], per_size[10000]["rss_workers_mb"])
            mb = max(big["rss_main_mb"], big["rss_workers_mb"])
            ratios["peak_rss_growth_from_10k"] = mb / m10 - 1
            print(
                f"peak RSS 10,000 -> {b:,}: {m10:.0f} -> {mb:.0f} MB ({100 * (mb / m10 - 1):+.1f}%)"
            )
    # Where the time goes, and the fhir.resources pipeline, on a sample of the first export.
    groups = sample_groups(args.workdir / f"export-{sizes[0]}", args.sample)
    steps = profile_steps(groups)
    total = sum(steps.values())
    results["steps_ms_per_patient"] = {k: 1000 * v for k, v in steps.items()}
    print(
        "per patient, one process: "
        + ", ".join(f"{k} {1000 * v:.2f} ms ({100 * v / total:.0f}%)" for k, v in steps.items())
    )
    validated = validated_pipeline(groups)
    ours = big["seconds"] / big["patients"]
    ratios["x_fhir_resources"] = validated / ours
    ratios["x_fhir_resources_per_process"] = validated / total
    results["fhir_resources_ms_per_patient"] = 1000 * validated
    print(
        f"fhir.resources-validated pipeline (1 process): {1000 * validated:.2f} ms/patient -> "
        f"{1 / validated:,.0f} patients/s; worklist ({WORKERS} workers) {1 / ours:,.0f} "
        f"patients/s: x{validated / ours:.1f} faster (x{validated / total:.1f} per process)"
    )
    if args.spark_size:
        export = args.workdir / f"export-{args.spark_size}"
        if not export.exists():
            from bonemets.population import synth_export

            synth_export(export, args.spark_size, 1, as_of=AS_OF)
        local = per_size.get(args.spark_size) or run_child(export, args.workdir / "out-l", "local")
        spark = run_child(export, args.workdir / "out-spark", "spark")
        ratios["spark_over_local_time"] = spark["seconds"] / local["seconds"]
        results["spark"] = spark
        print(
            f"spark local[2] {args.spark_size:,} patients: {spark['seconds']:.1f} s "
            f"({spark['patients'] / spark['seconds']:,.0f} patients/s, incl. JVM start) vs local "
            f"{local['seconds']:.1f} s: spark/local time x{spark['seconds'] / local['seconds']:.2f}"
        )
    results["ratios"] = ratios
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "population.json").write_bytes(
        orjson.dumps(results, option=orjson.OPT_INDENT_2) + b"\n"
    )
    plot(results, args.out / "population.png")
    print(f"figures: {args.out / 'population.json'}, chart: {args.out / 'population.png'}")
    if not args.keep:
        for p in args.workdir.glob("export-*"):
            shutil.rmtree(p, ignore_errors=True)


if __name__ == "__main__":
    main()
