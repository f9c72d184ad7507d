"""The Spark engine: the same per-patient step (`patient.assess_group`), grouped by Spark.

Plain files are read by ``spark.read.text`` (split across tasks), gzipped ones by
``sc.binaryFiles`` and decompressed in the Python workers with `storage.gz_blocks`, the local
engine's own reader, so a truncated or corrupt file is a problem of that file in both engines and
stops at the same line. Both go through Spark's Hadoop file systems, by URI (`storage.spark_uri`):
the driver lists the folder and never reads the files itself. The light parser (`keys.classify`)
keys each line, Spark groups the lines by patient key, and each partition runs `assess_group` per
patient. Lines that name no patient go through `patient.assess_orphan` in a first, cheap job (its
Medication resources are broadcast to the second). The rows are sorted by Spark in worklist order
and streamed to the driver (`toLocalIterator`), which writes the same files as the local engine.

Spark's text reader does not number lines, so a line of a plain file is known by its split and its
row in the split; the first job also counts each split's lines, from which the driver numbers the
problems' lines at the end.

The session (`spark_session`): under ``spark-submit`` the master and configuration are
spark-submit's (``--master``, ``--conf``, spark-defaults.conf); otherwise ``--master`` or
``spark.master`` from spark-defaults.conf, else ``local[*]``, said on stderr. The executors run
``PYSPARK_PYTHON``, else ``spark.pyspark.python``, else this interpreter (PySpark itself reads only
the environment variable outside spark-submit).
"""

from __future__ import annotations

import datetime as dt
import io
import os
import socket
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote, urlsplit

from bonemets.population.keys import Corrupt, Keyed, Orphan, classify
from bonemets.population.patient import (
    Problem,
    Row,
    Source,
    Stats,
    assess_group,
    assess_orphan,
    corrupt_file,
    corrupt_orphan,
    sort_key,
)
from bonemets.population.storage import (
    EXPORT_SUFFIXES,
    READ_BYTES,
    CorruptFile,
    StorageError,
    gz_blocks,
    spark_uri,
)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

Json = dict[str, Any]
DEFAULT_EXECUTOR_TIMEOUT = 120.0  # seconds to wait for a first executor (and after losing all)
_GZ = -1  # `block` of a gzipped file's line: its `row` is its line number
_BROKEN = -2  # `block` of a corrupt gzipped file: `row` lines were read, the value is the reason


class SparkUnavailable(Exception):
    """The cluster cannot run the job (no master, no executor, lost executors, executors that
    cannot import bonemets): the message is one line for the user."""


class MasterConflict(ValueError):
    """`--master` given under spark-submit, which already set another one."""


