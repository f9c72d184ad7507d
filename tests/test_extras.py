"""The extras table (`bonemets.extras.MODULE_EXTRA`) agrees with the package's metadata, and the
core install's modules import nothing from an extra."""

from __future__ import annotations

import re
import subprocess
import sys
from functools import cache
from importlib.metadata import packages_distributions, requires
from pathlib import Path

import pytest

from bonemets.extras import MODULE_EXTRA, missing_extra_message

_REQ = re.compile(r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*([^;]*)(?:;\s*(.*))?$")
EXTRAS = ("sim", "web", "spark")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirements() -> dict[str | None, dict[str, str]]:
    """Extra (None: the core) -> {distribution: version specifier}."""
    out: dict[str | None, dict[str, str]] = {}
    for line in requires("bonemets") or []:
        m = _REQ.match(line)
        assert m, line
        name, _, spec, marker = m.groups()
        extra = re.search(r'extra == "([^"]+)"', marker or "")
        out.setdefault(extra.group(1) if extra else None, {})[_norm(name)] = spec.strip()
    return out


@cache
def _modules() -> dict[str, list[str]]:
    """Top-level module -> distributions (one scan of the environment: it is slow)."""
    return dict(packages_distributions())


def _dists(module: str) -> set[str]:
    return {_norm(d) for d in _modules().get(module, [])}


def test_each_mapped_module_is_installed_by_its_extra() -> None:
    reqs = _requirements()
    for module, extra in MODULE_EXTRA.items():
        dists = _dists(module)
        assert dists, f"{module} is not installed here (scripts/setup installs .[all,test])"
        assert dists & set(reqs[extra]), f"{module} ({dists}) is not a requirement of [{extra}]"


def test_each_extra_requirement_is_mapped_to_its_extra() -> None:
    reqs = _requirements()
    for extra in EXTRAS:
        for dist in reqs[extra]:
            if dist == "bonemets":  # [web] includes [sim]
                continue
            modules = {m for m, ds in _modules().items() if dist in map(_norm, ds)}
            assert any(MODULE_EXTRA.get(m) == extra for m in modules), (dist, extra, modules)


def test_the_core_requirements_are_lean_and_spark_is_a_range() -> None:
    reqs = _requirements()
    core = set(reqs[None])
    assert core == {"pydantic", "typer", "rich", "orjson", "numpy", "pyarrow", "rapidfuzz"}
    for module, extra in MODULE_EXTRA.items():
        assert not _dists(module) & core, (module, extra)
    # Never pinned over a cluster's own Spark.
    assert set(reqs["spark"]) == {"pyspark"}
    assert sorted(reqs["spark"]["pyspark"].split(",")) == ["<5", ">=3.5"]
    assert "bonemets" in reqs["all"] and "bonemets" in reqs["web"]


def test_the_core_modules_import_nothing_from_an_extra() -> None:
    """What a Spark executor and `bonemets worklist` import: the population engine, the FHIR
    mapping, the clinical core and the CLI."""
    code = (
        "import sys\n"
        "import bonemets.population, bonemets.population.local, bonemets.population.keys\n"
        "import bonemets.population.patient, bonemets.population.worklist\n"
        "import bonemets.population.storage, bonemets.population.package\n"
        "import bonemets.adapters.fhir, bonemets.core.pathway, bonemets.core.triage\n"
        "import bonemets.faces.cli.main\n"
        f"extra = {sorted(MODULE_EXTRA)!r}\n"
        "print(sorted(m for m in extra if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(("module", "extra"), [("fastapi.routing", "web"), ("scipy", "sim")])
def test_a_missing_extra_names_the_pip_command(module: str, extra: str) -> None:
    message = missing_extra_message(ModuleNotFoundError(f"No module named {module!r}", name=module))
    assert message is not None and f"pip install 'bonemets[{extra}]'" in message
    assert missing_extra_message(ModuleNotFoundError("x", name="not_ours")) is None


def test_the_command_prints_the_extra_and_exits_2(tmp_path: Path) -> None:
    """`bonemets demo` where the web extra is not installed (hidden by a meta-path finder)."""
    code = (
        "import sys\n"
        "class Hide:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.partition('.')[0] in ('uvicorn', 'fastapi', 'sqlalchemy'):\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, Hide())\n"
        f"sys.argv = ['bonemets', 'demo', '--no-serve', '--data-dir', {str(tmp_path)!r}]\n"
        "from bonemets.faces.cli.main import run\n"
        "run()\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 2, out.stderr
    assert "pip install 'bonemets[web]'" in out.stderr
