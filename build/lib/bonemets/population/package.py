"""`bonemets spark-package`: the bonemets package as a zip for ``spark-submit --py-files``.

PySpark ships only .zip, .egg and .jar files with ``--py-files`` (a wheel is not put on the
executors' path). The zip holds the package's code and data (knowledge files are read with
`importlib.resources`, which reads from a zip too); the executors still need the core
dependencies (numpy, orjson, pyarrow, pydantic, rapidfuzz, typer, rich), installed on the nodes or
shipped as a packed environment (docs/population.md).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import bonemets


def build_zip(out: Path) -> tuple[Path, int]:
    """Write the zip; returns its path and the number of files in it."""
    root = Path(bonemets.__file__).resolve().parent
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    n = 0
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(root.rglob("*")):
            if not path.is_file() or "__pycache__" in path.parts or path.suffix == ".pyc":
                continue
            zf.write(path, Path("bonemets") / path.relative_to(root))
            n += 1
    tmp.replace(out)
    return out, n