def under_spark_submit() -> bool:
    """Whether this process is a driver started by spark-submit (which owns its JVM)."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def _probe_standalone(master: str, timeout: float = 5.0) -> None:
    """Fail at once, in one line, when no standalone master listens (Spark itself retries for
    about a minute and logs hundreds of lines)."""
    hosts = master.removeprefix("spark://").split(",")
    errors = []
    for hp in hosts:
        host, _, port = hp.rpartition(":")
        try:
            with socket.create_connection((host, int(port)), timeout=timeout):
                return
        except (OSError, ValueError) as exc:
            errors.append(f"{hp}: {exc.strerror or exc}" if isinstance(exc, OSError) else str(exc))
    raise SparkUnavailable(f"cannot reach the Spark master {master} ({'; '.join(errors)})")


class _ConfiguredMaster:
    """The master a user configured outside the command: ``--master`` in PYSPARK_SUBMIT_ARGS,
    else ``spark.master`` in spark-defaults.conf ($SPARK_CONF_DIR, else $SPARK_HOME/conf), else
    the MASTER variable."""

    source = ""

    def __call__(self) -> str | None:
        args = os.environ.get("PYSPARK_SUBMIT_ARGS", "").split()
        for i, arg in enumerate(args[:-1]):
            if arg == "--master":
                self.source = "--master in PYSPARK_SUBMIT_ARGS"
                return args[i + 1]
        conf_dir = os.environ.get("SPARK_CONF_DIR")
        if not conf_dir:
            from pyspark.find_spark_home import _find_spark_home

            conf_dir = os.path.join(os.environ.get("SPARK_HOME") or _find_spark_home(), "conf")
        path = os.path.join(conf_dir, "spark-defaults.conf")
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as fh:
                for line in fh:
                    key, _, value = line.strip().replace("=", " ", 1).partition(" ")
                    if key == "spark.master" and value.strip():
                        self.source = f"spark.master in {path}"
                        return value.strip()
        if os.environ.get("MASTER"):
            self.source = "the MASTER variable"
            return os.environ["MASTER"]
        return None


_configured_master = _ConfiguredMaster()


@dataclass(slots=True)
class Session:
    spark: SparkSession
    note: str | None  # said to the user: how the master was chosen, when not given
    python: str  # the executors' Python


def spark_session(master: str | None = None, app_name: str = "bonemets-worklist") -> Session:
    """A SparkSession for `master` (``local[2]``, ``spark://host:7077``, ``yarn``,
    ``k8s://https://host:443``), or for spark-submit's master when run under it."""
    from pyspark import SparkConf, SparkContext
    from pyspark.sql import SparkSession

    submitted = under_spark_submit()
    if master and master.startswith("spark://") and not submitted:
        _probe_standalone(master)
    SparkContext._ensure_initialized()  # the JVM: spark-defaults.conf, spark-submit's --conf
    conf = SparkConf()
    # PySpark's own JVM launcher puts local[*] in spark.master when nothing names a master, so
    # whether one was configured is read from where it can be.
    configured = conf.get("spark.master", None) if submitted else _configured_master()
    note = None
    if submitted:
        if master and configured and master != configured:
            raise MasterConflict(
                f"spark-submit set the master to {configured}: leave --master off (or give the "
                "same one)"
            )
    elif master:
        conf.setMaster(master)
    elif configured:
        note = f"Spark master {configured} ({_configured_master.source})"
        if configured.startswith("spark://"):
            _probe_standalone(configured)
        conf.setMaster(configured)
    else:
        conf.setMaster("local[*]")
        note = "no --master and no spark.master configured: Spark runs on this machine (local[*])"
    if "PYSPARK_PYTHON" not in os.environ:
        # PySpark starts executors' Python workers with this variable alone (spark-submit sets
        # it from spark.pyspark.python; a plain `python` driver does not).
        os.environ["PYSPARK_PYTHON"] = conf.get("spark.pyspark.python", None) or sys.executable
    if not conf.contains("spark.app.name"):
        conf.setAppName(app_name)
    spark = SparkSession.builder.config(conf=conf).getOrCreate()
    return Session(spark, note, os.environ["PYSPARK_PYTHON"])


def _executors(spark: SparkSession) -> int:
    sc = spark.sparkContext
    infos = sc._jsc.sc().statusTracker().getExecutorInfos()  # the driver's among them
    return max(0, len(infos) - 1)


def wait_for_executors(spark: SparkSession, timeout: float) -> int:
    """The number of executors once there is one; `SparkUnavailable` after `timeout` seconds."""
    sc = spark.sparkContext
    if str(sc.master).startswith("local"):
        return 1
    deadline = time.monotonic() + timeout
    while True:
        n = _executors(spark)
        if n:
            return n
        if time.monotonic() > deadline:
            conf = sc.getConf()
            raise SparkUnavailable(
                f"no executor started within {timeout:.0f} s on {sc.master}: are workers running, "
                "with free cores and memory for spark.executor.cores="
                f"{conf.get('spark.executor.cores', '(default)')} and spark.executor.memory="
                f"{conf.get('spark.executor.memory', '1g')}?"
            )
        time.sleep(0.5)


class _Watchdog:
    """Cancels the jobs when every executor has been gone for `timeout` seconds (a lost cluster:
    Spark itself would wait for new ones for ever)."""

    def __init__(self, spark: SparkSession, timeout: float) -> None:
        self.spark = spark
        self.timeout = timeout
        self.fired = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> _Watchdog:
        if not str(self.spark.sparkContext.master).startswith("local"):
            self._thread = threading.Thread(target=self._watch, daemon=True)
            self._thread.start()
        return self

    def _watch(self) -> None:
        since: float | None = None
        while not self._stop.wait(1.0):
            try:
                n = _executors(self.spark)
            except Exception:  # the context is stopping
                return
            if n:
                since = None
            elif since is None:
                since = time.monotonic()
            elif time.monotonic() - since > self.timeout:
                self.fired = True
                self.spark.sparkContext.cancelAllJobs()
                return

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)


def explain(exc: BaseException, python: str | None = None) -> str:
    """One line for a Spark failure (Py4J and PySpark errors carry pages of JVM trace)."""
    text = str(exc)
    if "No module named 'bonemets'" in text or 'No module named "bonemets"' in text:
        return (
            f"the executors' Python ({python or 'PYSPARK_PYTHON'}) cannot import bonemets: "
            "install it on every node, or ship it with `bonemets spark-package` and "
            "spark-submit --py-files (docs/population.md)"
        )
    if 'No FileSystem for scheme "s3a"' in text or "S3AFileSystem not found" in text:
        return (
            "Spark has no s3a connector: add --packages org.apache.hadoop:hadoop-aws:<Spark's "
            "Hadoop version> (docs/population.md)"
        )
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    causes = [line for line in lines if line.startswith("Caused by:")]
    pick = causes[-1].removeprefix("Caused by:").strip() if causes else (lines or [repr(exc)])[0]
    return pick[:400]


