"""Search the education library: hybrid lexical (SQLite FTS5, BM25) and semantic (sentence
embeddings), offline, with snippets.

Passages: one per article section (the summary, then each ``##`` section) and, for the semantic
side only, one more per article made of its title, summary and front-matter keywords (the words
patients use, brand names).

1. Lexical: an in-memory FTS5 index (``title``, ``keywords``, ``body``; the Porter stemmer
   matches "breaks" to "broken"). A misspelt name of a drug or condition is first corrected to
   the nearest of the articles' names for things (titles, keywords, topics; ``_corrections``:
   "zomita" -> "zometa", "xjeva" -> "xgeva"), never an everyday word; patient words, US
   spellings and brand names are expanded with ``SYNONYMS`` ("prolia" -> denosumab).
2. Meaning, two ways, with WordLlama's static embedding model (``bonemets.education.embed``,
   shipped in its PyPI wheel, CPU, no download): the cosine similarity of the question to each
   passage, and a word match: each question word's closest word in the article, averaged over
   the question's words ("thirsty, sick, constipated, muddled" finds thirst, sick,
   constipation and confused together only in the high-calcium article).
3. Fusion (``fuse``): a passage scores ``SEMANTIC_WEIGHT`` x its cosine + ``WORD_WEIGHT`` x its
   article's word match + the rest x its BM25 squashed to [0, 1) (``bm25 / (bm25 +
   BM25_HALF)``); an article ranks by its best passage, which is the one shown.

Deciding whether the library covers a question: the top article's score must be at least
``MIN_CONFIDENCE``. One word the library does not know no longer refuses a whole question (the
old test that nearly every word be found did: "zomita", "kitchen", "stairs"); an off-topic
question is refused because neither its words nor its meaning come near any article. The
weights and the threshold are tuned on the training part of
``tests/education/patient_questions.py`` (a grid search in ``bench/education_search.py``) and
checked on its held-out part (``tests/education/test_search_eval.py``).

Safety net: whether or not an article covers it, a question that names a symptom needing action
("one leg is fat and hot and sore", "I fell and can't put weight on my hip") carries
``safety_net``: the question read by the triage phrase finder and run through ``triage`` as free
text with nothing known of the patient (unknown is the less reassuring case), giving the rule
table's own level, headline and advice with the rules and sources behind them. A red-flag question
is never answered only "not covered", and the words are the triage rules' words, not the
library's. Among the best three results, the articles that explain the rules it sets off come
first.
"""

from __future__ import annotations

import math
import re
import sqlite3
import threading
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources

import numpy as np
from numpy.typing import NDArray
from rapidfuzz import fuzz, process

from bonemets.core.knowledge import load
from bonemets.core.triage import triage
from bonemets.core.triage.free_text import find_symptoms, positive
from bonemets.core.triage.rules import FREE_TEXT
from bonemets.education.embed import embed
from bonemets.education.library import article_for_rule, articles, passages

__all__ = [
    "BM25_HALF",
    "MIN_CONFIDENCE",
    "SEMANTIC_WEIGHT",
    "Answer",
    "Index",
    "Result",
    "SafetyNet",
    "ask",
    "index",
    "safety_net",
]

# Tuned on the training half of tests/education/patient_questions.py by
# bench/education_search.py (grid search; see that script for the grid and the figures).
SEMANTIC_WEIGHT = 0.4  # share of the passage cosine in an article's score
WORD_WEIGHT = 0.4  # share of the word-by-word match (`Evidence.words`); the rest is BM25
BM25_HALF = 1.0  # the BM25 score that counts as half a lexical match
MIN_CONFIDENCE = 0.575  # the top article's fused score needed to answer at all
# A word the library never uses is read as the nearest library word at least this similar
# (rapidfuzz ratio, 0-100), if it has at least MIN_CORRECT_LENGTH letters.
CORRECTION_SCORE = 80.0
MIN_CORRECT_LENGTH = 5
LEAD_DEPTH = 3  # the safety net's articles may move to the front from among the best 3
SNIPPET_WORDS = 28  # a semantic-only match shows the passage's first words
# BM25 column weights: title, keywords, body.
WEIGHTS = (4.0, 2.0, 1.0)
HIGHLIGHT = ("\x02", "\x03")  # snippet markers: never in article text; the web page turns
# them into <mark>, the CLI and JSON drop them

