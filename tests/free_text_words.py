"""The common English words the phrase finder must never correct: those within its edit limits of
a phrase-table word (so "sitting" is never read as "fitting"). Generated from pyspellchecker's
word-frequency list (a test dependency) into the packaged knowledge/free_text_words_<lang>.txt,
which is all the finder needs at run time; a test checks the file is up to date.

    .venv/bin/python -m tests.free_text_words      # rewrite the file after changing the table
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein
from spellchecker import SpellChecker

from bonemets.core.knowledge import load
from bonemets.core.triage.free_text.table import table_for


def near_real_words(language: str) -> list[str]:
    lang = table_for(language)
    table = load("free_text")["languages"][language]
    fuzzy = lang.fuzzy
    dictionary = SpellChecker(language=table["spelling_dictionary"], distance=1).word_frequency
    words = sorted(
        w
        for w, count in dictionary.dictionary.items()
        if count >= fuzzy["real_word_min_count"]
        and len(w) >= fuzzy["min_length"]
        and w.isalpha()
        and w not in lang.vocabulary
    )
    distances = process.cdist(
        words,
        lang.vocabulary_list,
        scorer=Levenshtein.distance,
        score_cutoff=fuzzy["max_edits_long"],
        dtype=np.int32,
        workers=1,
    )
    limits = np.array(
        [
            fuzzy["max_edits_long"] if len(w) >= fuzzy["long_from"] else fuzzy["max_edits"]
            for w in words
        ]
    )
    near = (distances <= limits[:, None]).any(axis=1)
    return [w for w, keep in zip(words, near, strict=True) if keep]


def packaged_path(language: str) -> Path:
    name = load("free_text")["languages"][language]["real_words"]
    return Path(str(resources.files("bonemets.knowledge").joinpath(name)))


def render(words: list[str]) -> str:
    return "\n".join(words) + "\n"


if __name__ == "__main__":
    for code in load("free_text")["languages"]:
        path = packaged_path(code)
        path.write_text(render(near_real_words(code)), encoding="utf-8")
        print(f"wrote {path}")