# --- listing --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SparkFile:
    name: str
    uri: str

    @property
    def gz(self) -> bool:
        return self.name.endswith(".gz")


def list_spark_export(spark: SparkSession, text: str) -> list[SparkFile]:
    """The export's files, listed by Spark's Hadoop file system for the folder's URI (a plain
    path is a local one: `storage.spark_uri`)."""
    from py4j.protocol import Py4JJavaError  # type: ignore[import-untyped]

    uri = spark_uri(text)
    sc = spark.sparkContext
    jvm: Any = sc._jvm
    hconf = sc._jsc.hadoopConfiguration()
    try:
        path = jvm.org.apache.hadoop.fs.Path(uri)
        fs = path.getFileSystem(hconf)
        if not fs.exists(path):
            raise FileNotFoundError(f"{text} does not exist")
        statuses = fs.listStatus(path)
    except Py4JJavaError as exc:
        raise StorageError(f"{text}: {explain(exc)}") from exc
    files = []
    for st in statuses:
        p = st.getPath()
        name = unquote(p.getName())
        if st.isFile() and name.endswith(EXPORT_SUFFIXES):
            files.append(SparkFile(name, p.toString()))
    if not files:
        raise FileNotFoundError(f"{text} holds no *.ndjson or *.ndjson.gz files")
    return sorted(files, key=lambda f: f.name)


# --- the jobs -------------------------------------------------------------------------------------

Item = tuple[str, int, int, bytes]  # file name, block (or _GZ, _BROKEN), row, line


def _plain_items(rows: Iterable[Any]) -> Iterator[Item]:
    """Rows of ``spark.read.text`` (file name, split start, line) numbered within their split."""
    key: tuple[str, int] | None = None
    n = 0
    for name, block, value in rows:
        if (name, block) != key:
            key, n = (name, block), 0
        n += 1
        yield name, block, n, value.encode()


def _gz_items(pair: tuple[str, bytes]) -> Iterator[Item]:
    """A gzipped file's lines with their numbers, read as the local engine reads them."""
    from bonemets.population.local import _lines

    uri, data = pair
    name = unquote(urlsplit(uri).path.rsplit("/", 1)[-1])
    lineno = 0
    try:
        for lines in _lines(gz_blocks(io.BytesIO(data), READ_BYTES)):
            for line in lines:
                lineno += 1
                yield name, _GZ, lineno, line.rstrip(b"\r\n")
    except CorruptFile as exc:
        yield name, _BROKEN, lineno, str(exc).encode()


def _source(item: Item) -> Source:
    name, block, row, _ = item
    if block == _GZ:
        return Source(name, row)
    return Source(name, None, block, row)


def _first_job(items: Iterable[Item]) -> Iterator[tuple[str, Any]]:
    """Lines of no patient (Medication, corrupt lines, ...), broken files, and each split's line
    count."""
    counts: dict[tuple[str, int], int] = {}
    for item in items:
        name, block, row, line = item
        if block == _BROKEN:
            problem, st = corrupt_file(name, row, line.decode())
            yield "problems", ([problem], st)
            continue
        if block >= 0 and row > counts.get((name, block), 0):
            counts[(name, block)] = row
        if not line.strip():
            continue
        c = classify(line)
        if isinstance(c, Keyed):
            continue
        if isinstance(c, Corrupt):
            yield "problems", corrupt_orphan(_source(item), c.reason)
        else:
            assert isinstance(c, Orphan)
            med, probs, st = assess_orphan(_source(item), c.resource)
            if med is not None:
                yield "med", med
            yield "problems", (probs, st)
    yield "counts", counts


def _keyed(items: Iterable[Item]) -> Iterator[tuple[str, Item]]:
    for item in items:
        if item[1] != _BROKEN and item[3].strip():
            fast = classify(item[3])
            if isinstance(fast, Keyed):
                yield fast.key, item


@dataclass(slots=True)
class SparkResult:
    rows: Iterator[Row]
    stats: Stats
    problems: list[Problem]
    partitions: int
    executors: int = 0
    files: int = 0
    notes: list[str] = field(default_factory=list)


def number_lines(problems: list[Problem], counts: dict[tuple[str, int], int]) -> None:
    """Fill in the line numbers of problems known by split and row, from each split's count."""
    base: dict[tuple[str, int], int] = {}
    seen: dict[str, int] = {}
    for name, block in sorted(counts):
        base[(name, block)] = seen.get(name, 0)
        seen[name] = base[(name, block)] + counts[(name, block)]
    for p in problems:
        if p.line is None and p.row and p.file is not None:
            p.line = base.get((p.file, p.block), 0) + p.row


