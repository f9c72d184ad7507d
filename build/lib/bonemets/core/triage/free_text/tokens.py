"""A text as tokens: lower-case words without apostrophes, numbers, commas and full stops,
and one string the phrase patterns run on."""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass

STOP = "."  # the token every sentence-ending mark becomes

# --- tokens ----------------------------------------------------------------------------------

TOKEN = re.compile(
    r"(?P<number>\d+(?:[.,]\d+)?)"
    r"|(?P<word>[^\W\d_]+(?:['’`][^\W\d_]+)*)"
    r"|(?P<stop>[.!?;:\n]+|(?<!\S)[-–—]+(?!\S)|[–—]+)"
    r"|(?P<comma>,)"
    r"|(?P<amp>&|\+)"
)
_APOSTROPHES = str.maketrans("", "", "'’`")


_POSSESSIVE = re.compile(r"['’`]s$")


def canonical_word(word: str) -> str:
    """Lower case, no apostrophes, and no "'s" ("my back's killing me", "foot's asleep")."""
    return _POSSESSIVE.sub("", word.lower()).translate(_APOSTROPHES)


@dataclass(slots=True)
class Text:
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


def tokenise(raw: str, correct: Callable[[str], str]) -> Text:
    tokens: list[str] = []
    spans: list[tuple[int, int]] = []
    for m in TOKEN.finditer(raw):
        kind = m.lastgroup
        if kind == "word":
            token = correct(canonical_word(m.group()))
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
    return Text(raw, tokens, spans, " " + " ".join(tokens) + " ", starts, positions)


def phrase_words(phrase: str) -> list[str]:
    """A phrase of the knowledge file as the tokens a text would give for it."""
    words = []
    for m in TOKEN.finditer(phrase):
        if m.lastgroup == "word":
            words.append(canonical_word(m.group()))
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
