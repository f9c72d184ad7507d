"""Storage by URI and damaged files: a real S3-compatible store (moto's server on loopback) for the
local engine and the writer; a truncated gzip file on both engines; what a failed run leaves."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import os
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pyarrow.fs as pafs  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bonemets import ENGINE_VERSION
from bonemets.core.knowledge import rule_set_id
from bonemets.population import run_worklist
from bonemets.population import worklist as worklist_module
from bonemets.population.storage import CorruptFile, gz_blocks, location, spark_uri

from .helpers import worklist


def _problems(data: bytes) -> list[Any]:
    return [orjson.loads(x) for x in data.splitlines()]


# --- the gzip reader ------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.binary(max_size=3000), min_size=1, max_size=4),
    st.integers(min_value=1, max_value=5000),
)
def test_gz_blocks_reads_what_gzip_wrote_one_or_more_members(
    members: list[bytes], read_bytes: int
) -> None:
    data = b"".join(gzip.compress(m) for m in members)
    assert b"".join(gz_blocks(io.BytesIO(data), read_bytes)) == b"".join(members)


def test_a_truncated_gzip_yields_its_start_then_says_so_the_same_for_any_read_size() -> None:
    text = b"".join(b'{"n": %d, "pad": "%s"}\n' % (i, b"x" * (i % 50)) for i in range(20_000))
    data = gzip.compress(text)
    cut = data[: len(data) // 2]
    outs = []
    for read_bytes in (1 << 10, 1 << 16, 1 << 20):
        got = []
        with pytest.raises(CorruptFile, match="truncated"):
            for block in gz_blocks(io.BytesIO(cut), read_bytes):
                got.append(block)
        outs.append(b"".join(got))
    assert outs[0] == outs[1] == outs[2]
    assert 0 < len(outs[0]) < len(text) and text.startswith(outs[0])
    # Not gzip at all: corrupt from the first byte.
    with pytest.raises(CorruptFile, match="corrupt"):
        list(gz_blocks(io.BytesIO(b"this is not gzip" * 10)))
    assert zlib.crc32(outs[0])  # something was read


# --- a truncated gzip file on both engines --------------------------------------------------------


@pytest.fixture(scope="module")
def truncated(small_export: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The small export gzipped, one Observation file cut in the middle of its stream."""
    dst = tmp_path_factory.mktemp("truncated") / "export"
    dst.mkdir()
    for p in sorted(small_export.iterdir()):
        (dst / (p.name + ".gz")).write_bytes(gzip.compress(p.read_bytes(), mtime=0))
    victim = "Observation.000.ndjson.gz"
    data = (dst / victim).read_bytes()
    (dst / victim).write_bytes(data[: len(data) // 2])
    return dst, victim


def test_a_truncated_gzip_is_a_problem_of_its_file_and_the_rest_is_processed(
    truncated: tuple[Path, str], small_export: Path, tmp_path: Path, as_of: dt.date
) -> None:
    export, victim = truncated
    whole = worklist(small_export, tmp_path / "whole", as_of, workers=1)
    runs = [worklist(export, tmp_path / f"w{w}", as_of, workers=w) for w in (1, 2)]
    assert runs[0] == runs[1]
    rows, summary = runs[0]
    assert summary["corrupt_files"] == 1 and summary["patients"] == whole[1]["patients"] == 120
    assert summary["lines"] < whole[1]["lines"]  # the cut half is missing, nothing else
    problems = _problems((tmp_path / "w1" / "problems.ndjson").read_bytes())
    broken = [p for p in problems if p["kind"] == "corrupt_file"]
    assert len(broken) == 1 and broken[0]["file"] == victim
    assert "truncated gzip" in broken[0]["reason"] and "may be incomplete" in broken[0]["reason"]
    # Patients whose observations were all in the lost half differ; every other file was read.
    assert {r["patient_id"] for r in rows} == {r["patient_id"] for r in whole[0]}


def test_spark_stops_a_truncated_gzip_where_the_local_engine_does(
    truncated: tuple[Path, str], tmp_path: Path, spark: Any, as_of: dt.date
) -> None:
    export, _ = truncated
    local = worklist(export, tmp_path / "local", as_of, workers=1)
    on_spark = worklist(export, tmp_path / "spark", as_of, engine="spark", spark=spark)
    assert on_spark == local
    assert (tmp_path / "spark" / "problems.ndjson").read_bytes() == (
        tmp_path / "local" / "problems.ndjson"
    ).read_bytes()


def test_spark_reads_file_uris_whatever_the_default_file_system(
    small_export: Path, tmp_path: Path, spark: Any, as_of: dt.date
) -> None:
    """A bare path is a local path even where fs.defaultFS names another file system; a file://
    URI is read as written."""
    hconf = spark.sparkContext._jsc.hadoopConfiguration()
    before = hconf.get("fs.defaultFS")
    hconf.set("fs.defaultFS", "hdfs://127.0.0.1:1")  # nothing listens there
    try:
        by_uri = worklist(
            spark_uri(str(small_export)), tmp_path / "uri", as_of, engine="spark", spark=spark
        )
        bare = worklist(small_export, tmp_path / "bare", as_of, engine="spark", spark=spark)
    finally:
        hconf.set("fs.defaultFS", before)
    local = worklist(small_export, tmp_path / "local", as_of, workers=1)
    assert by_uri == bare == local
    assert spark_uri(str(small_export)).startswith("file:///")


# --- an S3-compatible object store ----------------------------------------------------------------


@pytest.fixture(scope="module")
def s3() -> Iterator[str]:
    """moto's S3 server on loopback, with a bucket; the process's AWS settings point at it."""
    server_mod = pytest.importorskip("moto.server")
    boto3 = pytest.importorskip("boto3")
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": f"http://{host}:{port}",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"]).create_bucket(Bucket="bonemets")
        yield "bonemets"
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        server.stop()


def _upload(export: Path, bucket: str, prefix: str) -> None:
    fs, _ = pafs.FileSystem.from_uri(f"s3://{bucket}")  # the endpoint from AWS_ENDPOINT_URL
    for p in sorted(export.iterdir()):
        with fs.open_output_stream(f"{bucket}/{prefix}/{p.name}") as out:
            out.write(p.read_bytes())


def test_the_local_engine_reads_and_writes_an_s3_compatible_store(
    s3: str, small_export: Path, tmp_path: Path, as_of: dt.date
) -> None:
    _upload(small_export, s3, "exports/small")
    local = worklist(small_export, tmp_path / "local", as_of, workers=1)
    for scheme, workers in (("s3a", 2), ("s3", 1)):
        out = f"{scheme}://{s3}/worklists/{scheme}"
        result = run_worklist(
            f"{scheme}://{s3}/exports/small", as_of, out, workers=workers, chart=True
        )
        assert result.out == out
        where = location(out)
        names = {i.base_name for i in where.fs.get_file_info(pafs.FileSelector(where.path))}
        assert names == {
            "worklist.parquet",
            "worklist.csv",
            "summary.json",
            "summary.png",
            "problems.ndjson",
        }
        table = pq.read_table(where.join("worklist.parquet"), filesystem=where.fs)
        meta = table.schema.metadata
        assert meta[b"bonemets.as_of"] == as_of.isoformat().encode()
        assert meta[b"bonemets.engine_version"] == ENGINE_VERSION.encode()
        assert meta[b"bonemets.rule_set"] == rule_set_id().encode()
        rows = table.to_pylist()
        assert {r["as_of"] for r in rows} == {as_of}
        assert {r["rule_set"] for r in rows} == {rule_set_id()}
        drop = ("as_of", "engine_version", "rule_set")
        assert [{k: v for k, v in r.items() if k not in drop} for r in rows] == [
            {k: v for k, v in r.items() if k not in drop} for r in local[0]
        ]
        with where.fs.open_input_stream(where.join("summary.json")) as fh:
            summary = orjson.loads(fh.read())
        assert summary["patients"] == 120 and summary["as_of"] == as_of.isoformat()


def test_a_missing_object_store_folder_is_not_found(s3: str, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        run_worklist(f"s3a://{s3}/no/such/export", dt.date(2025, 6, 30), tmp_path / "out")
    assert not (tmp_path / "out").exists()


# --- failed runs ----------------------------------------------------------------------------------


def test_a_failed_run_leaves_no_folder_and_keeps_a_folder_it_did_not_make(
    small_export: Path, tmp_path: Path, as_of: dt.date, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(worklist_module, "write_problems", broken)
    out = tmp_path / "new" / "out"
    with pytest.raises(OSError, match="disk full"):
        run_worklist(small_export, as_of, out, workers=1)
    assert not out.exists()  # the run made it and removed it
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "notes.txt").write_text("mine")
    with pytest.raises(OSError, match="disk full"):
        run_worklist(small_export, as_of, kept, workers=1)
    assert sorted(p.name for p in kept.iterdir()) == ["notes.txt"]