def run_spark(
    export: str | os.PathLike[str],
    as_of: dt.date,
    spark: SparkSession,
    partitions: int | None = None,
    *,
    executor_timeout: float = DEFAULT_EXECUTOR_TIMEOUT,
    files: list[SparkFile] | None = None,
) -> SparkResult:
    """Group and assess with Spark. `rows` must be consumed while `spark` is running; failures
    of the cluster raise `SparkUnavailable` (also while `rows` is consumed)."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    files = files if files is not None else list_spark_export(spark, os.fspath(export))
    sc = spark.sparkContext
    executors = wait_for_executors(spark, executor_timeout)
    parts = []
    plain = [f.uri for f in files if not f.gz]
    gz = [f.uri for f in files if f.gz]
    if plain:
        df = spark.read.text(plain).select(
            F.col("_metadata.file_name"), F.col("_metadata.file_block_start"), F.col("value")
        )
        parts.append(df.rdd.mapPartitions(_plain_items))
    if gz:
        parts.append(sc.binaryFiles(",".join(gz), minPartitions=len(gz)).flatMap(_gz_items))
    items = parts[0] if len(parts) == 1 else sc.union(parts)
    stats = Stats()
    problems: list[Problem] = []
    meds: dict[str, Json] = {}
    counts: dict[tuple[str, int], int] = {}
    python = os.environ.get("PYSPARK_PYTHON")
    with _guard(spark, executor_timeout, python):
        # Job 1: lines without a patient: few, to the driver.
        for kind, value in items.mapPartitions(_first_job).collect():
            if kind == "med":
                meds[value["id"]] = value
            elif kind == "problems":
                problems += value[0]
                stats.add(value[1])
            else:
                counts.update(value)
    meds_bc = sc.broadcast(meds)
    n = partitions or max(2, sc.defaultParallelism * 4)

    def assess_partition(groups: Iterable[tuple[str, Iterable[Item]]]) -> Iterator[Any]:
        part = Stats()
        part_problems: list[Problem] = []
        for key, group in groups:
            result = assess_group(key, [(_source(it), it[3]) for it in group], meds_bc.value, as_of)
            part.add(result.stats)
            part_problems += result.problems
            if result.row is not None:
                yield ("row", result.row)
        yield ("stats", (part, part_problems))

    # Job 2: group by patient, assess each group in the Python workers.
    out = items.mapPartitions(_keyed).groupByKey(n).mapPartitions(assess_partition)
    out.persist(StorageLevel.MEMORY_AND_DISK)
    with _guard(spark, executor_timeout, python):
        for _, (st, probs) in out.filter(lambda x: x[0] == "stats").collect():
            stats.add(st)
            problems += probs
    # Executors that registered after the first one (a busy worker is slower to start its JVM)
    # took part in the jobs too: the count reported is the one at the end, not the first seen.
    executors = max(executors, _executors(spark))
    rows_rdd = out.filter(lambda x: x[0] == "row").map(lambda x: x[1]).sortBy(sort_key, True, n)
    number_lines(problems, counts)
    problems.sort(key=Problem.sort_key)

    def rows() -> Iterator[Row]:
        try:
            with _guard(spark, executor_timeout, python):
                for row in rows_rdd.toLocalIterator():
                    yield tuple(row)
        finally:
            try:
                out.unpersist()
                meds_bc.unpersist()
            except Exception:  # the context is gone: nothing left to free
                pass

    return SparkResult(rows(), stats, problems, n, executors, len(files))


@contextmanager
def _guard(spark: SparkSession, timeout: float, python: str | None) -> Iterator[None]:
    with _Watchdog(spark, timeout) as dog, _translated(dog, python):
        yield


class _translated:
    """Spark failures -> `SparkUnavailable` with one line."""

    def __init__(self, watchdog: _Watchdog, python: str | None) -> None:
        self.watchdog = watchdog
        self.python = python

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> Literal[False]:
        if exc is None or isinstance(exc, SparkUnavailable | GeneratorExit):
            return False
        if self.watchdog.fired:
            raise SparkUnavailable(
                f"lost every executor for {self.watchdog.timeout:.0f} s: the cluster is gone "
                "or its workers stopped"
            ) from exc
        if _is_spark_error(exc):
            raise SparkUnavailable(explain(exc, self.python)) from exc
        return False


def _is_spark_error(exc: BaseException) -> bool:
    module = type(exc).__module__ or ""
    return module.startswith(("py4j", "pyspark")) or isinstance(exc, ConnectionError)


__all__ = [
    "DEFAULT_EXECUTOR_TIMEOUT",
    "MasterConflict",
    "SparkResult",
    "SparkUnavailable",
    "list_spark_export",
    "run_spark",
    "spark_session",
    "under_spark_submit",
]
