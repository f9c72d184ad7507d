"""Where an export is read from and a worklist written to: a local path or a URI.

Both engines name storage the way Spark and Hadoop do: a local path (``/data/export``, relative or
absolute), ``file:///data/export``, ``s3a://bucket/prefix`` (also ``s3://``), ``gs://bucket/prefix``,
``abfss://container@account.dfs.core.windows.net/prefix`` and ``hdfs://namenode/path``. A path
without a scheme is always a local path, as typed on the command line, even where Spark's
``fs.defaultFS`` names another file system: write the scheme to mean that one.

The local engine reads and both engines write through PyArrow's file systems (credentials and
endpoints from the usual environment: ``AWS_*`` including ``AWS_ENDPOINT_URL``,
``GOOGLE_APPLICATION_CREDENTIALS``, ``AZURE_STORAGE_*``; HDFS needs libhdfs and ``CLASSPATH``).
The Spark engine reads through Spark's own readers (`spark.uri`), with the cluster's Hadoop
configuration.

A gzipped file is decompressed by `gz_blocks` in both engines, so a truncated or corrupt one
stops at the same line in both, and is reported as a problem of that file.
"""

from __future__ import annotations

import contextlib
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.fs as pafs  # type: ignore[import-untyped]

EXPORT_SUFFIXES = (".ndjson", ".ndjson.gz")
READ_BYTES = 1 << 20  # both engines decompress gzip this much at a time (see `gz_blocks`)
# Hadoop's names for the object stores -> PyArrow's.
_ARROW_SCHEME = {"s3a": "s3", "s3n": "s3", "gcs": "gs", "abfs": "abfs", "abfss": "abfss"}
REMOTE_SCHEMES = ("s3", "s3a", "s3n", "gs", "gcs", "abfs", "abfss", "hdfs", "viewfs")


class StorageError(Exception):
    """A location that cannot be reached or used; the message is one line for the user."""


class CorruptFile(Exception):
    """A file that cannot be read to its end (a truncated or corrupt gzip stream)."""


def scheme_of(location: str) -> str:
    """The URI scheme of `location`, lower case; "" for a plain local path (including a Windows
    drive letter)."""
    parts = urlsplit(location)
    return parts.scheme.lower() if len(parts.scheme) > 1 else ""


def is_local(location: str) -> bool:
    return scheme_of(location) in ("", "file")


def local_path(location: str) -> Path:
    """The local path of a plain path or a ``file:`` URI."""
    if scheme_of(location) == "file":
        parts = urlsplit(location)
        if parts.netloc not in ("", "localhost"):
            raise StorageError(f"{location}: a file: URI names no host (file:///path)")
        from urllib.parse import unquote

        return Path(unquote(parts.path))
    return Path(location)


def spark_uri(location: str) -> str:
    """The URI Spark is given: a plain path becomes an absolute ``file:`` URI (whatever Spark's
    default file system), anything else is passed as written."""
    if scheme_of(location) == "":
        return Path(location).resolve().as_uri()
    return location


@dataclass(frozen=True, slots=True)
class Location:
    """A folder on a file system: `fs` and the folder's `path` in it, and the text given."""

    text: str
    fs: Any  # pyarrow.fs.FileSystem
    path: str

    @property
    def local(self) -> bool:
        return isinstance(self.fs, pafs.LocalFileSystem)

    def join(self, name: str) -> str:
        return f"{self.path.rstrip('/')}/{name}" if self.path else name

    def __str__(self) -> str:
        return self.text


def location(text: str) -> Location:
    """A folder named by a local path or a URI, on its PyArrow file system."""
    scheme = scheme_of(text)
    if scheme in ("", "file"):
        return Location(text, pafs.LocalFileSystem(), str(local_path(text).resolve()))
    uri = text
    if scheme in _ARROW_SCHEME:
        uri = _ARROW_SCHEME[scheme] + text[len(scheme) :]
    try:
        fs, path = pafs.FileSystem.from_uri(uri)
    except (ValueError, OSError, pa.ArrowException) as exc:
        raise StorageError(f"{text}: {_first_line(exc)}") from exc
    return Location(text, fs, path.rstrip("/"))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


