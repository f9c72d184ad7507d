"""`bonemets worklist EXPORT_DIR` and `bonemets synth-export OUT_DIR`: population worklists."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from bonemets.faces.cli.common import JsonOption, console, err_console, fail, print_json

_ENGINES = ("local", "spark")


def _date(value: str | None, field: str) -> dt.date:
    if value is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        fail(field, f"{value!r} is not a date (YYYY-MM-DD)")


def register(app: typer.Typer) -> None:
    @app.command("worklist")
    def worklist_command(
        export_dir: Annotated[
            str,
            typer.Argument(
                help="Folder of a FHIR Bulk Data export (*.ndjson[.gz]): a local path or a URI "
                "(file://, s3a://, gs://, abfss://, hdfs://)."
            ),
        ],
        as_of: Annotated[str, typer.Option("--as-of", help="Assessment date, YYYY-MM-DD.")],
        out: Annotated[
            str,
            typer.Option(
                "--out",
                help="Result folder (a local path or a URI): worklist.parquet/.csv, "
                "summary.json/.png, problems.ndjson.",
            ),
        ],
        engine: Annotated[str, typer.Option(help="local or spark.")] = "local",
        master: Annotated[
            str | None,
            typer.Option(
                help="Spark master (engine spark): local[2], spark://host:7077, yarn, "
                "k8s://https://host:443. Under spark-submit, spark-submit's own. Otherwise "
                "[default: spark.master of spark-defaults.conf, else local[*]]."
            ),
        ] = None,
        executor_timeout: Annotated[
            float,
            typer.Option(
                help="Engine spark: seconds to wait for a first executor, and after losing all."
            ),
        ] = 120.0,
        workers: Annotated[
            int | None,
            typer.Option(help="Worker processes of the local engine [default: one per CPU]."),
        ] = None,
        bucket_mb: Annotated[
            float | None,
            typer.Option(help="Target size of a spill bucket (local engine), MB [default: 16]."),
        ] = None,
        tmp_dir: Annotated[
            Path | None, typer.Option(help="Where the local engine spills (default: system temp).")
        ] = None,
        progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
        as_json: bool = JsonOption,
    ) -> None:
        """Assess every patient of a Bulk Data export on one day: a worklist, most urgent first."""
        from bonemets.population.storage import StorageError, is_local, local_path
        from bonemets.population.worklist import run_worklist

        day = _date(as_of, "--as-of")
        if engine not in _ENGINES:
            fail("--engine", f"{engine!r} is not one of {', '.join(_ENGINES)}")
        if master is not None and engine != "spark":
            fail("--master", "only used with --engine spark")
        try:
            if is_local(export_dir) and not local_path(export_dir).is_dir():
                fail("EXPORT_DIR", f"{export_dir} is not a folder")
            if is_local(out) and local_path(out).exists() and not local_path(out).is_dir():
                fail("--out", f"{out} exists and is not a folder")
        except StorageError as exc:
            fail("EXPORT_DIR", str(exc))
        if not executor_timeout > 0:
            fail("--executor-timeout", "must be positive")
        if workers is not None and workers < 1:
            fail("--workers", "must be at least 1")
        if bucket_mb is not None and not bucket_mb > 0:
            fail("--bucket-mb", "must be positive")
        from bonemets.population.local import DEFAULT_BUCKET_BYTES

        bucket_bytes = DEFAULT_BUCKET_BYTES if bucket_mb is None else int(bucket_mb * (1 << 20))
        try:
            result = run_worklist(
                export_dir,
                day,
                out,
                engine="spark" if engine == "spark" else "local",
                workers=workers,
                bucket_bytes=max(1, bucket_bytes),
                master=master,
                tmp_dir=tmp_dir,
                show_progress=progress and not as_json,
                executor_timeout=executor_timeout,
                notify=lambda text: err_console.print(f"note: {escape(text)}", highlight=False),
            )
        except FileNotFoundError as exc:
            fail("EXPORT_DIR", str(exc))
        except StorageError as exc:
            fail("storage", str(exc))
        except Exception as exc:
            from bonemets.population.spark import MasterConflict, SparkUnavailable

            if isinstance(exc, MasterConflict):
                fail("--master", str(exc))
            if isinstance(exc, SparkUnavailable):
                fail("spark", str(exc))
            raise
        s = result.summary
        if as_json:
            print_json(s)
            return
        table = Table(title=f"Worklist on {s['as_of']}: {s['patients']:,} patients")
        table.add_column("level")
        table.add_column("patients", justify="right")
        for level, n in s["levels"].items():
            table.add_row(level, f"{n:,}")
        console.print(table)
        gaps = s["gaps"]
        console.print(
            f"BMA overdue {gaps['bma_overdue']:,}, due {gaps['bma_due']:,}, not started "
            f"{gaps['bma_not_started']:,}; monitoring overdue "
            + ", ".join(f"{k} {v:,}" for k, v in gaps["overdue_monitoring"].items())
        )
        if s["refused_patients"] or s["corrupt_lines"] or s["corrupt_files"]:
            err_console.print(
                f"[bold red]{s['refused_patients']:,} patient(s) refused[/], "
                f"{s['corrupt_lines']:,} corrupt line(s) skipped, "
                f"[bold red]{s['corrupt_files']:,} file(s) unreadable to their end[/]: "
                "see problems.ndjson",
                highlight=False,
            )
            for p in s["first_problems"][:10]:
                where = f"{p['file']} line {p['line']}: " if p["file"] else ""
                who = f"patient {p['patient']}: " if p["patient"] else ""
                err_console.print(
                    f"  {p['kind']}: {where}{who}{p['reason'][:160]}", highlight=False
                )
        console.print(f"Written to {result.out} in {result.seconds:.1f} s", highlight=False)

    @app.command("spark-package")
    def spark_package_command(
        out: Annotated[
            Path, typer.Argument(help="The zip to write, e.g. dist/bonemets-spark.zip.")
        ] = Path("dist/bonemets-spark.zip"),
    ) -> None:
        """Zip the bonemets package for spark-submit --py-files (executors that have its
        dependencies but not bonemets itself)."""
        from bonemets.population.package import build_zip

        path, files = build_zip(out)
        console.print(
            f"{path} ({files} files): spark-submit --py-files {path} ...", highlight=False
        )

    @app.command("synth-export")
    def synth_export_command(
        out_dir: Annotated[Path, typer.Argument(help="Folder to write the NDJSON files to.")],
        patients: Annotated[int, typer.Option(help="Number of patients.")] = 1000,
        seed: Annotated[int, typer.Option(help="Random seed: same seed, same files.")] = 1,
        as_of: Annotated[
            str | None, typer.Option("--as-of", help="Reference date (default today).")
        ] = None,
        gzip: Annotated[bool, typer.Option("--gzip", help="Write .ndjson.gz files.")] = False,
        shards: Annotated[int, typer.Option(help="Independent generators (2 files each).")] = 2,
        files_per_type: Annotated[int, typer.Option(help="Files per type and shard.")] = 2,
        workers: Annotated[int, typer.Option(help="Processes.")] = 2,
        as_json: bool = JsonOption,
    ) -> None:
        """Write a realistic synthetic FHIR Bulk Data export (fictional patients)."""
        from bonemets.population.synth import synth_export

        day = _date(as_of, "--as-of")
        for name, value, low in (
            ("--patients", patients, 0),
            ("--shards", shards, 1),
            ("--files-per-type", files_per_type, 1),
            ("--workers", workers, 1),
        ):
            if value < low:
                fail(name, f"must be at least {low}")
        if out_dir.exists() and not out_dir.is_dir():
            fail("OUT_DIR", f"{out_dir} exists and is not a folder")
        if out_dir.is_dir() and any(out_dir.glob("*.ndjson*")):
            fail("OUT_DIR", f"{out_dir} already holds NDJSON files")
        result = synth_export(
            out_dir,
            patients,
            seed,
            as_of=day,
            shards=shards,
            files_per_type=files_per_type,
            gz=gzip,
            workers=workers,
        )
        info = {
            "patients": result.patients,
            "resources": result.resources,
            "files": [str(p) for p in result.files],
            "seconds": round(result.seconds, 3),
        }
        if as_json:
            print_json(info)
            return
        console.print(
            f"{result.patients:,} patients, {result.resources:,} resources in "
            f"{len(result.files)} files, {result.seconds:.1f} s "
            f"({result.resources / max(result.seconds, 1e-9):,.0f} resources/s)",
            highlight=False,
        )
