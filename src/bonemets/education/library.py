"""The patient education library: plain-language articles in ``knowledge/articles/*.md``.

Each article is Markdown with YAML front matter (id, title, summary, sources, last_reviewed,
topics, keywords, triage_rules, alert_rules). Every factual statement carries a citation marker
``[^source-id]`` naming an id of the source registry (``bonemets.core.knowledge.sources``); the
renderer turns the markers into numbered references, in order of first use, listed under the
article. Markdown is rendered with markdown-it-py with raw HTML switched off, so nothing in an
article can inject markup.

Pure apart from reading the packaged files once (cached).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from html import escape
from importlib import resources
from typing import Any

import yaml  # type: ignore[import-untyped, unused-ignore]
from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

from bonemets.core.knowledge import Source, sources
from bonemets.education.rule_advice import expand as expand_advice

__all__ = [
    "Article",
    "Passage",
    "Reference",
    "Rendered",
    "article",
    "article_for_rule",
    "articles",
    "articles_for_assessment",
    "cited_ids",
    "parse_translation",
    "passages",
    "render",
    "render_article",
    "render_markdown",
    "text_blocks",
    "uncited_blocks",
]

_FRONT = re.compile(r"\A---\n(.*?)\n---\n(.*)\Z", re.S)
# A source id: letters, digits and - _ . : (as in "seed:secondary-breast-cancer-in-the-bone").
_CITE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]*")
_ARTICLE_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
REQUIRED = ("id", "title", "summary", "sources", "last_reviewed", "topics", "triage_rules")


@dataclass(frozen=True)
class Article:
    id: str
    title: str
    summary: str
    sources: tuple[str, ...]
    last_reviewed: dt.date
    topics: tuple[str, ...]
    triage_rules: tuple[str, ...]
    body: str
    order: int = 100
    keywords: tuple[str, ...] = ()
    alert_rules: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        return f"/learn/{self.id}"


@dataclass(frozen=True)
class Reference:
    number: int
    source: Source


@dataclass(frozen=True)
class Rendered:
    html: str
    references: list[Reference]


@dataclass(frozen=True)
class Passage:
    """One section of an article, as plain text, with the sources its text cites."""

    article: str
    index: int
    heading: str
    text: str
    sources: tuple[str, ...] = field(default_factory=tuple)


# --- Markdown -----------------------------------------------------------------------------------


def _cite_rule(state: StateInline, silent: bool) -> bool:
    """``[^source-id]``: a citation marker (not a link, not a footnote definition)."""
    src, pos = state.src, state.pos
    if not src.startswith("[^", pos):
        return False
    end = src.find("]", pos + 2)
    if end < 0:
        return False
    key = src[pos + 2 : end]
    if not _CITE_ID.fullmatch(key):
        return False
    if not silent:
        token = state.push("cite", "", 0)
        token.meta = {"id": key}
    state.pos = end + 1
    return True


def _render_cite(
    _self: RendererHTML, tokens: Sequence[Token], idx: int, _options: OptionsDict, env: EnvType
) -> str:
    key = str(tokens[idx].meta["id"])
    order: list[str] = env.setdefault("cites", [])
    if key not in order:
        order.append(key)
    number = order.index(key) + 1
    return f'<sup class="cite"><a href="#ref-{number}" title="{escape(key)}">[{number}]</a></sup>'


@cache
def _md() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable("table")
    md.inline.ruler.before("link", "cite", _cite_rule)
    md.add_render_rule("cite", _render_cite)
    return md


def render_markdown(text: str) -> tuple[str, list[str]]:
    """HTML of `text` (raw HTML escaped) and the cited source ids in order of first use."""
    env: dict[str, Any] = {}
    html = _md().render(text, env)
    return html, list(env.get("cites", []))


# --- Loading ------------------------------------------------------------------------------------


def _tuple(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{where}: expected a list of strings")
    return tuple(value)


def _front(text: str, name: str) -> tuple[dict[str, Any], str]:
    """(front matter, body) of an article file."""
    found = _FRONT.match(text.replace("\r\n", "\n"))
    if found is None:
        raise ValueError(f"{name}: no YAML front matter between --- lines")
    try:
        meta = yaml.safe_load(found.group(1))
    except yaml.YAMLError as exc:
        raise ValueError(f"{name}: front matter is not valid YAML: {exc}") from None
    if not isinstance(meta, dict):
        raise ValueError(f"{name}: front matter is not a mapping")
    return meta, found.group(2)


def _require(meta: dict[str, Any], keys: Sequence[str], name: str) -> None:
    missing = [k for k in keys if k not in meta]
    if missing:
        raise ValueError(f"{name}: front matter lacks {', '.join(missing)}")


def _date(value: Any, where: str) -> dt.date:
    day = dt.date.fromisoformat(value) if isinstance(value, str) else value
    if not isinstance(day, dt.date):
        raise ValueError(f"{where} must be a date (YYYY-MM-DD)")
    return day


def parse_article(text: str, name: str = "<article>") -> Article:
    """An article from its Markdown file text. Raises ValueError naming the problem."""
    meta, body = _front(text, name)
    _require(meta, REQUIRED, name)
    reviewed = _date(meta["last_reviewed"], f"{name}: last_reviewed")
    article_id = str(meta["id"])
    if not _ARTICLE_ID.fullmatch(article_id):
        raise ValueError(f"{name}: id {article_id!r} must be lowercase words joined by -")
    return Article(
        id=article_id,
        title=str(meta["title"]),
        summary=str(meta["summary"]),
        sources=_tuple(meta["sources"], f"{name}: sources"),
        last_reviewed=reviewed,
        topics=_tuple(meta["topics"], f"{name}: topics"),
        triage_rules=_tuple(meta["triage_rules"], f"{name}: triage_rules"),
        # Advice markers become the triage rule's own words (education/rule_advice.py).
        body=expand_advice(body.strip()) + "\n",
        order=int(meta.get("order", 100)),
        keywords=_tuple(meta.get("keywords"), f"{name}: keywords"),
        alert_rules=_tuple(meta.get("alert_rules"), f"{name}: alert_rules"),
    )


@cache
def articles() -> dict[str, Article]:
    """Every article, by id, in reading order (`order`, then title)."""
    folder = resources.files("bonemets.knowledge").joinpath("articles")
    found: list[Article] = []
    for entry in folder.iterdir():
        if entry.name.endswith(".md"):
            parsed = parse_article(entry.read_text("utf-8"), entry.name)
            if entry.name != f"{parsed.id}.md":
                raise ValueError(f"{entry.name}: file name must be {parsed.id}.md")
            found.append(parsed)
    found.sort(key=lambda a: (a.order, a.title))
    return {a.id: a for a in found}


def article(article_id: str) -> Article | None:
    return articles().get(article_id)


# --- Translations: a file beside the English article ---------------------------------------------

TRANSLATION_REQUIRED = ("id", "title", "summary", "translates")


def parse_translation(
    text: str, english: Article, name: str, translate: Callable[[str], str]
) -> Article:
    """A translated article: its own title, summary and body over the English article's sources,
    rules, topics and review. Front matter: id (the English article's), title, summary and
    `translates`, the English article's last_reviewed it was translated from. Advice markers
    become the rule's words through `translate` (the language's catalogue). Raises ValueError
    naming the problem."""
    meta, body = _front(text, name)
    _require(meta, TRANSLATION_REQUIRED, name)
    if str(meta["id"]) != english.id:
        raise ValueError(f"{name}: id {meta['id']!r} is not the English article's {english.id!r}")
    translates = _date(meta["translates"], f"{name}: translates")
    if translates != english.last_reviewed:
        # The English was reviewed since (or the date is wrong): its advice may have changed.
        raise ValueError(
            f"{name}: translates the version of {translates}, the English was reviewed on "
            f"{english.last_reviewed}"
        )
    body = expand_advice(body.strip(), translate) + "\n"
    known = sources()
    unknown = [c for c in render_markdown(body)[1] if c not in known]
    if unknown:
        raise ValueError(f"{name}: cites unknown sources {unknown}")
    return replace(english, title=str(meta["title"]), summary=str(meta["summary"]), body=body)


@cache
def _by_rule() -> dict[str, Article]:
    out: dict[str, Article] = {}
    for item in articles().values():  # reading order: the first article to list a rule wins
        for rule in (*item.triage_rules, *item.alert_rules):
            out.setdefault(rule, item)
    return out


def article_for_rule(rule_id: str) -> Article | None:
    """The article that explains triage rule (or assessment alert rule) `rule_id`, if any."""
    return _by_rule().get(rule_id)


_AGENT_ARTICLES = {
    "zoledronic_acid": "zoledronic-acid",
    "pamidronate": "pamidronate",
    "ibandronate": "ibandronic-acid",
    "clodronate": "clodronate",
    "denosumab": "denosumab",
}
_MONITORING_ARTICLE = "monitoring"


def articles_for_assessment(assessment: Any) -> dict[str, Article]:
    """Articles for the items of an assessment (``bonemets.core.pathway.Assessment``), by key:

    * ``"alert:<rule>"`` for each alert with an article (triage and pathway rules);
    * ``"bma"`` for the current bone-modifying agent (its own article, else the overview);
    * ``"monitoring:<test>"`` for each monitoring item (imaging, tumour_markers,
      blood_chemistry);
    * ``"lesions"`` when lesions are recorded.
    """
    out: dict[str, Article] = {}
    for alert in assessment.alerts:
        found = article_for_rule(alert.rule)
        if found is not None:
            out.setdefault(f"alert:{alert.rule}", found)
    agent = assessment.bma.agent
    drug = article(_AGENT_ARTICLES.get(agent or "", "bone-strengthening-drugs"))
    if drug is not None:
        out["bma"] = drug
    monitoring = article(_MONITORING_ARTICLE)
    if monitoring is not None:
        for item in assessment.monitoring:
            out[f"monitoring:{item.test}"] = monitoring
    lesions = article("what-are-bone-metastases")
    if assessment.lesions and lesions is not None:
        out["lesions"] = lesions
    return out


# --- Rendering and passages ---------------------------------------------------------------------


@cache
def render(article_id: str) -> Rendered:
    """The article's HTML and its numbered references (sources in order of first citation)."""
    return render_article(articles()[article_id])


