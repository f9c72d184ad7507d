"""The Spark engine's plumbing that needs no JVM: where the master comes from, one-line causes,
and line numbers from split counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from bonemets.population.patient import Problem
from bonemets.population.spark import _configured_master, explain, number_lines


def test_line_numbers_come_from_the_line_counts_of_the_splits_before() -> None:
    counts = {("a.ndjson", 0): 3, ("a.ndjson", 4096): 2, ("a.ndjson", 8192): 7, ("b.ndjson", 0): 5}
    p1 = Problem("corrupt_line", "a.ndjson", None, None, None, "x", block=8192, row=1)
    p2 = Problem("corrupt_line", "b.ndjson", None, None, None, "x", block=0, row=5)
    p3 = Problem("corrupt_line", "a.ndjson", None, None, None, "x", block=4096, row=2)
    known = Problem("corrupt_line", "c.ndjson.gz", 17, None, None, "x")  # gzip: numbered already
    number_lines([p1, p2, p3, known], counts)
    assert (p1.line, p2.line, p3.line, known.line) == (6, 5, 5, 17)


def test_the_configured_master_is_read_where_a_user_sets_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PYSPARK_SUBMIT_ARGS", raising=False)
    monkeypatch.delenv("MASTER", raising=False)
    monkeypatch.setenv("SPARK_CONF_DIR", str(tmp_path))
    assert _configured_master() is None  # no spark-defaults.conf: nothing configured
    (tmp_path / "spark-defaults.conf").write_text(
        "# comment\nspark.executor.memory 2g\nspark.master   spark://head:7077\n"
    )
    assert _configured_master() == "spark://head:7077"
    assert _configured_master.source == f"spark.master in {tmp_path / 'spark-defaults.conf'}"
    monkeypatch.setenv("PYSPARK_SUBMIT_ARGS", "--master yarn --conf a=b pyspark-shell")
    assert _configured_master() == "yarn"


def test_spark_failures_are_one_line() -> None:
    trace = (
        "An error occurred while calling o42.collect.\n"
        ": org.apache.spark.SparkException: Job aborted due to stage failure\n"
        "\tat org.apache.spark.scheduler.DAGScheduler...\n"
        "Caused by: java.io.IOException: first\n"
        "Caused by: java.net.ConnectException: Connection refused\n"
    )
    assert explain(RuntimeError(trace)) == "java.net.ConnectException: Connection refused"
    no_module = RuntimeError("...\nModuleNotFoundError: No module named 'bonemets'\n...")
    message = explain(no_module, "/usr/bin/python3")
    assert "/usr/bin/python3" in message and "bonemets spark-package" in message
    assert "\n" not in message
    s3a = explain(RuntimeError('No FileSystem for scheme "s3a"'))
    assert "--packages org.apache.hadoop:hadoop-aws" in s3a
