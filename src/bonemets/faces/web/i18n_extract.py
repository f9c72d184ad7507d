"""The catalogue's msgids: from the web faces' Python and templates (Babel's extractors), and the
English patient text of the knowledge files and of a few core tables, which the faces translate
where they show it (`tr`, `code_words`).

The education package's care plan and calendar text (`Wording._`, `N_`) is extracted too.

`bonemets i18n extract` writes ``locale/messages.pot``;
`bonemets i18n check` fails when it is not up to date (a string added and not extracted).
Article files (knowledge/articles/*.md) are whole documents and are not in the catalogue.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from bonemets.core.knowledge import load
from bonemets.faces.web.i18n import DOMAIN, PACKAGE_LOCALE_DIR

WEB_DIR = Path(__file__).resolve().parent
PACKAGE_DIR = WEB_DIR.parents[1]
POT = PACKAGE_LOCALE_DIR / f"{DOMAIN}.pot"

METHOD_MAP = [("**.py", "python"), ("templates/**.html", "jinja2.ext:babel_extract")]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true"}}
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}

# Patient-facing text of the knowledge files: file -> key paths ("*" any key, "[]" each item).
KNOWLEDGE: dict[str, tuple[str, ...]] = {
    "symptoms": ("*.label", "*.question", "*.help"),
    "patient_words": (
        "areas.*.label",
        "areas.*.hint",
        "sites.*",
        "features.*",
        "units.*",
        "signs.*",
        "results.*.name",
        "results.*.about",
    ),
    "labs": ("unit_systems.*.label",),
    "triage_rules": (
        "rules.*.headline",
        "rules.*.headlines_by_level.*",
        "rules.*.patient_why",
        "rules.*.advice.[]",
        "rules.*.advice_by_level.*.[]",
        "rules.*.tips.[]",
    ),
    "levels": ("emergency_numbers", "emergency_number_list.[].where", "*.patient"),
    "pro_ctcae": ("scales.*.[]", "questions.*"),
}


def _walk(data: Any, parts: list[str]) -> Iterator[str]:
    if not parts:
        if isinstance(data, str) and data.strip():
            yield data
        return
    head, rest = parts[0], parts[1:]
    if head == "[]":
        for item in data if isinstance(data, list) else []:
            yield from _walk(item, rest)
    elif isinstance(data, dict):
        values = list(data.values()) if head == "*" else [data[head]] if head in data else []
        for value in values:
            yield from _walk(value, rest)


def _literals(tp: Any) -> Iterator[str]:
    for arg in typing.get_args(tp):
        if isinstance(arg, str):
            yield arg
        else:
            yield from _literals(arg)


def code_texts() -> Iterator[str]:
    """The codes the team's pages show as words (`code_words`: underscores as spaces)."""
    import importlib

    from bonemets.core import record
    from bonemets.core.pathway import models as pathway
    from bonemets.core.triage import models as triage

    sins = importlib.import_module("bonemets.core.scores.sins")
    mirels = importlib.import_module("bonemets.core.scores.mirels")

    types = (record.Sex, record.Agent, record.LesionSite, record.LabCode, pathway.BmaStatus,
             pathway.CheckStatus, pathway.MonitoringStatus, sins.Pain, sins.Lesion,
             sins.SinsBand, mirels.Pain, mirels.MirelsBand, triage.SymptomCode, triage.Sex,
             triage.Trend)  # fmt: skip
    for tp in types:
        for code in _literals(tp):
            yield code.replace("_", " ")
    for code in load("patient_words")["sites"]:
        yield code.replace("_", " ")
    for code in load("monitoring")["tests"]:
        yield code.replace("_", " ")
    checks = ("renal_function", "creatinine_clearance", "creatinine_clearance_current", "calcium",
              "calcium_vitamin_d_supplement", "dental_exam")  # fmt: skip
    for code in checks:  # the checks before a dose (core/pathway/bma.py)
        yield code.replace("_", " ")
    for code in ("bma_dose", "lab", "lesion", "dental_exam", "imaging", "symptom_resolution"):
        yield code.replace("_", " ")  # the forms, in "Saved <form>."
    for code in ("ct", "bone_scan", "mri", "pet_ct", "x_ray", "other", "stable", "response",
                 "progression", "new_lesion", "unilateral", "bilateral"):  # fmt: skip
        yield code.replace("_", " ")