@dataclass(frozen=True, slots=True)
class ExportFile:
    """One file of an export: its name in the export folder, its path on `fs`, its size."""

    name: str
    path: str
    size: int

    @property
    def gz(self) -> bool:
        return self.name.endswith(".gz")


@dataclass(frozen=True, slots=True)
class Export:
    """The ``*.ndjson`` and ``*.ndjson.gz`` files of an export folder, sorted by name."""

    where: Location
    files: tuple[ExportFile, ...]

    def open(self, f: ExportFile, buffering: int = READ_BYTES) -> IO[bytes]:
        """The file's bytes (compressed as stored), seekable."""
        if self.where.local:
            return open(f.path, "rb", buffering=buffering)
        stream: IO[bytes] = self.where.fs.open_input_file(f.path)
        return stream


def list_export(text: str) -> Export:
    """The export in folder `text`; FileNotFoundError when it is not a folder or holds no file."""
    where = location(text)
    try:
        info = where.fs.get_file_info(where.path)
        if info.type == pafs.FileType.NotFound:
            raise FileNotFoundError(f"{text} does not exist")
        if info.type != pafs.FileType.Directory and where.local:
            raise FileNotFoundError(f"{text} is not a folder")
        infos = where.fs.get_file_info(pafs.FileSelector(where.path, allow_not_found=True))
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise StorageError(f"{text}: {_first_line(exc)}") from exc
    files = sorted(
        (
            ExportFile(i.base_name, i.path, i.size)
            for i in infos
            if i.type == pafs.FileType.File and i.base_name.endswith(EXPORT_SUFFIXES)
        ),
        key=lambda f: f.name,
    )
    if not files:
        raise FileNotFoundError(f"{text} holds no *.ndjson or *.ndjson.gz files")
    return Export(where, tuple(files))


def gz_blocks(raw: IO[bytes], read_bytes: int = READ_BYTES) -> Iterator[bytes]:
    """The decompressed bytes of a gzip file (one or more members), read `read_bytes` at a time.

    Raises `CorruptFile` where the stream is truncated or corrupt, after yielding what came
    before. zlib returns all it can decode of the input so far, and both engines feed the same
    `read_bytes` pieces from the file's start, so a damaged file yields the same bytes in both."""
    d = zlib.decompressobj(wbits=31)
    started = False
    while True:
        data = raw.read(read_bytes)
        if not data:
            break
        while data:
            started = True
            try:
                out = d.decompress(data)
            except zlib.error as exc:
                raise CorruptFile(f"corrupt gzip data ({exc})") from exc
            if out:
                yield out
            if d.eof:  # a member ended: another may follow
                data = d.unused_data
                d = zlib.decompressobj(wbits=31)
                started = False
                data = data.lstrip(b"\0")  # padding some writers leave between members
            else:
                data = b""
    if started and not d.eof:
        raise CorruptFile("truncated gzip file (it ends before its last member does)")


def write_bytes(where: Location, name: str, data: bytes) -> None:
    with where.fs.open_output_stream(where.join(name)) as fh:
        fh.write(data)


def output_stream(where: Location, name: str) -> Any:
    """A PyArrow output stream for file `name` in folder `where`."""
    return where.fs.open_output_stream(where.join(name))


def make_folder(where: Location) -> bool:
    """Create the output folder (a no-op on object stores); True if it did not exist."""
    info = where.fs.get_file_info(where.path)
    if info.type == pafs.FileType.Directory:
        return False
    if info.type != pafs.FileType.NotFound:
        raise StorageError(f"{where}: exists and is not a folder")
    where.fs.create_dir(where.path, recursive=True)
    return True


def remove_written(where: Location, names: list[str], created: bool) -> None:
    """After a failed run: delete the files it wrote, and the folder if the run created it."""
    for name in names:
        with contextlib.suppress(OSError):
            where.fs.delete_file(where.join(name))
    if created:
        try:
            if where.local:
                os.rmdir(where.path)  # only if empty: never a folder with anyone else's files
            else:
                infos = where.fs.get_file_info(pafs.FileSelector(where.path, allow_not_found=True))
                if not infos:
                    where.fs.delete_dir(where.path)
        except OSError:
            pass