@cache
def render_article(item: Article) -> Rendered:
    """As `render`, for an article in hand (a translation)."""
    html, cited = render_markdown(item.body)
    known = sources()
    refs = [Reference(number=i + 1, source=known[key]) for i, key in enumerate(cited)]
    return Rendered(html=html, references=refs)


def cited_ids(item: Article) -> list[str]:
    """The source ids the body cites, in order of first use."""
    return render_markdown(item.body)[1]


def _inline_text(token: Token, cites: list[str]) -> str:
    parts: list[str] = []
    for child in token.children or []:
        if child.type == "cite":
            cites.append(str(child.meta["id"]))
        elif child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return "".join(parts).strip()


@cache
def passages(article_id: str) -> tuple[Passage, ...]:
    """The article split at its ``##`` headings: the summary first, then one passage per
    section (the text before the first heading is its own passage)."""
    item = articles()[article_id]
    tokens = _md().parse(item.body, {})
    sections: list[tuple[str, list[str], list[str]]] = [("In short", [item.summary], [])]
    current: tuple[str, list[str], list[str]] | None = None
    heading_level: int | None = None
    for token in tokens:
        if token.type == "heading_open":
            heading_level = int(token.tag[1])
            continue
        if token.type == "heading_close":
            heading_level = None
            continue
        if token.type != "inline":
            continue
        if heading_level == 2:
            current = (_inline_text(token, []), [], [])
            sections.append(current)
            continue
        if current is None:
            current = ("", [], [])
            sections.append(current)
        cites = current[2]
        text = _inline_text(token, cites)
        if text:
            current[1].append(text)
    out: list[Passage] = []
    for heading, texts, cites in sections:
        if not texts:
            continue
        unique = tuple(dict.fromkeys(cites)) or item.sources
        out.append(
            Passage(
                article=item.id,
                index=len(out),
                heading=heading,
                text=" ".join(texts),
                sources=unique,
            )
        )
    return tuple(out)


