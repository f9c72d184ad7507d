"""Finding the symptoms a text mentions: phrases, sites, negation and modifiers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import lru_cache

from bonemets.core.triage.free_text.patterns import Patterns
from bonemets.core.triage.free_text.table import Entry, Language, table_for
from bonemets.core.triage.free_text.tokens import STOP, Text, tokenise
from bonemets.core.triage.models import FreeTextFinding, symptom_catalogue

DEFAULT_LANGUAGE = "en"


# --- finding ---------------------------------------------------------------------------------


@dataclass(slots=True)
class Mention:
    entry: Entry
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
    lang = table_for(language)
    parsed = tokenise(text, lang.correct)
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


def _mentions(text: Text, present: frozenset[str], lang: Language) -> list[Mention]:
    ignored = _covered(lang.ignore.spans(text, present))
    found: list[Mention] = []
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
                mention = Mention(entry, first, last, _sites(text, lang, entry, first, last), gaps)
                found.append(_with_sentence_site(text, lang, mention))
    return _drop_subsumed(found)


def _with_sentence_site(text: Text, lang: Language, mention: Mention) -> Mention:
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
    return Mention(entry, first, last, sites, mention.gaps | inside, anchor=mention.first)


def _covered(spans: list[tuple[int, int, str]]) -> set[int]:
    return {i for first, last, _ in spans for i in range(first, last)}


_LIST_JOINS = frozenset({"and", "or", ",", "plus", "nor"})
_LIST_DETERMINERS = frozenset({"my", "the", "both", "either", "his", "her", "their", "of"})


def _extend_site_list(
    text: Text, lang: Language, code: str, first: int, last: int
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


def _sites(text: Text, lang: Language, entry: Entry, first: int, last: int) -> list[str | None]:
    if entry.site is not None or entry.code not in lang.sites:
        return [entry.site]
    regex, lookup = lang.sites[entry.code]
    span = text.string[text.starts[first] - 1 : text.starts[last - 1] + len(text.tokens[last - 1])]
    found = list(dict.fromkeys(lookup[m.group()] for m in regex.finditer(span + " ")))
    return list(found) if found else [None]


def _drop_subsumed(mentions: list[Mention]) -> list[Mention]:
    """Drop a mention inside another of the same code (or of a code it yields to): "tingling"
    inside "tingling in my fingers", "weakness" inside "weakness in my legs"."""

    def covers(big: Mention, small: Mention) -> bool:
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
    merged: list[Mention] = []
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
    text: Text, lang: Language, mention: Mention, before: dict[int, str], after: dict[int, str]
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
    text: Text,
    present: frozenset[str],
    lang: Language,
    mention: Mention,
    before: dict[int, str],
    memo: dict[int, list[tuple[int, int, str]]],
) -> tuple[set[str], int | None, str | None]:
    """Features, severity and trend from modifier phrases in or near the mention's words."""
    low, high = _modifier_window(text, lang, mention)

    def near(patterns: Patterns) -> bool:
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


def _modifier_window(text: Text, lang: Language, mention: Mention) -> tuple[int, int]:
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
