"""Search the education library with SQLite FTS5: offline, ranked with BM25, with snippets.

The index is built in memory from the articles once per process (``index()``), one row per
passage (the summary, then each ``##`` section). Columns: ``title`` (article title and section
heading), ``keywords`` (the article's front-matter keywords and topics, on its summary passage
only: the words patients use, brand names),
``body`` (the passage text). The Porter stemmer matches "breaks" to "broken" and so on.

Deciding whether the library covers a question (``ask``) uses two tests, both tuned on the
question set in ``tests/education/test_search.py``:

1. relevance: the best passage's BM25 score (negated, so higher is better) is at least
   ``MIN_SCORE``;
2. coverage: the query's content words (stop words removed), weighted by their inverse document
   frequency, are mostly found in the best articles (the top ``COVERAGE_DEPTH`` results, the
   passages a reader is shown): ``sum(idf of words they contain) / sum(idf of all words) >=
   MIN_COVERAGE``. A word the library never uses ("passport") gets the
   highest weight, so a question that is mostly about something else is "not covered" even when
   one of its words ("bone") matches.

When either test fails, ``ask`` returns no results rather than a guess.

Safety net: whether or not an article covers it, a question that names a symptom needing action
("one leg is fat and hot and sore", "I fell and can't put weight on my hip") carries
``safety_net``: the question read by the triage phrase finder and run through ``triage`` as free
text with nothing known of the patient (unknown is the less reassuring case), giving the rule
table's own level, headline and advice with the rules and sources behind them. A red-flag question
is never answered only "not covered", and the words are the triage rules' words, not the
library's.
"""

from __future__ import annotations

import math
import re
import sqlite3
import threading
from dataclasses import dataclass, field, replace
from functools import cache

from bonemets.core.triage import triage
from bonemets.core.triage.free_text import find_symptoms, positive
from bonemets.core.triage.rules import FREE_TEXT
from bonemets.education.library import articles, passages

__all__ = [
    "MIN_COVERAGE",
    "MIN_SCORE",
    "Answer",
    "Index",
    "Result",
    "SafetyNet",
    "ask",
    "index",
    "safety_net",
]

MIN_SCORE = 3.0
MIN_COVERAGE = 0.75
COVERAGE_DEPTH = 3  # coverage is judged over the articles of the best 3 results together
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
}
_WORD = re.compile(r"[a-z0-9]+")


def _terms(question: str) -> list[str]:
    """The content words of a question, lower-cased, in order, without repeats."""
    text = question.lower().replace("'", "").replace("\u2019", "")
    words = [w for w in _WORD.findall(text) if w not in STOP_WORDS and len(w) > 1]
    return list(dict.fromkeys(words))


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
            "safety_net": self.safety_net.to_json() if self.safety_net else None,
        }


class Index:
    """An in-memory FTS5 index of the passages of every article."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._db.execute(
            "CREATE VIRTUAL TABLE passages USING fts5("
            "article UNINDEXED, section UNINDEXED, sources UNINDEXED, "
            "title, keywords, body, tokenize = 'porter unicode61')"
        )
        rows = []
        for item in articles().values():
            keywords = " ".join(item.keywords + item.topics)
            for passage in passages(item.id):
                first = passage.index == 0  # the summary carries the article's keywords
                rows.append(
                    (
                        item.id,
                        passage.heading,
                        "\n".join(passage.sources),
                        item.title if first else f"{item.title}: {passage.heading}",
                        keywords if first else "",
                        passage.text,
                    )
                )
        self._db.executemany(
            "INSERT INTO passages (article, section, sources, title, keywords, body) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )
        self._db.commit()
        self.passage_count = len(rows)

    def _articles_with(self, term: str) -> tuple[int, set[str]]:
        """How many passages contain `term` or a synonym (as the tokenizer sees them), and
        their articles."""
        found = self._db.execute(
            "SELECT article FROM passages WHERE passages MATCH ?", (_expanded(term),)
        ).fetchall()
        return len(found), {str(row[0]) for row in found}

    def _idf(self, count: int) -> float:
        n = self.passage_count
        return math.log((n - count + 0.5) / (count + 0.5) + 1.0)

    def search(self, question: str, limit: int = 5) -> Answer:
        terms = _terms(question)
        if not terms:
            return Answer(question, False, [], terms, reason="no content words in the question")
        with self._lock:
            per_term = {t: self._articles_with(t) for t in terms}
            query = " OR ".join(_expanded(t) for t in terms)
            w_title, w_keywords, w_body = WEIGHTS
            rows = self._db.execute(
                "SELECT article, section, sources, "
                f"-bm25(passages, 0, 0, 0, {w_title}, {w_keywords}, {w_body}) AS score, "
                "snippet(passages, 5, ?, ?, '…', 24) "
                "FROM passages WHERE passages MATCH ? ORDER BY score DESC LIMIT 60",
                (*HIGHLIGHT, query),
            ).fetchall()
        weights = {t: self._idf(count) for t, (count, _) in per_term.items()}
        total = sum(weights.values())
        best: dict[str, Result] = {}
        for article_id, section, source_text, score, marked in rows:
            if article_id in best:
                continue  # rows come best first: keep each article's best passage
            item = articles()[article_id]
            plain = marked.replace(HIGHLIGHT[0], "").replace(HIGHLIGHT[1], "")
            best[article_id] = Result(
                article=article_id,
                title=item.title,
                section=section,
                snippet=plain,
                sources=[s for s in str(source_text).split("\n") if s],
                score=float(score),
                url=item.url,
                marked=marked,
            )
        ranked = sorted(best.values(), key=lambda r: -r.score)
        if not ranked:
            return Answer(question, False, [], terms, reason="no passage matches any word")
        top = ranked[0]
        shown = {r.article for r in ranked[:COVERAGE_DEPTH]}
        found = sum(w for t, w in weights.items() if per_term[t][1] & shown)
        coverage = found / total if total > 0 else 0.0
        covered = top.score >= MIN_SCORE and coverage >= MIN_COVERAGE
        reason = ""
        if not covered:
            missing = [t for t in terms if not per_term[t][1] & shown]
            reason = (
                f"best match too weak (score {top.score:.2f} < {MIN_SCORE})"
                if top.score < MIN_SCORE
                else f"the best articles do not cover: {', '.join(missing)}"
            )
        return Answer(
            question=question,
            covered=covered,
            results=ranked[:limit] if covered else [],
            terms=terms,
            best_score=top.score,
            coverage=coverage,
            reason=reason,
        )


@cache
def index() -> Index:
    """The index of the packaged articles, built once per process."""
    return Index()


def ask(question: str, limit: int = 5) -> Answer:
    """The best passages for a patient's question, or ``covered=False`` with no results; with
    the triage rules' advice (`safety_net`) when the question names a symptom that needs it."""
    answer = index().search(question, limit)
    net = safety_net(question)
    return replace(answer, safety_net=net) if net is not None else answer
