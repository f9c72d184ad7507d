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

from bonemets.core.triage.free_text.finder import DEFAULT_LANGUAGE, find_symptoms, positive
from bonemets.core.triage.free_text.implied import Implied, imply, quote_free_text, quotes_by_input
from bonemets.core.triage.free_text.table import languages

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
