"""The light parser's byte-level look-up gives the keys of the regex it replaced, line for line."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from bonemets.population.keys import Keyed, classify, fast_key, fast_reference, key_of_reference

_REGEX = re.compile(rb'"(?:subject|patient)"\s*:\s*\{\s*"reference"\s*:\s*"([^"\\]*)"')


def regex_reference(line: bytes) -> bytes | None:
    """The original look-up: the regex, if the line holds one subject/patient and no contained."""
    m = _REGEX.search(line)
    if (
        m is None
        or line.count(b'"subject"') + line.count(b'"patient"') != 1
        or b'"contained"' in line
    ):
        return None
    return m.group(1)


def agrees(line: bytes) -> bool:
    """Same key as the regex; same reference too, bar one with a backslash (an escape: where the
    regex finds no match, `fast_reference` stops at the next quote and the key is refused). And
    the same reference with the line's end (pass 1 looks it up before stripping it)."""
    ref, expected = fast_reference(line), regex_reference(line)
    key = None if expected is None else key_of_reference(expected)
    escaped = ref is not None and b"\\" in ref
    ends = all(fast_reference(line + end) == ref for end in (b"\n", b"\r\n", b"\r\r\n"))
    return fast_key(line) == key and (None if escaped else ref) == expected and ends


# Pieces that make the look-up's edge cases likely: overlapping names, spacing, escapes, no end.
PIECES = [
    b'"subject"',
    b'"patient"',
    b'"contained"',
    b'subject"',
    b'patient"',
    b':{"reference":"',
    b'"reference"',
    b":",
    b"{",
    b"}",
    b",",
    b'"',
    b"\\",
    b'\\"',
    b" ",
    b"\t",
    b"\n",
    b"Patient/",
    b"urn:uuid:",
    b"p-1",
    b"\xff",
    b'{"resourceType":"Observation","id":"o1",',
]

noise = st.lists(st.sampled_from(PIECES), max_size=6).map(b"".join)


def usually(common: bytes, *others: bytes) -> st.SearchStrategy[bytes]:
    """`common` about half the time, else one of `others`."""
    return st.one_of(st.just(common), st.sampled_from(others))


# A compact reference field, each part of it sometimes changed, between two pieces of noise.
references = st.tuples(
    usually(b"", b'{"id":"o1",', b'"patient"', b'"contained"', b"\\", b"subject"),
    usually(b'"subject"', b'"patient"', b'"subject"subject"', b'"patient"subject"'),
    usually(b":", b" : ", b"\t:", b"", b":\n"),
    usually(b"{", b" {", b"{ ", b"["),
    usually(b'"reference":"', b'"reference" : "', b'"reference":', b'"ref":"'),
    usually(b"Patient/p1", b"Patient/p\\1", b"urn:uuid:p1", b"p\\", b"\xff", b""),
    usually(b'"', b"", b'\\"'),
    usually(b"}}", b',"subject":{}}', b',"patient":{}}', b',"contained":[]}', b"\\"),
).map(b"".join)


@settings(max_examples=500)
@given(st.one_of(noise, references))
def test_fast_reference_agrees_with_the_regex(line: bytes) -> None:
    assert agrees(line)


@given(st.binary(max_size=80), st.sampled_from(PIECES), st.binary(max_size=80))
def test_fast_reference_agrees_with_the_regex_around_noise(
    head: bytes, piece: bytes, tail: bytes
) -> None:
    for line in (head + piece + tail, head + b'"subject":{"reference":"' + tail):
        assert agrees(line)


def test_edge_cases() -> None:
    ref = b'{"subject":{"reference":"Patient/p1"},"code":{}}'
    cases = {
        ref: b"Patient/p1",
        ref.replace(b"subject", b"patient"): b"Patient/p1",
        ref.replace(b":{", b" : { "): b"Patient/p1",  # spaced: the regex path
        ref + b',"patient":{}': None,  # two fields
        ref + b',"subject":{}': None,
        ref + b',"contained":[]': None,
        ref.replace(b"p1", b"p\\u0031"): None,  # escaped: parsed instead
        b'{"subject":{"reference":"Patient/p1': None,  # no closing quote
        b'"subject"subject":{"reference":"Patient/p1"}': b"Patient/p1",  # overlapping names
        b'{"resourceType":"Patient","id":"p1"}': None,
    }
    for line, expected in cases.items():
        assert agrees(line) and regex_reference(line) == expected, line
    assert classify(ref) == classify(ref.replace(b"p1", b"p\\u0031")) == Keyed("p1")