def text_blocks(item: Article) -> list[str]:
    """The plain text of each paragraph, list item, table cell and heading of the body."""
    out: list[str] = []
    for token in _md().parse(item.body, {}):
        if token.type == "inline":
            text = _inline_text(token, [])
            if text:
                out.append(text)
    return out


def uncited_blocks(item: Article) -> list[str]:
    """Paragraphs, list items and table rows of the body that cite no source (the test wants
    none: every factual statement carries a citation)."""
    tokens = _md().parse(item.body, {})
    missing: list[str] = []
    in_heading = in_thead = False
    row: list[str] | None = None  # the cells of the table body row being read
    row_cited = False
    for token in tokens:
        kind = token.type
        if kind in ("heading_open", "heading_close"):
            in_heading = kind == "heading_open"
        elif kind in ("thead_open", "thead_close"):
            in_thead = kind == "thead_open"  # a header row states no fact
        elif kind == "tr_open" and not in_thead:
            row, row_cited = [], False
        elif kind == "tr_close" and row is not None:
            if not row_cited:
                missing.append(" | ".join(row))
            row = None
        elif kind == "inline" and not in_heading and not in_thead:
            cites: list[str] = []
            text = _inline_text(token, cites)
            if row is not None:  # a table row is one statement: one citation anywhere in it
                row.append(text)
                row_cited = row_cited or bool(cites)
            elif text and not cites:
                missing.append(text)
    return missing
