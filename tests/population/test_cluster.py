"""`bonemets worklist --engine spark` on a real standalone cluster (the installed pyspark's own
Master and two Workers on loopback), run exactly as a user types it, with and without
spark-submit; its rows compared with the local engine's. A worker killed mid-run, a lost cluster,
no executor, a wrong master.

Marked `cluster` and grouped on one xdist worker (`scripts/test` runs ``--dist loadgroup``): the
cluster's JVMs are started once for the module."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq  # type: ignore[import-untyped]
import pytest

from bonemets.population import synth_export

from .cluster import Cluster, base_env, free_port, start_cluster
from .helpers import worklist

pytestmark = [pytest.mark.cluster, pytest.mark.xdist_group("spark-cluster")]

BIN = Path(sys.executable).parent  # the environment bonemets is installed in


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    missing = [name for name in ("java",) if shutil.which(name) is None]
    try:
        import pyspark  # noqa: F401
    except ImportError:
        missing.append("pyspark")
    if missing:
        why = f"the Spark cluster tests need {' and '.join(missing)}"
        if os.environ.get("BONEMETS_REQUIRE_SPARK_CLUSTER") == "1":
            pytest.fail(f"BONEMETS_REQUIRE_SPARK_CLUSTER=1 but {why}")
        pytest.skip(why)
    c = start_cluster(tmp_path_factory.mktemp("cluster"), workers=2)
    yield c
    c.stop()


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory, as_of: dt.date) -> Path:
    """Gzipped and plain files, enough patients for several tasks per executor."""
    root = tmp_path_factory.mktemp("cluster-export")
    synth_export(root / "e", 300, 5, as_of=as_of, workers=1, files_per_type=2)
    gz = root / "gz"
    synth_export(gz, 100, 6, as_of=as_of, workers=1, files_per_type=1, gz=True)
    for p in gz.iterdir():  # two generators' patients together: their ids differ by seed
        p.rename(root / "e" / f"gz-{p.name}")
    return root / "e"


@pytest.fixture(scope="module")
def local_rows(export: Path, tmp_path_factory: pytest.TempPathFactory, as_of: dt.date) -> Any:
    return worklist(export, tmp_path_factory.mktemp("local"), as_of, workers=1)[0]


def user_env(**extra: str) -> dict[str, str]:
    """A user's shell with the environment activated: no PYSPARK_* or SPARK_* settings."""
    env = base_env()
    env.pop("SPARK_HOME")
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env | extra


