"""The phrase table's pattern language, compiled to regular expressions over a text's tokens."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from bonemets.core.triage.free_text.tokens import Text, phrase_words

# --- the pattern language --------------------------------------------------------------------

_GAP = re.compile(r"~(\d)")
_WORD_TOKEN = r"[^ .,]+ "  # one word or number token of the string (never punctuation)


def alternation(phrases: Iterable[str]) -> tuple[str, set[str]]:
    """A regex matching any of `phrases` (longest first) and the words they start with."""
    as_words = sorted({tuple(phrase_words(p)) for p in phrases}, key=lambda w: (-len(w), w))
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
class Pattern:
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

    def matches(self, text: Text) -> Iterator[re.Match[str]]:
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


def compile_pattern(
    source: str,
    classes: dict[str, list[str]],
    site_words: list[str] | None,
) -> Pattern:
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
    for element in elements(source):
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
            regex, _ = alternation(expand(body[1:], classes, source))
            parts.append(f"(?!{regex} )")
            continue
        if body == "<site>":
            if site_words is None:
                raise KeyError(f"free_text.toml: pattern {source!r} has <site> but no site words")
            regex, firsts = alternation(site_words)
            regex = f"(?P<site>{regex})"
            has_site = True
        elif body == "<number>":
            regex, firsts = r"(?P<number>\d+(?:\.\d+)?)", {"<number>"}
            has_number = True
        else:
            regex, firsts = alternation(expand(body, classes, source))
        parts.append(f"(?:{regex} )?" if optional else f"{regex} ")
        if not optional:
            requires.append(frozenset(firsts))
        if not started and starts is not None:
            starts |= firsts
            started = not optional
    if not requires:
        raise ValueError(f"free_text.toml: pattern {source!r} has no required element")
    return Pattern(
        source=source,
        expression="(?<= )" + "".join(parts),
        requires=tuple(requires),
        starts=frozenset(starts) if starts is not None else None,
        has_site=has_site,
        has_number=has_number,
        gaps=gaps,
    )


_ELEMENT = re.compile(r"!?\([^)]*\)\??|\S+")


def elements(source: str) -> list[str]:
    return _ELEMENT.findall(source)


def alternatives(body: str) -> list[str]:
    """`a|b`, or `(a b|c)` whose alternatives may be several words."""
    if body.startswith("(") and body.endswith(")"):
        body = body[1:-1]
    return [part.strip() for part in body.split("|")]


def expand(body: str, classes: dict[str, list[str]], source: str) -> list[str]:
    """The phrases of an element `a|{class}|b` or `(a b|{class})`."""
    phrases: list[str] = []
    for part in alternatives(body):
        if part.startswith("{") and part.endswith("}"):
            if part[1:-1] not in classes:
                raise KeyError(f"free_text.toml: pattern {source!r} uses unknown class {part}")
            phrases += classes[part[1:-1]]
        else:
            phrases.append(part)
    return phrases


@dataclass(frozen=True, slots=True)
class Patterns:
    """A list of patterns run as one regex (modifier phrases, cues, ignore lists): at each
    position the longest pattern that matches there."""

    items: tuple[Pattern, ...]
    combined: Pattern | None

    @classmethod
    def of(cls, items: tuple[Pattern, ...]) -> Patterns:
        if not items:
            return cls(items, None)
        ordered = sorted(items, key=lambda p: -len(p.source))
        bodies = [_GAP_GROUP.sub("(?:", p.expression.removeprefix("(?<= )")) for p in ordered]
        starts: frozenset[str] | None = frozenset()
        for p in items:
            starts = None if starts is None or p.starts is None else starts | p.starts
        combined = Pattern(
            source=" | ".join(p.source for p in ordered),
            expression="(?<= )(?:" + "|".join(bodies) + ")",
            requires=(),
            starts=starts,
            has_site=False,
            has_number=False,
            gaps=0,
        )
        return cls(items, combined)

    def spans(self, text: Text, present: frozenset[str]) -> list[tuple[int, int, str]]:
        """Token ranges [first, last) of the matches, with the words matched."""
        if self.combined is None:
            return []
        out = []
        for m in self.combined.matches(text):
            first, last = text.token_range(m.start(), m.end())
            out.append((first, last, m.group().strip()))
        return out


_GAP_GROUP = re.compile(r"\(\?P<gap\d+>")
