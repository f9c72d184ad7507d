"""The hazard log's "held by" column names tests that exist: a renamed or deleted test would
otherwise leave a hazard that looks mitigated and is not."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOG = ROOT / "docs" / "safety" / "hazard-log.md"
# `tests/x.py::name`, `::name` (same file as the reference before it), `tests/dir/` or a file.
REFERENCE = re.compile(r"`((?:tests/)[^`:]*)?(?:::([A-Za-z_][\w]*))?[^`]*`")


def _rows() -> list[tuple[str, str]]:
    rows = []
    for line in LOG.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) > 5 and re.fullmatch(r"H\d+", cells[1]):
            rows.append((cells[1], cells[5]))
    return rows


def _functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.ClassDef)}


def test_hazard_ids_are_unique_and_every_hazard_is_held_by_a_test() -> None:
    rows = _rows()
    ids = [hazard for hazard, _ in rows]
    assert len(rows) > 50
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
    for hazard, held_by in rows:
        assert "tests/" in held_by, f"{hazard} names no test"


def test_every_test_the_log_names_exists() -> None:
    missing = []
    for hazard, held_by in _rows():
        current: Path | None = None
        for match in REFERENCE.finditer(held_by):
            path_text, name = match.group(1), match.group(2)
            if path_text:
                current = ROOT / path_text.rstrip()
                if not current.exists():
                    missing.append(f"{hazard}: {path_text}")
                    current = None
                    continue
            if (
                name
                and current is not None
                and current.is_file()
                and name not in _functions(current)
            ):
                missing.append(f"{hazard}: {current.relative_to(ROOT)}::{name}")
    assert not missing, "\n".join(missing)
