"""A language's phrase table, read from knowledge/free_text.toml and checked against the symptom
catalogue; misspellings corrected towards its vocabulary."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Any

from bonemets.core.knowledge import check_source_ids, load
from bonemets.core.triage.free_text.patterns import (
    Pattern,
    Patterns,
    alternation,
    alternatives,
    compile_pattern,
    elements,
)
from bonemets.core.triage.free_text.tokens import phrase_words
from bonemets.core.triage.models import symptom_catalogue

# --- a language's table ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Entry:
    id: str
    code: str
    site: str | None
    features: tuple[str, ...]
    severity: int | None
    patterns: tuple[Pattern, ...]
    ignore: Patterns
    number_range: tuple[float, float] | None
    subsumed_by: frozenset[str]
    # A code this entry's finding becomes when its sentence names one of that code's sites.
    becomes: str | None
    sources: tuple[str, ...]
    evidence: str


@dataclass(frozen=True, slots=True)
class Language:
    code: str
    entries: tuple[Entry, ...]
    vocabulary: frozenset[str]
    vocabulary_list: tuple[str, ...]
    fuzzy: dict[str, int]
    real_words: str  # the packaged file of common words near the vocabulary
    cues_before: Patterns
    cues_after: Patterns
    pseudo: Patterns
    ignore: Patterns
    terminators: frozenset[str]
    clause_starts: frozenset[str]
    deficit: frozenset[str]
    after_links: frozenset[str]
    window_before: int
    # code -> (regex of its site phrases, canonical phrase -> site)
    sites: dict[str, tuple[re.Pattern[str], dict[str, str]]]
    features: dict[str, dict[str, Patterns]]
    severity: dict[int, Patterns]
    trend: dict[str, Patterns]
    modifier_window: int
    modifier_terminators: frozenset[str]

    def correct(self, word: str) -> str:
        """`word`, or the vocabulary word a misspelling of it stands for."""
        if word in self.vocabulary:
            return word
        return _corrected(self.code, word)


@lru_cache(maxsize=50_000)
def _corrected(language: str, word: str) -> str:
    lang = table_for(language)
    fuzzy = lang.fuzzy
    if len(word) < fuzzy["min_length"]:
        return word
    edits = fuzzy["max_edits_long"] if len(word) >= fuzzy["long_from"] else fuzzy["max_edits"]
    from rapidfuzz import process  # first use only: most texts need no correction
    from rapidfuzz.distance import Indel, Levenshtein

    near = process.extract(
        word, lang.vocabulary_list, scorer=Levenshtein.distance, score_cutoff=edits, limit=None
    )
    if not near or word in _real_words(lang.real_words):
        return word
    # Ties ("wobbley": "wobbly" or "wobbles", one edit each) go to the fewest insertions and
    # deletions: a dropped or doubled letter is the likelier slip.
    best = min(near, key=lambda c: (c[1], Indel.distance(word, c[0]), c[0]))
    return str(best[0])


@cache
def _real_words(name: str) -> frozenset[str]:
    """The packaged list of common words near the table's vocabulary (a few ms to read)."""
    text = resources.files("bonemets.knowledge").joinpath(name).read_text("utf-8")
    return frozenset(text.split())


def phrases_of(node: Any, where: str) -> list[str]:
    if not isinstance(node, list) or not all(isinstance(p, str) for p in node):
        raise TypeError(f"free_text.toml: {where} must be a list of phrases")
    return node


@cache
def languages() -> tuple[str, ...]:
    """The languages the phrase table covers."""
    return tuple(load("free_text")["languages"])