_STOP_TEXT = """
    a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other ought
    our ours ourselves out over own same she should so some such than that the their theirs
    them themselves then there these they this those through to too under until up very was we
    were what when where which while who whom why will with would you your yours yourself
    yourselves im ive id dont doesnt didnt cant cannot wont isnt arent wasnt shouldnt couldnt
    wouldnt get got getting go going gone make made need needs needed want wanted tell told say
    said know think ok okay please thanks thank really still much many lot lots thing things
    way something anything everything someone anyone normal bad good better best may might must
    shall us ever yet one two like take taking took give given giving long often well new mean
    means happen happens happening usually always sometimes feel feels feeling felt thought
    guess wonder wondering worried worry seem seems properly easily quite bit little even keep
    keeps kept put went come came day days week weeks time times ago since years year months
    month last first next alright fine sure whether instead
"""
STOP_WORDS = frozenset(_STOP_TEXT.split())
# Patient words -> the words the articles use. A query word counts as found in an article when
# it or one of these is there (query expansion; the FTS query ORs them).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "hurt": ("pain", "harm"),
    "hurts": ("pain",),
    "hurting": ("pain",),
    "sore": ("pain",),
    "painful": ("pain",),
    "achy": ("aches", "ache"),
    "shivery": ("shivers", "shivering"),
    "shaky": ("shivers",),
    "aching": ("ache",),
    "wee": ("urine",),
    "weeing": ("urine",),
    "pee": ("urine",),
    "peeing": ("urine",),
    "tummy": ("belly",),
    "stomach": ("belly",),
    "jab": ("injection",),
    "shot": ("injection",),
    "infusion": ("drip",),
    "tablets": ("tablet",),
    "pills": ("tablet",),
    "pill": ("tablet",),
    "breakfast": ("food", "eat"),
    "meal": ("food",),
    "meals": ("food",),
    "lost": ("loss", "control"),
    "catch": ("breath",),
    "breath": ("breathless", "breathlessness"),
    "tooth": ("teeth", "dental"),
    "teeth": ("tooth", "dental"),
    "dentist": ("dental",),
    "kidney": ("kidneys",),
    "tired": ("tiredness", "fatigue"),
    "exhausted": ("tiredness", "fatigue"),
    "cured": ("cure",),
    "dying": ("end", "life"),
    "die": ("end", "life"),
    "operation": ("surgery",),
    "xray": ("x-ray",),
    "temp": ("temperature",),
    "mets": ("metastases",),
    "metastasis": ("metastases",),
    "metastatic": ("metastases",),
    # US spellings of words the articles spell the UK way.
    "tumor": ("tumour",),
    "tumors": ("tumours",),
    "anemia": ("anaemia",),
    "diarrhea": ("diarrhoea",),
    "esophagus": ("oesophagus",),
    "estrogen": ("oestrogen",),
    # Brand and everyday names of medicines the articles name by their generic name.
    "prolia": ("denosumab",),
    "aredia": ("pamidronate",),
    "bonviva": ("ibandronate",),
    "adcal": ("calcium", "supplement"),
    "calcichew": ("calcium", "supplement"),
    "oramorph": ("morphine",),
    "nurofen": ("ibuprofen",),
    "dex": ("dexamethasone",),
}
_BRANDS = frozenset(
    {"prolia", "aredia", "bonviva", "adcal", "calcichew", "oramorph", "nurofen", "dex"}
)
_WORD = re.compile(r"[a-z0-9]+")
_ENDINGS = ("s", "es", "ed", "d", "ing", "er", "ers", "ly")


def _terms(question: str) -> list[str]:
    """The content words of a question, lower-cased, in order, without repeats."""
    text = question.lower().replace("'", "").replace("\u2019", "")
    words = [w for w in _WORD.findall(text) if w not in STOP_WORDS and len(w) > 1]
    return list(dict.fromkeys(words))