def knowledge_texts() -> Iterator[tuple[str, str]]:
    """(where, English text) of every patient-facing knowledge string."""
    from bonemets.core.durations import CHOICES
    from bonemets.core.levels import Level
    from bonemets.core.triage import triage
    from bonemets.core.triage.engine import _meaning
    from bonemets.core.triage.models import DISCLAIMER
    from bonemets.education.plan import AGENT_WORDS
    from bonemets.sim.api import DISCLAIMER as SIM_DISCLAIMER

    for name, paths in KNOWLEDGE.items():
        data = load(name)
        for path in paths:
            for text in _walk(data, path.split(".")):
                yield f"knowledge/{name}.toml:{path}", text
    for _days, words in CHOICES:
        yield "core/durations.py:CHOICES", words
    for level in Level:  # what each level asks of the patient, as the result says it
        yield "core/triage/engine.py:_meaning", _meaning(level, "patient")
    yield "core/triage/engine.py:_headline", triage({"symptoms": []}).headline
    yield "core/triage/models.py:DISCLAIMER", DISCLAIMER
    yield "sim/api.py:DISCLAIMER", SIM_DISCLAIMER
    for words in AGENT_WORDS.values():
        yield "education/plan.py:AGENT_WORDS", words
    for words in code_texts():
        yield "codes", words


def build_catalog() -> Catalog:
    """The template catalogue (.pot) from the sources as they are now."""
    catalog = Catalog(project="bonemets", domain=DOMAIN, charset="utf-8", fuzzy=False,
                      copyright_holder="the bonemets authors")  # fmt: skip
    for filename, lineno, message, comments, context in extract_from_dir(
        str(WEB_DIR), METHOD_MAP, OPTIONS, KEYWORDS, comment_tags=("TRANSLATORS:",)
    ):
        catalog.add(message, None, [(f"faces/web/{filename}", lineno)],
                    auto_comments=comments, context=context)  # fmt: skip
    # The patient text the education package builds outside the templates (the care plan PDF,
    # the calendar feed), said through patient_words.Wording.
    for filename, lineno, message, comments, context in extract_from_dir(
        str(PACKAGE_DIR / "education"), [("**.py", "python")], {}, KEYWORDS,
        comment_tags=("TRANSLATORS:",),
    ):  # fmt: skip
        catalog.add(message, None, [(f"education/{filename}", lineno)],
                    auto_comments=comments, context=context)  # fmt: skip
    for where, text in knowledge_texts():
        if text not in catalog:
            catalog.add(text, None, [(where, 0)])
    return catalog


def _po_bytes(catalog: Catalog) -> bytes:
    buffer = BytesIO()
    write_po(buffer, catalog, width=100, omit_header=False, sort_output=True, include_lineno=False)
    return buffer.getvalue()


def msgids(catalog: Catalog) -> set[Any]:
    return {m.id for m in catalog if m.id}


def read(path: Path) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, domain=DOMAIN)


def extract() -> list[Path]:
    """Write locale/messages.pot from the sources (English, the source language, needs no
    catalogue of its own: gettext shows each msgid itself)."""
    data = _po_bytes(build_catalog())
    POT.parent.mkdir(parents=True, exist_ok=True)
    if POT.is_file() and _dateless(POT.read_bytes()) == _dateless(data):
        return []  # only when more than the dates changed: quiet diffs
    POT.write_bytes(data)
    return [POT]


def _dateless(po: bytes) -> bytes:
    return re.sub(rb'"(POT-Creation-Date|PO-Revision-Date): [^"]*"', b"", po)


def check() -> list[str]:
    """What is out of date (empty when the committed catalogues match the sources)."""
    now = msgids(build_catalog())
    problems = []
    committed = msgids(read(POT)) if POT.is_file() else set()
    if now - committed:
        missing = len(now - committed)
        problems.append(f"{missing} msgids not in {POT.name}: run `bonemets i18n extract`")
    if committed - now:
        problems.append(f"{len(committed - now)} msgids in {POT.name} no longer in the sources")
    return problems


__all__ = ["PACKAGE_DIR", "build_catalog", "check", "extract", "knowledge_texts"]