@cache
def table_for(code: str) -> Language:
    table = load("free_text")["languages"]
    if code not in table:
        raise KeyError(f"free_text.toml has no language {code!r} (have: {', '.join(table)})")
    data = table[code]
    catalogue = symptom_catalogue()
    classes = {name: phrases_of(v, f"classes.{name}") for name, v in data["classes"].items()}
    vocabulary: set[str] = set()

    def note(phrases: Iterable[str]) -> None:
        for phrase in phrases:
            vocabulary.update(w for w in phrase_words(phrase) if w != ",")

    def patterns(sources: list[str], code: str | None = None) -> tuple[Pattern, ...]:
        site_list = None
        if code is not None and code in data.get("sites", {}):
            site_list = [p for ps in data["sites"][code].values() for p in ps]
        out = []
        for source in sources:
            compiled = compile_pattern(source, classes, site_list)
            out.append(compiled)
            for element in elements(source):
                body = element.rstrip("?").lstrip("!")
                if not body.startswith(("<", "~")):
                    note(p for p in alternatives(body) if not p.startswith("{"))
        return tuple(out)

    for phrases in classes.values():
        note(phrases)

    sites: dict[str, tuple[re.Pattern[str], dict[str, str]]] = {}
    for code_, by_site in data.get("sites", {}).items():
        if code_ not in catalogue:
            raise KeyError(f"free_text.toml: sites for unknown code {code_!r}")
        lookup: dict[str, str] = {}
        for site, phrases in by_site.items():
            if site not in catalogue[code_]["sites"]:
                raise KeyError(f"free_text.toml: {site!r} is not a site of {code_}")
            note(phrases)
            for phrase in phrase_words_all(phrases):
                lookup[phrase] = site
        regex, _ = alternation(lookup)
        sites[code_] = (re.compile(f"(?<= ){regex}(?= )"), lookup)

    entries = []
    seen: set[str] = set()
    for raw in data["entries"]:
        entry_id = f"{code}.{raw['id']}"
        if entry_id in seen:
            raise KeyError(f"free_text.toml: duplicate entry {entry_id}")
        seen.add(entry_id)
        symptom = raw["code"]
        if symptom not in catalogue:
            raise KeyError(f"free_text.toml: {entry_id} maps to unknown code {symptom!r}")
        site = raw.get("site")
        if site is not None and site not in catalogue[symptom]["sites"]:
            raise KeyError(f"free_text.toml: {entry_id}: {site!r} is not a site of {symptom}")
        fixed = tuple(raw.get("features", []))
        for feature in fixed:
            if feature not in catalogue[symptom]["features"]:
                raise KeyError(
                    f"free_text.toml: {entry_id}: {feature!r} not a feature of {symptom}"
                )
        if raw["evidence"] not in ("V", "S", "U", "P"):
            raise ValueError(f"free_text.toml: {entry_id}: evidence must be V, S, U or P")
        number_range = raw.get("number_range")
        entries.append(
            Entry(
                id=entry_id,
                code=symptom,
                site=site,
                features=fixed,
                severity=raw.get("severity"),
                patterns=patterns(raw["patterns"], symptom),
                ignore=Patterns.of(patterns(raw.get("ignore", []))),
                number_range=(float(number_range[0]), float(number_range[1]))
                if number_range
                else None,
                subsumed_by=frozenset(raw.get("subsumed_by", [])),
                becomes=raw.get("becomes_with_site"),
                sources=tuple(check_source_ids(raw["sources"], f"free_text.{entry_id}")),
                evidence=raw["evidence"],
            )
        )
        if any(p.has_number for p in entries[-1].patterns) != (number_range is not None):
            raise ValueError(f"free_text.toml: {entry_id}: <number> needs number_range")

    negation = data["negation"]
    modifiers = data["modifiers"]
    features: dict[str, dict[str, Patterns]] = {}
    for code_, by_feature in modifiers.get("features", {}).items():
        for feature, phrases in by_feature.items():
            if feature not in catalogue[code_]["features"]:
                raise KeyError(f"free_text.toml: {feature!r} is not a feature of {code_}")
            features.setdefault(code_, {})[feature] = Patterns.of(patterns(phrases))
    severity = {int(k): Patterns.of(patterns(v)) for k, v in modifiers["severity"].items()}
    trend = {k: Patterns.of(patterns(v)) for k, v in modifiers["trend"].items()}

    def words(key: str) -> frozenset[str]:
        return frozenset(w for p in phrases_of(negation[key], key) for w in phrase_words(p))

    cues = {key: Patterns.of(patterns(negation[key])) for key in ("before", "after", "pseudo")}
    ignore = Patterns.of(patterns(data.get("ignore", [])))
    for key in ("terminators", "clause_starts", "deficit", "after_links"):
        note(negation[key])
    vocabulary.discard("<number>")
    return Language(
        code=code,
        entries=tuple(entries),
        vocabulary=frozenset(vocabulary),
        vocabulary_list=tuple(sorted(vocabulary)),
        fuzzy=dict(data["fuzzy"]),
        real_words=data["real_words"],
        cues_before=cues["before"],
        cues_after=cues["after"],
        pseudo=cues["pseudo"],
        ignore=ignore,
        terminators=words("terminators"),
        clause_starts=words("clause_starts"),
        deficit=words("deficit"),
        after_links=words("after_links"),
        window_before=int(negation["window_before"]),
        sites=sites,
        features=features,
        severity=severity,
        trend=trend,
        modifier_window=int(modifiers["window"]),
        modifier_terminators=frozenset(
            w for p in phrases_of(modifiers["terminators"], "terminators") for w in phrase_words(p)
        ),
    )


def phrase_words_all(phrases: Iterable[str]) -> list[str]:
    return [" ".join(phrase_words(p)) for p in phrases]