def bonemets(*args: str, env: dict[str, str] | None = None, timeout: float = 600) -> Any:
    return subprocess.run(
        [str(BIN / "bonemets"), *args],
        env=env or user_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def worklist_args(export: Path, out: Path, as_of: dt.date) -> list[str]:
    return ["worklist", str(export), "--as-of", as_of.isoformat(), "--out", str(out)]


def rows_of(out: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = pq.read_table(out / "worklist.parquet").to_pylist()
    return rows


def test_the_cli_on_a_standalone_cluster_gives_the_local_rows(
    cluster: Cluster, export: Path, local_rows: Any, tmp_path: Path, as_of: dt.date
) -> None:
    out = tmp_path / "out"
    proc = bonemets(
        *worklist_args(export, out, as_of), "--engine", "spark", "--master", cluster.url, "--json"
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = orjson.loads(proc.stdout)
    assert summary["patients"] == 400 and summary["refused_patients"] == 0
    assert rows_of(out) == local_rows
    written = orjson.loads((out / "summary.json").read_bytes())
    assert written["master"] == cluster.url and written["executors"] == 2
    # The executors ran the interpreter bonemets is installed in (PYSPARK_PYTHON was unset).
    assert Path(written["executor_python"]).parent == BIN


def test_spark_submit_owns_the_master_and_ships_the_zip(
    cluster: Cluster, export: Path, local_rows: Any, tmp_path: Path, as_of: dt.date
) -> None:
    """The documented recipe: `bonemets spark-package`, then spark-submit with --py-files and no
    --master for the application."""
    env = user_env()
    zip_path = tmp_path / "bonemets-spark.zip"
    made = bonemets("spark-package", str(zip_path), env=env)
    assert made.returncode == 0, made.stderr
    main = subprocess.run(
        [sys.executable, "-c", "import bonemets.faces.cli.main as m; print(m.__file__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            str(BIN / "spark-submit"),
            *("--master", cluster.url, "--py-files", str(zip_path)),
            *("--conf", "spark.app.name=bonemets-submitted"),
            main,
            *worklist_args(export, out, as_of),
            *("--engine", "spark", "--no-progress"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert rows_of(out) == local_rows
    written = orjson.loads((out / "summary.json").read_bytes())
    assert written["master"] == cluster.url  # spark-submit's, not a local[*] put in its place
    # Under spark-submit, a different --master for the application is refused.
    proc = subprocess.run(
        [
            str(BIN / "spark-submit"),
            *("--master", "local[1]", main),
            *worklist_args(export, tmp_path / "x", as_of),
            *("--engine", "spark", "--master", cluster.url),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    said = proc.stdout + proc.stderr  # spark-submit passes the driver's stderr to its stdout
    assert proc.returncode == 2 and "error: --master: spark-submit set the master" in said
    assert not (tmp_path / "x").exists()


def test_spark_defaults_conf_names_the_master_and_the_executors_python(
    cluster: Cluster, export: Path, local_rows: Any, tmp_path: Path, as_of: dt.date
) -> None:
    marker = tmp_path / "python-used"
    wrapper = tmp_path / "python-wrapper"
    wrapper.write_text(f'#!/bin/sh\necho "$$" >> {marker}\nexec {sys.executable} "$@"\n')
    wrapper.chmod(0o755)
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "spark-defaults.conf").write_text(
        f"spark.master {cluster.url}\nspark.pyspark.python {wrapper}\n"
    )
    out = tmp_path / "out"
    proc = bonemets(
        *worklist_args(export, out, as_of),
        "--engine",
        "spark",
        "--no-progress",
        env=user_env(SPARK_CONF_DIR=str(conf)),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    source = f"spark.master in {conf / 'spark-defaults.conf'}"
    assert f"Spark master {cluster.url} ({source})" in proc.stderr.replace("\n", "")
    assert marker.exists()  # the executors' Python workers were started through it
    assert rows_of(out) == local_rows


def test_no_executor_within_the_timeout_is_one_line_and_exit_2(
    cluster: Cluster, export: Path, tmp_path: Path, as_of: dt.date
) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "spark-defaults.conf").write_text("spark.executor.memory 64g\n")  # no worker has it
    out = tmp_path / "out"
    start = time.monotonic()
    proc = bonemets(
        *worklist_args(export, out, as_of),
        *("--engine", "spark", "--master", cluster.url, "--executor-timeout", "5"),
        env=user_env(SPARK_CONF_DIR=str(conf)),
    )
    assert proc.returncode == 2, proc.stderr[-3000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error")]
    assert len(errors) == 1 and "no executor started within 5 s" in errors[0]
    assert "spark.executor.memory=64g" in errors[0]
    assert not out.exists()
    assert time.monotonic() - start < 120


def test_a_wrong_master_port_is_one_line_and_exit_2_at_once(
    export: Path, tmp_path: Path, as_of: dt.date
) -> None:
    out = tmp_path / "out"
    start = time.monotonic()
    proc = bonemets(
        *worklist_args(export, out, as_of),
        *("--engine", "spark", "--master", f"spark://127.0.0.1:{free_port()}"),
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "cannot reach the Spark master" in proc.stderr
    assert time.monotonic() - start < 30 and not out.exists()


def _kill_when_running(
    cluster: Cluster, proc: subprocess.Popen[str], names: list[str], before: set[Path]
) -> None:
    """Kill the workers `names` once the first has run a task of a stage after the first job in
    an application that is not in `before` (this run's)."""
    pattern = re.compile(r"Running task \S+ in stage [1-9]")
    deadline = time.monotonic() + 300
    while not pattern.search(cluster.executor_logs(names[0], before)):
        assert proc.poll() is None, "the run ended before the worker ran a task of job 2"
        assert time.monotonic() < deadline, "the worker never ran a task"
        time.sleep(0.2)
    for name in names:
        cluster.kill_worker(name)


def test_a_worker_killed_mid_run_still_gives_the_same_rows(
    cluster: Cluster, export: Path, local_rows: Any, tmp_path: Path, as_of: dt.date
) -> None:
    out = tmp_path / "out"
    before = cluster.apps("worker2")
    proc = subprocess.Popen(
        [
            str(BIN / "bonemets"),
            *worklist_args(export, out, as_of),
            "--engine",
            "spark",
            "--master",
            cluster.url,
            "--no-progress",
        ],
        env=user_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _kill_when_running(cluster, proc, ["worker2"], before)
        _, stderr = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
        cluster.start_worker("worker2")  # for the tests after this one
    assert proc.returncode == 0, stderr[-3000:]
    assert rows_of(out) == local_rows


def test_a_lost_cluster_is_one_line_and_exit_2(
    cluster: Cluster, export: Path, tmp_path: Path, as_of: dt.date
) -> None:
    out = tmp_path / "out"
    before = cluster.apps("worker1")
    proc = subprocess.Popen(
        [
            str(BIN / "bonemets"),
            *worklist_args(export, out, as_of),
            "--engine",
            "spark",
            "--master",
            cluster.url,
            "--executor-timeout",
            "5",
        ],
        env=user_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _kill_when_running(cluster, proc, ["worker1", "worker2"], before)
        _, stderr = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 2, stderr[-3000:]
    errors = [line for line in stderr.splitlines() if line.startswith("error")]
    assert len(errors) == 1 and "lost every executor" in errors[0], stderr[-3000:]
    assert not out.exists()