@cache
def _common_words() -> frozenset[str]:
    """Common English words near medical words (the free-text finder's packaged list, made from
    pyspellchecker's frequency list): a word here is never "corrected"."""
    name = load("free_text")["languages"]["en"]["real_words"]
    text = resources.files("bonemets.knowledge").joinpath(name).read_text("utf-8")
    return frozenset(text.split())


def _is_common_word(word: str) -> bool:
    common = _common_words()
    stems = [word] + [word[: -len(end)] for end in _ENDINGS if word.endswith(end)]
    return any(s in common or s + "e" in common for s in stems)


def _quoted(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _expanded(term: str) -> str:
    """`term` or any of its synonyms, as an FTS5 query."""
    words = (term, *SYNONYMS.get(term, ()))
    return "(" + " OR ".join(_quoted(w) for w in words) + ")"


@dataclass(frozen=True)
class Result:
    article: str
    title: str
    section: str
    snippet: str  # plain text; HIGHLIGHT markers removed
    sources: list[str]
    score: float
    url: str
    marked: str = ""  # the snippet with HIGHLIGHT markers around matched words


@dataclass(frozen=True)
class SafetyNet:
    """What to do now about a symptom the question names, from the triage rules."""

    level: str
    headline: str
    advice: list[str]
    patient_action: str
    rules: list[str]  # the triage rules that set it, most urgent first
    sources: list[str]  # their sources, in order
    words: list[str]  # the question's words that name the symptoms
    unverified: bool  # a rule rests on an unverified number or a project policy
    disclaimer: str

    def to_json(self) -> dict[str, object]:
        return {
            "level": self.level,
            "headline": self.headline,
            "advice": self.advice,
            "patient_action": self.patient_action,
            "rules": self.rules,
            "sources": self.sources,
            "words": self.words,
            "unverified": self.unverified,
            "disclaimer": self.disclaimer,
        }


def safety_net(question: str) -> SafetyNet | None:
    """The triage advice for the symptoms `question` names, when one of them needs the care team
    (level `soon` or above); None when it names none."""
    if not positive(find_symptoms(question)):
        return None
    result = triage({"symptoms": [], "free_text": question})
    reasons = [r for r in result.reasons if r.rule != FREE_TEXT]
    if not reasons or not result.level.alerts_care_team:
        return None
    sources: list[str] = []
    for reason in reasons:
        sources += [s for s in reason.sources if s not in sources]
    return SafetyNet(
        level=result.level.value,
        headline=result.headline,
        advice=result.advice,
        patient_action=result.patient_action,
        rules=[r.rule for r in reasons],
        sources=sources,
        words=list(dict.fromkeys(f.quote for f in result.free_text_findings if f.use == "implied")),
        unverified=any(r.unverified for r in reasons if r.level is result.level),
        disclaimer=result.disclaimer,
    )


@dataclass(frozen=True)
class Answer:
    question: str
    covered: bool
    results: list[Result]
    terms: list[str] = field(default_factory=list)
    best_score: float = 0.0
    coverage: float = 0.0
    reason: str = ""
    # The triage rules' advice when the question names a symptom that needs action.
    safety_net: SafetyNet | None = None
    # Misspelt words read as library words ("zomita" -> "zometa").
    corrections: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        """The `bonemets ask --json` shape: question, covered, results (best first)."""
        return {
            "question": self.question,
            "covered": self.covered,
            "results": [
                {
                    "article": r.article,
                    "title": r.title,
                    "snippet": r.snippet,
                    "sources": r.sources,
                    "section": r.section,
                    "score": round(r.score, 3),
                    "url": r.url,
                }
                for r in self.results
            ],
            "terms": self.terms,
            "best_score": round(self.best_score, 3),
            "coverage": round(self.coverage, 3),
            "reason": self.reason,
            "corrections": self.corrections,
            "safety_net": self.safety_net.to_json() if self.safety_net else None,
        }


@dataclass(frozen=True)
class _Row:
    """One indexed passage: where it comes from and what it shows."""

    article: str
    section: str
    sources: tuple[str, ...]
    text: str
    lexical: bool  # in the FTS index (the keywords passage is semantic only)


@dataclass(frozen=True)
class Scored:
    """An article's evidence for one question (before the refusal gate)."""

    article: str
    row: int  # its best passage (index into Index.rows)
    cosine: float  # best passage cosine similarity
    bm25: float  # best passage BM25 (negated: higher is better; 0 without a match)
    score: float  # the fused score


def fuse(
    cosines: NDArray[np.float32],
    bm25: NDArray[np.float32],
    words: NDArray[np.float32],
    semantic_weight: float,
    bm25_half: float,
    word_weight: float,
) -> NDArray[np.float32]:
    """A passage's score from its cosine, its BM25 and its article's word match (arrays of the
    same shape): the one formula of the ranking, also used by the tuning bench."""
    lexical = bm25 / (bm25 + bm25_half)
    rest = 1.0 - semantic_weight - word_weight
    fused: NDArray[np.float32] = (
        semantic_weight * cosines + word_weight * words + rest * lexical
    ).astype(np.float32)
    return fused


@dataclass(frozen=True)
class Evidence:
    """A question read against every passage: its words, the spelling corrections, and each
    passage's cosine similarity and BM25 score (0 without a lexical match)."""

    terms: list[str]
    corrections: dict[str, str]
    cosines: NDArray[np.float32]
    bm25: NDArray[np.float32]
    lexical: dict[int, tuple[float, str]]  # row -> (BM25, marked snippet)
    # By article (Index.names): the mean over the question's words of each word's closest
    # word in the article (cosine, 0 at worst): "thirsty, sick, constipated, muddled" finds
    # thirst, sick, constipation and confused all in one article.
    words: NDArray[np.float32]


class Index:
    """An in-memory FTS5 index and an embedding matrix of the passages of every article."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._db.execute(
            "CREATE VIRTUAL TABLE passages USING fts5("
            "row UNINDEXED, title, keywords, body, tokenize = 'porter unicode61')"
        )
        self.rows: list[_Row] = []
        fts: list[tuple[int, str, str, str]] = []
        semantic: list[str] = []
        words: set[str] = set()
        for item in articles().values():
            keywords = " ".join(item.keywords + item.topics)
            for passage in passages(item.id):
                first = passage.index == 0  # the summary carries the article's keywords
                title = item.title if first else f"{item.title}: {passage.heading}"
                fts.append((len(self.rows), title, keywords if first else "", passage.text))
                semantic.append(f"{title}. {passage.text}")
                self.rows.append(
                    _Row(item.id, passage.heading, passage.sources, passage.text, True)
                )
                words.update(_WORD.findall(f"{title} {passage.text}".lower()))
            # The words patients use, as one more passage for the meaning side only.
            semantic.append(f"{item.title}. {item.summary} {', '.join(item.keywords)}")
            self.rows.append(_Row(item.id, "In short", item.sources, item.summary, False))
            words.update(_WORD.findall(f"{keywords} {item.summary}".lower()))
        self._db.executemany(
            "INSERT INTO passages (row, title, keywords, body) VALUES (?, ?, ?, ?)", fts
        )
        self._db.commit()
        self.passage_count = len(fts)
        self.vocabulary = sorted(w for w in words if len(w) > 2 and not w.isdigit())
        self._known = frozenset(words)
        # Misspellings are corrected only towards the articles' names for things (titles,
        # keywords, topics: drugs, conditions, tests), never towards everyday words
        # ("sense" is not a misspelt "dense").
        self._names_for_things = sorted(
            {
                w
                for item in articles().values()
                for w in _WORD.findall(" ".join([item.title, *item.keywords, *item.topics]).lower())
                if len(w) >= MIN_CORRECT_LENGTH and not _is_common_word(w)
            }
        )
        self.vectors = embed(semantic)
        # Articles in row order, each row's article, and which library words each article uses.
        self.names = list(dict.fromkeys(r.article for r in self.rows))
        self.row_article = np.array([self.names.index(r.article) for r in self.rows])
        content = [w for w in self.vocabulary if w not in STOP_WORDS]
        self._word_vectors = embed(content)
        position = {w: i for i, w in enumerate(content)}
        self._uses: list[NDArray[np.intp]] = []  # by article: the library words it uses
        for name in self.names:
            item = articles()[name]
            text = " ".join([item.title, item.summary, *item.keywords, *item.topics, item.body])
            found = {position[w] for w in _WORD.findall(text.lower()) if w in position}
            self._uses.append(np.array(sorted(found), dtype=np.intp))

    # --- lexical ---------------------------------------------------------------------------

    def _corrections(self, terms: list[str]) -> dict[str, str]:
        """Misspelt words (not in any article) -> the nearest library word, when close."""
        out: dict[str, str] = {}
        for term in terms:
            if term in self._known or term in SYNONYMS or len(term) < MIN_CORRECT_LENGTH:
                continue
            if _is_common_word(term):
                continue  # "paint" is not a misspelt "pain", nor "table" of "tablet"
            found = process.extractOne(
                term, self._names_for_things, scorer=fuzz.ratio, score_cutoff=CORRECTION_SCORE
            )
            if found is not None:
                out[term] = str(found[0])
        return out

    def _lexical(self, terms: list[str]) -> dict[int, tuple[float, str]]:
        """BM25 (higher is better) and the marked snippet of each matching passage, by row."""
        query = " OR ".join(_expanded(t) for t in terms)
        w_title, w_keywords, w_body = WEIGHTS
        with self._lock:
            found = self._db.execute(
                "SELECT row, "
                f"-bm25(passages, 0, {w_title}, {w_keywords}, {w_body}) AS score, "
                "snippet(passages, 3, ?, ?, '…', 24) "
                "FROM passages WHERE passages MATCH ? ORDER BY score DESC LIMIT 200",
                (*HIGHLIGHT, query),
            ).fetchall()
        return {int(row): (float(score), str(marked)) for row, score, marked in found}

    def _words_found(self, term: str) -> int:
        """How many passages contain `term` or a synonym (as the tokenizer sees them)."""
        with self._lock:
            row = self._db.execute(
                "SELECT count(*) FROM passages WHERE passages MATCH ?", (_expanded(term),)
            ).fetchone()
        return int(row[0])

    # --- both --------------------------------------------------------------------------------

    def evidence(self, question: str) -> Evidence:
        """Everything the ranking needs, before any weight or threshold is applied."""
        terms = _terms(question)
        corrections = self._corrections(terms)
        query_terms = list(dict.fromkeys([corrections.get(t, t) for t in terms]))
        lexical = self._lexical(query_terms) if query_terms else {}
        # The meaning side reads the question with its corrections and the generic names of
        # brands ("prolia" -> denosumab), which a general-purpose model cannot know.
        extra = [
            *corrections.values(),
            *(w for t in query_terms if t in _BRANDS for w in SYNONYMS[t]),
        ]
        text = " ".join([question, *extra])
        cosines = self.vectors @ embed([text])[0]
        bm25 = np.zeros(len(self.rows), dtype=np.float32)
        for row, (score, _) in lexical.items():
            bm25[row] = score
        generic = [SYNONYMS[t][0] if t in _BRANDS else t for t in query_terms]
        return Evidence(terms, corrections, cosines, bm25, lexical, self._word_match(generic))

    def _word_match(self, terms: list[str]) -> NDArray[np.float32]:
        if not terms:
            return np.zeros(len(self.names), dtype=np.float32)
        # (term, library word). One matrix-vector product per word: a matrix-matrix product
        # of these shapes took 25 ms in the BLAS (its threads), the loop 0.1 ms.
        sims = np.clip(np.stack([self._word_vectors @ v for v in embed(terms)]), 0.0, 1.0)
        best = np.stack([sims[:, used].max(axis=1) for used in self._uses], axis=1)
        match: NDArray[np.float32] = best.mean(axis=0).astype(np.float32)  # by article
        return match

    def rank(
        self,
        evidence: Evidence,
        semantic_weight: float = SEMANTIC_WEIGHT,
        bm25_half: float = BM25_HALF,
        word_weight: float = WORD_WEIGHT,
    ) -> list[Scored]:
        """Every article with its best passage by fused score, best first."""
        fused = fuse(
            evidence.cosines,
            evidence.bm25,
            evidence.words[self.row_article],
            semantic_weight,
            bm25_half,
            word_weight,
        )
        best: dict[str, Scored] = {}
        for i, row in enumerate(self.rows):
            seen = best.get(row.article)
            if seen is None or fused[i] > seen.score:
                best[row.article] = Scored(
                    row.article,
                    i,
                    float(evidence.cosines[i]),
                    float(evidence.bm25[i]),
                    float(fused[i]),
                )
        return sorted(best.values(), key=lambda r: -r.score)

    def _result(self, scored: Scored, lexical: dict[int, tuple[float, str]]) -> Result:
        row = self.rows[scored.row]
        item = articles()[row.article]
        marked = lexical.get(scored.row, (0.0, ""))[1]
        if not marked or HIGHLIGHT[0] not in marked:
            words = row.text.split()
            marked = " ".join(words[:SNIPPET_WORDS]) + ("…" if len(words) > SNIPPET_WORDS else "")
        plain = marked.replace(HIGHLIGHT[0], "").replace(HIGHLIGHT[1], "")
        return Result(
            article=row.article,
            title=item.title,
            section=row.section,
            snippet=plain,
            sources=list(row.sources),
            score=scored.score,
            url=item.url,
            marked=marked,
        )

    def _coverage(self, terms: list[str], corrections: dict[str, str], top: str) -> float:
        """The idf-weighted share of the question's words found in the top article (shown,
        not used to refuse)."""
        n = self.passage_count
        total = found = 0.0
        text = " ".join(r.text for r in self.rows if r.article == top).lower()
        for term in terms:
            word = corrections.get(term, term)
            count = self._words_found(word)
            weight = math.log((n - count + 0.5) / (count + 0.5) + 1.0)
            total += weight
            if count and any(w in text for w in (word, *SYNONYMS.get(word, ()))):
                found += weight
        return found / total if total else 0.0

    def search(self, question: str, limit: int = 5, first: tuple[str, ...] = ()) -> Answer:
        """The answer to `question`; when it is covered, those of the best `LEAD_DEPTH`
        articles that are in `first` move to the front, in `first`'s order. Only a reordering
        among the best few: a loosely read symptom cannot push a better match out of view."""
        evidence = self.evidence(question)
        terms, corrections, lexical = evidence.terms, evidence.corrections, evidence.lexical
        if not terms:
            return Answer(question, False, [], terms, reason="no content words in the question")
        ranked = self.rank(evidence)
        top = ranked[0]
        covered = top.score >= MIN_CONFIDENCE
        if covered and first:
            best = ranked[:LEAD_DEPTH]
            lead = [r for a in first for r in best if r.article == a]
            ranked = lead + [r for r in best if r not in lead] + ranked[LEAD_DEPTH:]
        reason = ""
        if not covered:
            reason = (
                f"no article is close enough to the question (best {top.score:.2f} "
                f"< {MIN_CONFIDENCE})"
            )
        return Answer(
            question=question,
            covered=covered,
            results=[self._result(r, lexical) for r in ranked[:limit]] if covered else [],
            terms=terms,
            best_score=top.score,
            coverage=self._coverage(terms, corrections, top.article),
            reason=reason,
            corrections=corrections,
        )


@cache
def index() -> Index:
    """The index of the packaged articles, built once per process."""
    return Index()


def ask(question: str, limit: int = 5) -> Answer:
    """The best passages for a patient's question, or ``covered=False`` with no results; with
    the triage rules' advice (`safety_net`) when the question names a symptom that needs it."""
    net = safety_net(question)
    if net is None:
        return index().search(question, limit)
    # Among the best few, the articles that explain the triage rules the question sets off
    # lead the answer: "thirsty, sick, constipated and muddled" fires the calcium rules, so
    # high calcium comes before pain relief (constipation). Never turns a refusal into an
    # answer, never brings in an article the ranking did not put near the top.
    first = [a.id for rule in net.rules if (a := article_for_rule(rule)) is not None]
    answer = index().search(question, limit, tuple(dict.fromkeys(first)))
    return replace(answer, safety_net=net)
