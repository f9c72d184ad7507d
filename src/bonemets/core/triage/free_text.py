"""Red-flag phrases in a patient's own words.

`find_symptoms(text)` reads free text with the phrase table of ``knowledge/free_text.toml`` (one
section per language) and returns every symptom the text mentions: the words matched (a span of
the text), the contract's code with the site and features the words imply, and the id of the
entry that matched. Mentions the text denies ("no leg weakness", "I haven't wet myself", "the
numbness has gone") come back marked ``negated``; they are shown to the clinician and never imply
a symptom. `imply` turns the positive findings into the symptoms the triage rules run on.

How a text is read (every word list below lives in the knowledge file, by language):

1. Tokens: words in lower case with apostrophes dropped ("can't" is "cant"), numbers ("38.5"),
   commas, and a full stop for anything that ends a sentence (. ! ? ; : a dash, a new line).
   A word missing from the table's vocabulary that is long enough and is not a common English
   word is read as the nearest vocabulary word within a few edits (rapidfuzz, Levenshtein):
   "numbess" is "numbness" and "wobbley" is "wobbly", but "sitting" is never "fitting" and
   "calling" never "falling", because those are common English words (a packaged list, drawn
   from pyspellchecker's word-frequency list by tests/free_text_words.py).
2. Phrases: each entry's patterns, in a small pattern language compiled to regular expressions
   over the tokens (see the file's header). A `<site>` in a pattern is read through the code's
   site words, and "my hands and feet" gives both sites. Modifier phrases near a finding add
   features ("worse at night"), a severity ("unbearable") or a trend ("getting worse").
3. Negation, NegEx-style: a denial cue before the phrase ("no", "haven't", "not") within a few
   words, unless a clause boundary comes first (a full stop, "but", "and", or a comma that opens a
   new clause: ", my legs..."); or a cue after it joined only by linking words ("the numbness has
   gone"). Pseudo-negations ("not sure", "no better", "hasn't gone") are not cues. A phrase that
   carries its own negation ("can't walk", "no feeling in my legs") asserts a loss, so a cue
   before it does not deny it: "not confused, can't walk" still finds "can't walk".

Reading errs towards finding: an unclear mention counts (a question about a symptom, a
hypothetical, an uncertain "not sure if"), since a finding only ever raises the level.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import cache, lru_cache
from importlib import resources
from typing import Any

from bonemets.core.knowledge import check_source_ids, load
from bonemets.core.triage.context import describe
from bonemets.core.triage.models import FreeTextFinding, Symptom, symptom_catalogue

__all__ = [
    "DEFAULT_LANGUAGE",
    "Implied",
    "find_symptoms",
    "imply",
    "languages",
    "positive",
    "quote_free_text",
    "quotes_by_input",
]

DEFAULT_LANGUAGE = "en"
STOP = "."  # the token every sentence-ending mark becomes

# --- tokens ----------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"(?P<number>\d+(?:[.,]\d+)?)"
    r"|(?P<word>[^\W\d_]+(?:['’`][^\W\d_]+)*)"
    r"|(?P<stop>[.!?;:\n]+|(?<!\S)[-–—]+(?!\S)|[–—]+)"
    r"|(?P<comma>,)"
    r"|(?P<amp>&|\+)"
)
_APOSTROPHES = str.maketrans("", "", "'’`")


_POSSESSIVE = re.compile(r"['’`]s$")


def _canonical_word(word: str) -> str:
    """Lower case, no apostrophes, and no "'s" ("my back's killing me", "foot's asleep")."""
    return _POSSESSIVE.sub("", word.lower()).translate(_APOSTROPHES)


@dataclass(slots=True)
class _Text:
    """A text as tokens, and as one string the patterns run on: " tok tok tok "."""

    raw: str
    tokens: list[str]
    spans: list[tuple[int, int]]  # each token's characters in `raw`
    string: str
    starts: list[int]  # each token's offset in `string`
    positions: dict[str, list[int]]  # where each token is ("<number>": every number)

    def token_range(self, start: int, end: int) -> tuple[int, int]:
        """The tokens [first, last) a match of `string[start:end]` covers."""
        first = bisect.bisect_left(self.starts, start)
        last = bisect.bisect_left(self.starts, end - 1)
        return first, max(last, first + 1)

    def quote(self, first: int, last: int) -> tuple[str, int, int]:
        start, end = self.spans[first][0], self.spans[last - 1][1]
        return self.raw[start:end], start, end


def _tokenise(raw: str, lang: _Language) -> _Text:
    tokens: list[str] = []
    spans: list[tuple[int, int]] = []
    for m in _TOKEN.finditer(raw):
        kind = m.lastgroup
        if kind == "word":
            token = lang.correct(_canonical_word(m.group()))
        elif kind == "number":
            token = m.group().replace(",", ".")
        elif kind == "stop":
            token = STOP
        elif kind == "comma":
            token = ","
        else:
            token = "and"
        tokens.append(token)
        spans.append(m.span())
    starts: list[int] = []
    positions: dict[str, list[int]] = {}
    pos = 1
    for i, token in enumerate(tokens):
        starts.append(pos)
        pos += len(token) + 1
        positions.setdefault("<number>" if token[:1].isdigit() else token, []).append(i)
    return _Text(raw, tokens, spans, " " + " ".join(tokens) + " ", starts, positions)


# --- the pattern language --------------------------------------------------------------------

_GAP = re.compile(r"~(\d)")
_WORD_TOKEN = r"[^ .,]+ "  # one word or number token of the string (never punctuation)


def _phrase_words(phrase: str) -> list[str]:
    """A phrase of the knowledge file as the tokens a text would give for it."""
    words = []
    for m in _TOKEN.finditer(phrase):
        if m.lastgroup == "word":
            words.append(_canonical_word(m.group()))
        elif m.lastgroup == "number":
            words.append(m.group())
        elif m.lastgroup == "amp":
            words.append("and")
        elif m.lastgroup == "comma":
            words.append(",")
        elif m.lastgroup == "stop":
            words.append(STOP)
    if not words:
        raise ValueError(f"free_text.toml: empty phrase {phrase!r}")
    return words


def _alternation(phrases: Iterable[str]) -> tuple[str, set[str]]:
    """A regex matching any of `phrases` (longest first) and the words they start with."""
    as_words = sorted({tuple(_phrase_words(p)) for p in phrases}, key=lambda w: (-len(w), w))
    regex = "|".join(" ".join(re.escape(w) for w in words) for words in as_words)
    return f"(?:{regex})", {words[0] for words in as_words}


_COMPILED: dict[str, re.Pattern[str]] = {}


def _regex(expression: str) -> re.Pattern[str]:
    """Compiled on first use: a process pays only for the patterns its texts reach (compiling
    all of them up front took most of the table's 0.5 s build)."""
    found = _COMPILED.get(expression)
    if found is None:
        found = _COMPILED[expression] = re.compile(expression)
    return found


@dataclass(frozen=True, slots=True)
class _Pattern:
    source: str
    expression: str  # the regular expression, compiled on first use (`regex`)
    # For each required element, the words one of which must be in the text for the pattern
    # to match: a cheap test that skips most patterns for a given text.
    requires: tuple[frozenset[str], ...]
    # The words a match can start with (None: any); matches are tried only where they stand.
    starts: frozenset[str] | None
    has_site: bool
    has_number: bool
    gaps: int  # how many `~N` it has (regex groups gap0, gap1, ...)

    @property
    def regex(self) -> re.Pattern[str]:
        return _regex(self.expression)

    def may_match(self, present: frozenset[str]) -> bool:
        return all(not words.isdisjoint(present) for words in self.requires)

    def matches(self, text: _Text) -> Iterator[re.Match[str]]:
        """Matches at each token the pattern can start with (overlapping ones included; a
        regex scan of the whole text tries every alternative at every character)."""
        if self.starts is None:
            yield from self.regex.finditer(text.string)
            return
        candidates: set[int] = set()
        if len(self.starts) <= len(text.positions):
            for word in self.starts:
                candidates.update(text.positions.get(word, ()))
        else:
            for word, where in text.positions.items():
                if word in self.starts:
                    candidates.update(where)
        for i in sorted(candidates):
            m = self.regex.match(text.string, text.starts[i])
            if m is not None:
                yield m


def _compile(
    source: str,
    classes: dict[str, list[str]],
    site_words: list[str] | None,
) -> _Pattern:
    """Compile one pattern. Elements, separated by spaces:
    `word`, `a|b|c` (one of the words), `(a b|c|{class})` (one of these phrases), `{class}`
    (one of a class's phrases), `<site>` (one of
    the code's site phrases, captured), `<number>` (a number, captured), `~N` (up to N words, never
    across punctuation), `!a|b` (the next word is none of these); `?` after an element makes it
    optional."""
    parts: list[str] = []
    gaps = 0
    requires: list[frozenset[str]] = []
    starts: set[str] | None = set()
    started = False  # a required element has been seen: later ones cannot start a match
    has_site = has_number = False
    for element in _elements(source):
        optional = element.endswith("?") and len(element) > 1
        body = element[:-1] if optional else element
        gap = _GAP.fullmatch(body)
        if gap:
            parts.append(f"(?P<gap{gaps}>(?:{_WORD_TOKEN}){{0,{gap.group(1)}}}?)")
            gaps += 1
            if not started:
                starts, started = None, True
            continue
        if body.startswith("!"):
            regex, _ = _alternation(_expand(body[1:], classes, source))
            parts.append(f"(?!{regex} )")
            continue
        if body == "<site>":
            if site_words is None:
                raise KeyError(f"free_text.toml: pattern {source!r} has <site> but no site words")
            regex, firsts = _alternation(site_words)
            regex = f"(?P<site>{regex})"
            has_site = True
        elif body == "<number>":
            regex, firsts = r"(?P<number>\d+(?:\.\d+)?)", {"<number>"}
            has_number = True
        else:
            regex, firsts = _alternation(_expand(body, classes, source))
        parts.append(f"(?:{regex} )?" if optional else f"{regex} ")
        if not optional:
            requires.append(frozenset(firsts))
        if not started and starts is not None:
            starts |= firsts
            started = not optional
    if not requires:
        raise ValueError(f"free_text.toml: pattern {source!r} has no required element")
    return _Pattern(
        source=source,
        expression="(?<= )" + "".join(parts),
        requires=tuple(requires),
        starts=frozenset(starts) if starts is not None else None,
        has_site=has_site,
        has_number=has_number,
        gaps=gaps,
    )


_ELEMENT = re.compile(r"!?\([^)]*\)\??|\S+")


def _elements(source: str) -> list[str]:
    return _ELEMENT.findall(source)


def _alternatives(body: str) -> list[str]:
    """`a|b`, or `(a b|c)` whose alternatives may be several words."""
    if body.startswith("(") and body.endswith(")"):
        body = body[1:-1]
    return [part.strip() for part in body.split("|")]


def _expand(body: str, classes: dict[str, list[str]], source: str) -> list[str]:
    """The phrases of an element `a|{class}|b` or `(a b|{class})`."""
    phrases: list[str] = []
    for part in _alternatives(body):
        if part.startswith("{") and part.endswith("}"):
            if part[1:-1] not in classes:
                raise KeyError(f"free_text.toml: pattern {source!r} uses unknown class {part}")
            phrases += classes[part[1:-1]]
        else:
            phrases.append(part)
    return phrases


@dataclass(frozen=True, slots=True)
class _Patterns:
    """A list of patterns run as one regex (modifier phrases, cues, ignore lists): at each
    position the longest pattern that matches there."""

    items: tuple[_Pattern, ...]
    combined: _Pattern | None

    @classmethod
    def of(cls, items: tuple[_Pattern, ...]) -> _Patterns:
        if not items:
            return cls(items, None)
        ordered = sorted(items, key=lambda p: -len(p.source))
        bodies = [_GAP_GROUP.sub("(?:", p.expression.removeprefix("(?<= )")) for p in ordered]
        starts: frozenset[str] | None = frozenset()
        for p in items:
            starts = None if starts is None or p.starts is None else starts | p.starts
        combined = _Pattern(
            source=" | ".join(p.source for p in ordered),
            expression="(?<= )(?:" + "|".join(bodies) + ")",
            requires=(),
            starts=starts,
            has_site=False,
            has_number=False,
            gaps=0,
        )
        return cls(items, combined)

    def spans(self, text: _Text, present: frozenset[str]) -> list[tuple[int, int, str]]:
        """Token ranges [first, last) of the matches, with the words matched."""
        if self.combined is None:
            return []
        out = []
        for m in self.combined.matches(text):
            first, last = text.token_range(m.start(), m.end())
            out.append((first, last, m.group().strip()))
        return out


_GAP_GROUP = re.compile(r"\(\?P<gap\d+>")


# --- a language's table ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Entry:
    id: str
    code: str
    site: str | None
    features: tuple[str, ...]
    severity: int | None
    patterns: tuple[_Pattern, ...]
    ignore: _Patterns
    number_range: tuple[float, float] | None
    subsumed_by: frozenset[str]
    # A code this entry's finding becomes when its sentence names one of that code's sites.
    becomes: str | None
    sources: tuple[str, ...]
    evidence: str


@dataclass(frozen=True, slots=True)
class _Language:
    code: str
    entries: tuple[_Entry, ...]
    vocabulary: frozenset[str]
    vocabulary_list: tuple[str, ...]
    fuzzy: dict[str, int]
    real_words: str  # the packaged file of common words near the vocabulary
    cues_before: _Patterns
    cues_after: _Patterns
    pseudo: _Patterns
    ignore: _Patterns
    terminators: frozenset[str]
    clause_starts: frozenset[str]
    deficit: frozenset[str]
    after_links: frozenset[str]
    window_before: int
    # code -> (regex of its site phrases, canonical phrase -> site)
    sites: dict[str, tuple[re.Pattern[str], dict[str, str]]]
    features: dict[str, dict[str, _Patterns]]
    severity: dict[int, _Patterns]
    trend: dict[str, _Patterns]
    modifier_window: int
    modifier_terminators: frozenset[str]

    def correct(self, word: str) -> str:
        """`word`, or the vocabulary word a misspelling of it stands for."""
        if word in self.vocabulary:
            return word
        return _corrected(self.code, word)


@lru_cache(maxsize=50_000)
def _corrected(language: str, word: str) -> str:
    lang = _language(language)
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


def _phrases(node: Any, where: str) -> list[str]:
    if not isinstance(node, list) or not all(isinstance(p, str) for p in node):
        raise TypeError(f"free_text.toml: {where} must be a list of phrases")
    return node


@cache
def languages() -> tuple[str, ...]:
    """The languages the phrase table covers."""
    return tuple(load("free_text")["languages"])


@cache
def _language(code: str) -> _Language:
    table = load("free_text")["languages"]
    if code not in table:
        raise KeyError(f"free_text.toml has no language {code!r} (have: {', '.join(table)})")
    data = table[code]
    catalogue = symptom_catalogue()
    classes = {name: _phrases(v, f"classes.{name}") for name, v in data["classes"].items()}
    vocabulary: set[str] = set()

    def note(phrases: Iterable[str]) -> None:
        for phrase in phrases:
            vocabulary.update(w for w in _phrase_words(phrase) if w != ",")

    def patterns(sources: list[str], code: str | None = None) -> tuple[_Pattern, ...]:
        site_list = None
        if code is not None and code in data.get("sites", {}):
            site_list = [p for ps in data["sites"][code].values() for p in ps]
        out = []
        for source in sources:
            compiled = _compile(source, classes, site_list)
            out.append(compiled)
            for element in _elements(source):
                body = element.rstrip("?").lstrip("!")
                if not body.startswith(("<", "~")):
                    note(p for p in _alternatives(body) if not p.startswith("{"))
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
            for phrase in _phrase_words_all(phrases):
                lookup[phrase] = site
        regex, _ = _alternation(lookup)
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
            _Entry(
                id=entry_id,
                code=symptom,
                site=site,
                features=fixed,
                severity=raw.get("severity"),
                patterns=patterns(raw["patterns"], symptom),
                ignore=_Patterns.of(patterns(raw.get("ignore", []))),
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
    features: dict[str, dict[str, _Patterns]] = {}
    for code_, by_feature in modifiers.get("features", {}).items():
        for feature, phrases in by_feature.items():
            if feature not in catalogue[code_]["features"]:
                raise KeyError(f"free_text.toml: {feature!r} is not a feature of {code_}")
            features.setdefault(code_, {})[feature] = _Patterns.of(patterns(phrases))
    severity = {int(k): _Patterns.of(patterns(v)) for k, v in modifiers["severity"].items()}
    trend = {k: _Patterns.of(patterns(v)) for k, v in modifiers["trend"].items()}

    def words(key: str) -> frozenset[str]:
        return frozenset(w for p in _phrases(negation[key], key) for w in _phrase_words(p))

    cues = {key: _Patterns.of(patterns(negation[key])) for key in ("before", "after", "pseudo")}
    ignore = _Patterns.of(patterns(data.get("ignore", [])))
    for key in ("terminators", "clause_starts", "deficit", "after_links"):
        note(negation[key])
    vocabulary.discard("<number>")
    return _Language(
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
            w for p in _phrases(modifiers["terminators"], "terminators") for w in _phrase_words(p)
        ),
    )


def _phrase_words_all(phrases: Iterable[str]) -> list[str]:
    return [" ".join(_phrase_words(p)) for p in phrases]


# --- finding ---------------------------------------------------------------------------------


@dataclass(slots=True)
class _Mention:
    entry: _Entry
    first: int
    last: int
    sites: list[str | None]
    # Tokens a `~N` gap took: a denial there denies the mention ("my jaw doesn't hurt") and
    # a "can't" there asserts no loss.
    gaps: set[int] = field(default_factory=set)
    anchor: int | None = None  # where a denial before it is looked for, when not `first`
    features: set[str] = field(default_factory=set)  # fixed by its entries

    def __post_init__(self) -> None:
        self.features |= set(self.entry.features)


def find_symptoms(text: str, language: str = DEFAULT_LANGUAGE) -> tuple[FreeTextFinding, ...]:
    """Every symptom `text` mentions, in the order of the text, negated ones included (marked).
    One finding per site when the words name several ("my hands and feet")."""
    if not text or not text.strip():
        return ()
    return _find(text, language)


@lru_cache(maxsize=4096)
def _find(text: str, language: str) -> tuple[FreeTextFinding, ...]:
    lang = _language(language)
    parsed = _tokenise(text, lang)
    present = frozenset(parsed.tokens) | (
        {"<number>"} if any(t[:1].isdigit() for t in parsed.tokens) else frozenset()
    )
    mentions = _mentions(parsed, present, lang)
    pseudo = {
        i for first, last, _ in lang.pseudo.spans(parsed, present) for i in range(first, last)
    }
    before = _cues(lang.cues_before.spans(parsed, present), pseudo, ends=True)
    after = _cues(lang.cues_after.spans(parsed, present), pseudo, ends=False)
    out: list[FreeTextFinding] = []
    memo: dict[int, list[tuple[int, int, str]]] = {}
    for mention in mentions:
        cue = _negation(parsed, lang, mention, before, after)
        entry = mention.entry
        quote, start, end = parsed.quote(mention.first, mention.last)
        features, severity, trend = _modifiers(parsed, present, lang, mention, before, memo)
        for site in mention.sites:
            out.append(
                FreeTextFinding(
                    entry=entry.id,
                    code=entry.code,
                    site=site,
                    features=tuple(sorted(mention.features | features)),
                    quote=quote,
                    start=start,
                    end=end,
                    negated=cue is not None,
                    negation=cue,
                    severity=entry.severity if entry.severity is not None else severity,
                    trend=trend,
                    evidence=entry.evidence,
                    sources=entry.sources,
                    use="negated" if cue is not None else "found",
                )
            )
    return tuple(out)


def _mentions(text: _Text, present: frozenset[str], lang: _Language) -> list[_Mention]:
    ignored = _covered(lang.ignore.spans(text, present))
    found: list[_Mention] = []
    for entry in lang.entries:
        own_ignore: set[int] | None = None  # worked out on the entry's first match
        for pattern in entry.patterns:
            if not pattern.may_match(present):
                continue
            for m in pattern.matches(text):
                if pattern.has_number and entry.number_range is not None:
                    low, high = entry.number_range
                    if not low <= float(m.group("number")) < high:
                        continue
                first, last = text.token_range(m.start(), m.end())
                if own_ignore is None:
                    own_ignore = _covered(entry.ignore.spans(text, present))
                if any(i in ignored or i in own_ignore for i in range(first, last)):
                    continue
                gaps: set[int] = set()
                for g in range(pattern.gaps):
                    if m.end(f"gap{g}") > m.start(f"gap{g}"):
                        gaps.update(range(*text.token_range(m.start(f"gap{g}"), m.end(f"gap{g}"))))
                if pattern.has_site:
                    first, last = _extend_site_list(text, lang, entry.code, first, last)
                mention = _Mention(entry, first, last, _sites(text, lang, entry, first, last), gaps)
                found.append(_with_sentence_site(text, lang, mention))
    return _drop_subsumed(found)


def _with_sentence_site(text: _Text, lang: _Language, mention: _Mention) -> _Mention:
    """A mention of an entry with `becomes` (bare "weak") read as that code at a site its
    sentence names ("my legs are no better, still weak": limb weakness, legs); the words between
    count as a gap, so "my legs are not weak" stays a denial."""
    target = mention.entry.becomes
    if target is None or target not in lang.sites:
        return mention
    tokens = text.tokens
    start = mention.first
    while start > 0 and tokens[start - 1] != STOP:
        start -= 1
    end = mention.last
    while end < len(tokens) and tokens[end] != STOP:
        end += 1
    regex, lookup = lang.sites[target]
    span = " " + " ".join(tokens[start:end]) + " "
    found: list[tuple[int, int, str]] = []
    offset = text.starts[start] - 1
    for m in regex.finditer(span):
        first, last = text.token_range(offset + m.start(), offset + m.end() + 1)
        found.append((first, last, lookup[m.group()]))
    if not found:
        return mention
    first = min(mention.first, *(f for f, _, _ in found))
    last = max(mention.last, *(la for _, la, _ in found))
    inside = set(range(first, last)) - set(range(mention.first, mention.last))
    for f, la, _ in found:
        inside -= set(range(f, la))
    entry = replace(mention.entry, code=target, becomes=None)
    sites: list[str | None] = list(dict.fromkeys(site for _, _, site in found))
    return _Mention(entry, first, last, sites, mention.gaps | inside, anchor=mention.first)


def _covered(spans: list[tuple[int, int, str]]) -> set[int]:
    return {i for first, last, _ in spans for i in range(first, last)}


_LIST_JOINS = frozenset({"and", "or", ",", "plus", "nor"})
_LIST_DETERMINERS = frozenset({"my", "the", "both", "either", "his", "her", "their", "of"})


def _extend_site_list(
    text: _Text, lang: _Language, code: str, first: int, last: int
) -> tuple[int, int]:
    """Grow [first, last) over a list of further sites joined to it ("my hands and feet")."""
    regex, _ = lang.sites[code]
    tokens = text.tokens
    while True:  # forwards: ", and my feet"
        i = last
        if i >= len(tokens) or tokens[i] not in _LIST_JOINS:
            break
        while i < len(tokens) and (tokens[i] in _LIST_JOINS or tokens[i] in _LIST_DETERMINERS):
            i += 1
        m = regex.match(text.string, text.starts[i]) if i < len(tokens) else None
        if m is None:
            break
        last = text.token_range(m.start(), m.end() + 1)[1]
    while True:  # backwards: "my hands and" before "feet are numb"
        i = first - 1
        if i < 0 or (tokens[i] not in _LIST_JOINS and tokens[i] not in _LIST_DETERMINERS):
            break
        while i >= 0 and (tokens[i] in _LIST_JOINS or tokens[i] in _LIST_DETERMINERS):
            i -= 1
        if i < 0 or not any(tokens[j] in _LIST_JOINS for j in range(i + 1, first)):
            break
        m = None
        for start in range(max(0, i - 3), i + 1):  # a site phrase of up to four words ending at i
            candidate = regex.match(text.string, text.starts[start])
            if candidate is not None and text.token_range(*candidate.span())[1] == i + 1:
                m = candidate
                break
        if m is None:
            break
        first = text.token_range(m.start(), m.end() + 1)[0]
    return first, last


def _sites(text: _Text, lang: _Language, entry: _Entry, first: int, last: int) -> list[str | None]:
    if entry.site is not None or entry.code not in lang.sites:
        return [entry.site]
    regex, lookup = lang.sites[entry.code]
    span = text.string[text.starts[first] - 1 : text.starts[last - 1] + len(text.tokens[last - 1])]
    found = list(dict.fromkeys(lookup[m.group()] for m in regex.finditer(span + " ")))
    return list(found) if found else [None]


def _drop_subsumed(mentions: list[_Mention]) -> list[_Mention]:
    """Drop a mention inside another of the same code (or of a code it yields to): "tingling"
    inside "tingling in my fingers", "weakness" inside "weakness in my legs"."""

    def covers(big: _Mention, small: _Mention) -> bool:
        if big is small or big.first > small.first or big.last < small.last:
            return False
        same = big.entry.code == small.entry.code or big.entry.code in small.entry.subsumed_by
        if not same:
            return False
        if (big.first, big.last) != (small.first, small.last):
            return True
        # Same words: keep the one that says more (a site), then the earlier entry.
        more = (big.sites != [None], -mentions.index(big))
        return more > (small.sites != [None], -mentions.index(small))

    kept = sorted(
        (m for m in mentions if not any(covers(other, m) for other in mentions)),
        key=lambda m: (m.first, m.last),
    )
    # Overlapping words of one code are one mention: "fell and can't put" + "can't put weight".
    merged: list[_Mention] = []
    for m in kept:
        same = next((x for x in merged if x.entry.code == m.entry.code and m.first < x.last), None)
        if same is None:
            merged.append(m)
        else:
            same.last = max(same.last, m.last)
            same.sites = list(dict.fromkeys(s for s in same.sites + m.sites if s is not None)) or [
                None
            ]
            same.features |= m.features
            same.gaps |= m.gaps
    return merged


def _cues(spans: list[tuple[int, int, str]], pseudo: set[int], *, ends: bool) -> dict[int, str]:
    """Negation cues by the token they end at (before a phrase) or start at (after it)."""
    out: dict[int, str] = {}
    for first, last, words in spans:
        if any(i in pseudo for i in range(first, last)):
            continue
        out[last - 1 if ends else first] = words
    return out


def _negation(
    text: _Text, lang: _Language, mention: _Mention, before: dict[int, str], after: dict[int, str]
) -> str | None:
    """The cue that denies `mention`, if any."""
    tokens = text.tokens
    for i in range(mention.first, mention.last):  # "my jaw doesn't hurt", "legs are not weak"
        if i in mention.gaps and i in before:
            return before[i]
    span_words = {tokens[i] for i in range(mention.first, mention.last) if i not in mention.gaps}
    if not span_words & lang.deficit:  # "can't walk" asserts a loss: a cue before it is not denial
        words = 0
        start = mention.first if mention.anchor is None else mention.anchor
        for i in range(start - 1, -1, -1):
            token = tokens[i]
            if token == STOP or (token in lang.terminators and i not in before):
                break
            if token == "," and i + 1 < len(tokens) and tokens[i + 1] in lang.clause_starts:
                break
            if i in before:
                return before[i]
            if token != ",":
                words += 1
                if words > lang.window_before:
                    break
    for i in range(mention.last, len(tokens)):  # "the numbness has (now completely) gone"
        if i in after:
            return after[i]
        if tokens[i] not in lang.after_links:
            break
    return None


def _modifiers(
    text: _Text,
    present: frozenset[str],
    lang: _Language,
    mention: _Mention,
    before: dict[int, str],
    memo: dict[int, list[tuple[int, int, str]]],
) -> tuple[set[str], int | None, str | None]:
    """Features, severity and trend from modifier phrases in or near the mention's words."""
    low, high = _modifier_window(text, lang, mention)

    def near(patterns: _Patterns) -> bool:
        if id(patterns) not in memo:
            memo[id(patterns)] = patterns.spans(text, present)
        for first, last, _ in memo[id(patterns)]:
            if low <= first and last <= high and first - 1 not in before:
                return True
        return False

    code = mention.entry.code
    features = {f for f, p in lang.features.get(code, {}).items() if near(p)}
    # How bad, in words, is read for pain only: "killing me" says nothing of weak legs nearby.
    is_pain = bool(symptom_catalogue()[code].get("pain"))
    severities = [level for level, p in lang.severity.items() if is_pain and near(p)]
    trend = next((t for t, p in lang.trend.items() if near(p)), None)
    return features, max(severities) if severities else None, trend


def _modifier_window(text: _Text, lang: _Language, mention: _Mention) -> tuple[int, int]:
    tokens, window = text.tokens, lang.modifier_window

    def stops(i: int) -> bool:
        return tokens[i] == STOP or tokens[i] in lang.modifier_terminators

    low = mention.first
    while low > 0 and mention.first - low < window and not stops(low - 1):
        low -= 1
    high = mention.last
    while high < len(tokens) and high - mention.last < window and not stops(high):
        high += 1
    return low, high


def positive(findings: Iterable[FreeTextFinding]) -> list[FreeTextFinding]:
    """The findings that are not negated: those that imply a symptom."""
    return [f for f in findings if not f.negated]


# --- from findings to symptoms ---------------------------------------------------------------

DEFAULT_SEVERITY = 2  # the contract's default when a severity is not given


@dataclass(slots=True)
class Implied:
    """A symptom the free text implies, with the findings (words) behind it."""

    symptom: Symptom
    findings: list[FreeTextFinding] = field(default_factory=list)


def imply(
    findings: Sequence[FreeTextFinding], reported: Sequence[Symptom]
) -> tuple[list[Implied], list[FreeTextFinding]]:
    """The symptoms the positive `findings` add to the `reported` ones, and every finding with
    its `use`: "implied" (it adds a symptom), "already_reported" (a reported symptom of the same
    code, site and features at no lower severity covers it), or "negated".

    An implied symptom never replaces or lowers a reported one: it is only added, so the rules
    (which only raise) can only raise the level. The same words are not counted twice: findings
    of one code, site, features, severity and trend make one symptom. A report's "none"
    (severity 0) does not cover a finding: when the text says otherwise, the text counts."""
    implied: dict[tuple[Any, ...], Implied] = {}
    used: list[FreeTextFinding] = []
    for finding in findings:
        if finding.negated:
            used.append(finding)
            continue
        covering = [
            s
            for s in reported
            if s.code == finding.code
            and s.severity > 0
            and s.site == finding.site
            and set(finding.features) <= set(s.features)
            and (finding.severity is None or finding.severity <= s.severity)
            and (finding.trend is None or finding.trend == s.trend)
        ]
        if covering:
            used.append(_with_use(finding, "already_reported"))
            continue
        key = (finding.code, finding.site, tuple(finding.features), finding.severity, finding.trend)
        if key not in implied:
            symptom = Symptom.model_validate(
                {
                    "code": finding.code,
                    "severity": finding.severity or DEFAULT_SEVERITY,
                    "site": finding.site,
                    "features": list(finding.features),
                    "trend": finding.trend,
                }
            )
            implied[key] = Implied(symptom)
        marked = _with_use(finding, "implied")
        implied[key].findings.append(marked)
        used.append(marked)
    return list(implied.values()), used


def _with_use(finding: FreeTextFinding, use: str) -> FreeTextFinding:
    return replace(finding, use=use)


def quotes_by_input(
    implied: Sequence[Implied], findings: Sequence[FreeTextFinding], reported: Sequence[Symptom]
) -> dict[str, str]:
    """What to add after each symptom's description in a reason's `because`: where an implied
    symptom came from, or that the free text also names a reported one. Descriptions are unique
    here: an implied symptom that would read like a reported one is covered by it (`imply`)."""
    out: dict[str, str] = {}
    for item in implied:
        words = ", ".join(f'"{f.quote}"' for f in item.findings)
        out[describe(item.symptom)] = f" from the free text: {words} [{_entries(item.findings)}]"
    for symptom in reported:
        also = [
            f
            for f in findings
            if f.use == "already_reported"
            and f.code == symptom.code
            and f.site == symptom.site
            and symptom.severity > 0
        ]
        if also:
            words = ", ".join(f'"{f.quote}"' for f in also)
            out.setdefault(describe(symptom), f" (also in the free text: {words})")
    return out


def _entries(findings: Sequence[FreeTextFinding]) -> str:
    return ", ".join(dict.fromkeys(f.entry for f in findings))


def quote_free_text(because: list[str], quotes: dict[str, str]) -> list[str]:
    """`because` with each description of a symptom in `quotes` followed by its quote. Rules
    write a symptom as its description, alone or followed by ": <what else fired it>"."""
    out = []
    for item in because:
        head, sep, rest = item.partition(": ")
        if head in quotes:
            item = head + quotes[head] + sep + rest
        out.append(item)
    return out
