"""Languages (issue 20, item 8): the committed catalogues match the sources, English is complete,
and a language is one .po file: with a made-up translation of every msgid dropped into a locale
directory, the real pages show no English left over."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from html import escape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from babel import Locale
from babel.dates import get_day_names, get_month_names
from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po
from fastapi.testclient import TestClient
from icalendar import Calendar

from bonemets.adapters.storage import repository as repo
from bonemets.adapters.storage import tables
from bonemets.adapters.storage.repository import Database
from bonemets.config import Settings
from bonemets.core.knowledge import load
from bonemets.core.pathway import assess
from bonemets.core.triage.engine import rule_table
from bonemets.education import library
from bonemets.education.search import safety_net
from bonemets.faces.web import i18n
from bonemets.faces.web import pages as pages_module
from bonemets.faces.web.app import create_app
from bonemets.faces.web.i18n_extract import POT, build_catalog, msgids, read
from bonemets.service.wording import clinical
from bonemets.sim import MODELS, REGIMENS
from tests.web.conftest import sign_in

PSEUDO = "eo"  # Esperanto: a locale CLDR knows, and one we do not ship

# --- The catalogues ---------------------------------------------------------------------------


def test_the_committed_template_is_what_the_sources_give_now() -> None:
    now, committed = msgids(build_catalog()), msgids(read(POT))
    assert not now - committed, f"not extracted (bonemets i18n extract): {sorted(now - committed)}"
    assert not committed - now, f"gone from the sources: {sorted(committed - now)}"


def test_the_catalogue_holds_the_patient_text_of_the_knowledge_files() -> None:
    ids = msgids(read(POT))
    symptoms = load("symptoms")
    assert symptoms["back_pain"]["label"] in ids and symptoms["back_pain"]["help"] in ids
    assert load("patient_words")["areas"]["spine"]["hint"] in ids
    rule = rule_table()["mscc.neurological"]
    assert rule["headline"] in ids and rule["patient_why"] in ids
    assert all(line in ids for line in rule.get("advice", []))
    assert load("levels")["urgent"]["patient"] in ids


# --- A made-up language -----------------------------------------------------------------------

_LOOK_ALIKE = dict(zip("abcdefghijklmnopqrstuvwxyz", "áƀçđéƒĝĥíĵķĺɱñóþǫŕšţúṽŵẋýž", strict=True))
# Kept as they are: placeholders (%(name)s, %%), tags and entities.
_KEEP = re.compile(r"%\([^)]*\)[a-z]|%%|<[^>]*>|&[#\w]+;")


def pseudo(text: str) -> str:
    """Every ASCII letter outside placeholders and markup swapped for a look-alike."""

    def swap(part: str) -> str:
        return "".join(
            _LOOK_ALIKE[c] if c in _LOOK_ALIKE else _LOOK_ALIKE[c.lower()].upper()
            if c.lower() in _LOOK_ALIKE else c
            for c in part
        )  # fmt: skip

    out, last = [], 0
    for m in _KEEP.finditer(text):
        out += [swap(text[last : m.start()]), m.group()]
        last = m.end()
    return "".join([*out, swap(text[last:])])


def test_pseudo_keeps_placeholders_and_markup() -> None:
    assert pseudo('Hello %(name)s, 50%% <a href="/x">go</a>') == (
        'Ĥéĺĺó %(name)s, 50%% <a href="/x">ĝó</a>'
    )


def write_pseudo_catalogue(directory: Path) -> None:
    template = read(POT)
    catalog = Catalog(locale=PSEUDO, domain="messages", fuzzy=False)
    for message in template:
        if not message.id:
            continue
        if isinstance(message.id, tuple | list):
            forms = tuple(pseudo(message.id[min(i, 1)]) for i in range(catalog.num_plurals))
            catalog.add(tuple(message.id), forms)
        else:
            catalog.add(message.id, pseudo(message.id))
    target = directory / PSEUDO / "LC_MESSAGES"
    target.mkdir(parents=True)
    with (target / "messages.po").open("wb") as f:
        write_po(f, catalog)


@pytest.fixture
def pseudo_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "locale"
    write_pseudo_catalogue(directory)
    monkeypatch.setenv(i18n.ENV_DIRS, str(directory))
    return directory


@pytest.fixture
def client(
    db: Database, settings: Settings, people: dict[str, str], pseudo_dir: Path
) -> Iterator[TestClient]:
    with TestClient(create_app(settings, db), headers={"Accept-Language": PSEUDO}) as c:
        yield c


# The page templates each test below renders in the made-up language. Every page template must be
# in one of them (test_every_page_template_is_rendered_in_the_made_up_language): a new page is
# added to a test here, and so checked for English left over.
PATIENT_PAGES = {"portal_home.html", "portal_check_in.html", "portal_details.html",
                 "portal_result.html", "portal_messages.html", "portal_calendar.html",
                 "account.html", "learn_index.html", "portal_results.html"}  # fmt: skip
TEAM_PAGES = {"login.html", "worklist.html", "patient.html", "account.html", "error.html",
              "learn_article.html", "admin_audit.html", "simulate.html"}  # fmt: skip
TEMPLATES = Path(pages_module.__file__).parent / "templates"


def test_every_page_template_is_rendered_in_the_made_up_language() -> None:
    page_templates = {
        p.name for p in TEMPLATES.glob("*.html") if '{% extends "base.html" %}' in p.read_text()
    }
    assert page_templates <= PATIENT_PAGES | TEAM_PAGES, (
        f"add these pages to a test below: {sorted(page_templates - PATIENT_PAGES - TEAM_PAGES)}"
    )


@pytest.fixture
def rendered(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """The names of the templates the app renders during the test."""
    names: set[str] = set()
    original = pages_module.templates.TemplateResponse

    def recording(request: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        names.add(name)
        return original(request, name, *args, **kwargs)

    monkeypatch.setattr(pages_module.templates, "TemplateResponse", recording)
    return names


_SHOWN_ATTRS = ("title", "aria-label", "placeholder", "alt", "data-tip", "data-label")


class _Text(HTMLParser):
    """The visible text nodes of a page (not scripts or styles), the attributes a user sees or
    hears (titles, labels, placeholders), and <html lang>."""

    def __init__(self) -> None:
        super().__init__()
        self.nodes: list[str] = []
        self.lang = ""
        self._skip = 0
        self._english = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "html":
            self.lang = dict(attrs).get("lang") or ""
        for name, value in attrs:
            if name in _SHOWN_ATTRS and value and value.strip():
                self.nodes.append(value.strip())
        if tag in ("script", "style", "template", "textarea", "svg"):
            self._skip += 1
        elif self._english or (tag != "html" and dict(attrs).get("lang") == "en"):
            # Declared English (an education article's own text): counted to its end tag.
            self._english += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "template", "textarea", "svg"):
            self._skip -= 1
        elif self._english:
            self._english -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and not self._english and data.strip():
            self.nodes.append(data.strip())


def _words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[A-Za-z]{2,}", text)}


def _data_words() -> set[str]:
    """Words that are data, not interface text: the people and records of the test fixtures,
    codes the team reads as codes (rule ids, source ids, lab units, scores' names), the
    product's name, and the made-up language's own day and month names (CLDR)."""
    words = {"bonemets", "patient", "pat", "nurse", "user", "admin", "utc", "mrn", "pdf"}
    words |= {"sins", "mirels", "ctcae", "ml", "mmol", "mg", "dl", "umol", "nmol", "ng", "iv", "sc"}
    for rule, entry in rule_table().items():
        words |= _words(rule) | _words(" ".join(entry.get("sources", [])))
    words |= _words(" ".join(load("sources").keys()))
    words |= _words(" ".join([*MODELS, *REGIMENS]))  # the simulator's model and regimen ids
    # Each language is named in its own words on the account page's choice (data, as names).
    words |= _words(" ".join(c["name"] for c in i18n.language_choices()))
    words |= _words(Locale.parse(PSEUDO).get_display_name(PSEUDO) or "")
    for width in ("wide", "abbreviated"):  # "Tuesday 8 December", and "Tue 8 Dec" in tables
        for names in (get_day_names(width, locale=PSEUDO), get_month_names(width, locale=PSEUDO)):
            words |= {w for name in names.values() for w in _words(name)}
    return words


# Codes read as codes (rule ids, symptom and site codes, source and model ids): words joined by
# _ or ., or lower-case words joined by - or :; and hashes.
_CODE = re.compile(
    r"\b[A-Za-z0-9]+(?:[._][A-Za-z0-9]+)+\b|(?<![\w-])[a-z0-9]+(?:[-:][a-z0-9]+)+(?![\w-])"
    r"|\b[0-9a-f]{12,}"
)


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple | set):
        for item in value:
            yield from _strings(item)


def _documents() -> list[str]:
    """The education articles' own words (titles, summaries): whole documents, translated as a
    file beside the article, not through the catalogue (docs/translating.md)."""
    return [text for a in library.articles().values() for text in (a.title, a.summary)]


def _clinical_texts(db: Database, settings: Settings) -> list[str]:
    """What the core computes for the team with the record's values in it (assessment messages,
    dose checks): clinician text that stays English for now (docs/translating.md), and the
    patient's own words (messages, free text)."""
    with db.transaction() as s:
        record = repo.load_record(s, "pat-a")
        stored = [(a.headline, list(a.rules or [])) for a in s.query(tables.Alert).all()]
        words = [m.body for m in s.query(tables.Message).all()]
        for e in s.query(tables.AuditEvent).all():  # the audit log's rows
            words += [e.action, e.what, e.client or "", e.username or "", e.patient_id or ""]
    assessment = assess(record, settings.today())
    said = [(al.message, [al.rule]) for al in assessment.alerts] + stored
    texts = [*_strings(assessment.model_dump(mode="json")), *words]
    texts += [clinical(message, rules).text for message, rules in said]
    texts += [clinical(message).text for message, _rules in said]
    texts += [str(r.free_text) for r in record.symptom_reports if r.free_text]
    return sorted({t for t in texts if len(t) > 3}, key=len, reverse=True)


def _folded(text: str) -> str:
    return " ".join(text.split())


def _leaks(html: str, data: list[str]) -> list[str]:
    page = _Text()
    page.feed(html)
    allowed = _data_words()
    out = []
    for node in page.nodes:
        text = _folded(node)
        for known in sorted(data, key=len, reverse=True):
            text = text.replace(_folded(known), " ")
        if _words(_CODE.sub(" ", text)) - allowed:
            out.append(node)
    return out


def _check_in(client: TestClient, csrf: str, symptom: str, **answers: str) -> str:
    client.post("/portal/check-in", data={"csrf_token": csrf, "symptom": symptom})
    done = client.post(
        "/portal/check-in/submit",
        data={"csrf_token": csrf, "symptom": symptom, **answers},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    return str(done.headers["location"])


QUESTION = "my legs feel weak"  # the patient's own words, asked on the learn page


def test_a_language_is_one_file_patient_pages(
    client: TestClient, db: Database, settings: Settings, rendered: set[str]
) -> None:
    csrf = sign_in(client, "user-a")
    pages: dict[str, str] = {}
    pages["home"] = client.get("/portal").text
    pages["check-in"] = client.get("/portal/check-in").text
    client.post("/portal/check-in", data={"csrf_token": csrf, "symptom": "bone_pain"})
    pages["details"] = client.get("/portal/check-in/details").text
    result = _check_in(client, csrf, "bone_pain", **{"bone_pain.severity": "3"})
    pages["result"] = client.get(result).text
    pages["messages"] = client.get("/portal/messages").text
    pages["calendar"] = client.get("/portal/calendar").text
    pages["results"] = client.get("/portal/results").text
    pages["account"] = client.get("/account").text
    pages["learn"] = client.get("/learn").text
    pages["learn answers"] = client.get("/learn", params={"q": QUESTION}).text
    pages["home again"] = client.get("/portal").text  # with a check-in in its history
    # An emergency: the result at once, then step 2 under the early result.
    client.post("/portal/check-in", data={"csrf_token": csrf, "symptom": "bladder_problem"})
    emergency = client.post(
        "/portal/check-in", data={"csrf_token": csrf, "symptom": "bladder_problem"},
        follow_redirects=False,
    )  # fmt: skip
    assert "partial=1" in emergency.headers["location"], emergency.headers
    pages["emergency"] = client.get(emergency.headers["location"]).text
    pages["details after an emergency"] = client.get("/portal/check-in/details").text
    assert rendered == PATIENT_PAGES
    net = safety_net(QUESTION)
    assert net is not None  # the learn page's answer has a safety net to check
    data = [*_clinical_texts(db, settings), *_documents(), QUESTION, *net.words]
    leaks = {name: _leaks(html, data) for name, html in pages.items()}
    assert not any(leaks.values()), "\n".join(f"{k}: {v!r}" for k, vs in leaks.items() for v in vs)
    assert _lang(pages["home"]) == PSEUDO
    assert (
        'class="emergency-screen"' in pages["emergency"]
        and 'id="early"' in pages["details after an emergency"]
    )


def test_a_language_is_one_file_care_team_pages(
    client: TestClient, db: Database, settings: Settings, rendered: set[str]
) -> None:
    patient_csrf = sign_in(client, "user-a")
    _check_in(client, patient_csrf, "back_pain", **{"back_pain.severity": "3"})
    client.post(
        "/portal/messages", data={"csrf_token": patient_csrf, "body": "A question for you."}
    )
    client.cookies.clear()
    pages: dict[str, str] = {"login": client.get("/login").text}
    sign_in(client, "nurse-a")
    pages["worklist"] = client.get("/worklist").text
    pages["patient"] = client.get("/patients/pat-a").text
    pages["account"] = client.get("/account").text
    pages["not found"] = client.get("/patients/nobody").text
    pages["article"] = client.get(next(iter(library.articles().values())).url).text
    client.cookies.clear()
    sign_in(client, "admin")
    pages["audit"] = client.get("/admin/audit?verify=1").text
    pages["simulator"] = client.get("/simulate").text
    assert rendered - PATIENT_PAGES == TEAM_PAGES - PATIENT_PAGES
    data = [*_clinical_texts(db, settings), *_documents()]
    leaks = {name: _leaks(html, data) for name, html in pages.items()}
    assert not any(leaks.values()), "\n".join(f"{k}: {v!r}" for k, vs in leaks.items() for v in vs)


def _lang(html: str) -> str:
    page = _Text()
    page.feed(html)
    return page.lang


def test_accept_language_picks_the_language_and_english_is_the_fallback(
    db: Database, settings: Settings, people: dict[str, str], pseudo_dir: Path
) -> None:
    with TestClient(create_app(settings, db)) as c:
        english = c.get("/login", headers={"Accept-Language": "ja, de;q=0.8"}).text
        assert _lang(english) == "en" and "Sign in" in english
        assert _lang(c.get("/login").text) == "en"
        ours = c.get("/login", headers={"Accept-Language": "de-DE, eo;q=0.5"}).text
        assert _lang(ours) == "eo" and pseudo("Sign in") in ours and "Sign in" not in ours
        regional = c.get("/login", headers={"Accept-Language": "eo-XX"})
        assert _lang(regional.text) == "eo" and regional.headers["content-language"] == "eo"
        assert "accept-language" in regional.headers["vary"].lower()


def test_negotiation_without_the_language_directory() -> None:
    assert i18n.negotiate("fr-FR, eo;q=0.9") == "en"  # nothing but English is shipped
    assert i18n.negotiate(None) == "en" and i18n.negotiate("*") == "en"
    assert i18n.negotiate("en-GB") == "en"


def test_english_is_the_msgid_itself_plurals_too() -> None:
    english = i18n.translations("en")
    assert english.ugettext("Sign in") == "Sign in"
    one, many = "%(count)s message", "%(count)s messages"
    assert english.ungettext(one, many, 1) == one and english.ungettext(one, many, 3) == many


def test_the_command_checks_the_catalogues() -> None:
    from typer.testing import CliRunner

    from bonemets.faces.cli.main import app

    result = CliRunner().invoke(app, ["i18n", "check"])
    assert result.exit_code == 0 and "up to date" in result.output, result.output


def test_a_translation_that_loses_a_placeholder_falls_back_to_english(tmp_path: Path) -> None:
    """A translator who drops or misspells %(name)s must not break the page nor hide the value:
    that one message shows in English."""
    catalog = Catalog(locale="fr", domain="messages", fuzzy=False)
    catalog.add("Latest: %(value)s", "Dernier : %(valeur)s")  # misspelt placeholder
    catalog.add("Usual range: %(usual)s", "Valeurs habituelles : %(usual)s")  # fine
    target = tmp_path / "fr" / "LC_MESSAGES"
    target.mkdir(parents=True)
    with (target / "messages.po").open("wb") as f:
        write_po(f, catalog)
    translations = i18n._read(str(target / "messages.po"), 0.0)
    assert translations.ugettext("Latest: %(value)s") == "Latest: %(value)s"
    assert translations.ugettext("Usual range: %(usual)s") == "Valeurs habituelles : %(usual)s"


def _as_html(lines: list[str]) -> str:
    return "".join(f"<p>{escape(line)}</p>" for line in lines if line.strip())


def test_the_care_plan_pdf_and_the_calendar_feed_in_the_made_up_language(
    client: TestClient, db: Database, settings: Settings, tmp_path: Path
) -> None:
    """The texts built outside the templates: the care plan PDF (downloaded with the browser's
    language) and the calendar feed (a calendar app sends none: the link carries it)."""
    tool = shutil.which("pdftotext")
    if tool is None:
        if os.environ.get("BONEMETS_REQUIRE_PDFTOPPM") == "1":
            pytest.fail("pdftotext (poppler-utils) is required")
        pytest.skip("pdftotext (poppler-utils) is not installed")
    csrf = sign_in(client, "user-a")
    pdf = client.get("/portal/careplan.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    path = tmp_path / "plan.pdf"
    path.write_bytes(pdf.content)
    text = subprocess.run([tool, str(path), "-"], check=True, capture_output=True, text=True)
    lines = text.stdout.splitlines()
    assert pseudo("My bone care plan") in lines
    data = [*_clinical_texts(db, settings), "Patient pat-a", "bonemets", "/learn"]
    leaks = _leaks(_as_html(lines), data)
    assert not leaks, leaks
    # The calendar link is made in the patient's language, and the feed is said in it.
    made = client.post("/portal/calendar/link", data={"csrf_token": csrf})
    link = re.search(r'value="(http[^"]+\.ics\?lang=eo)"', made.text)
    assert link is not None, made.text
    client.cookies.clear()
    feed = client.get(link.group(1).split("://", 1)[1].split("/", 1)[1].join(["/", ""]))
    assert feed.status_code == 200, feed.text
    calendar = Calendar.from_ical(feed.content)
    said = [
        str(c.get(key)) for c in calendar.walk() for key in ("SUMMARY", "DESCRIPTION")
        if c.get(key) is not None
    ]  # fmt: skip
    assert pseudo("Weekly check-in: tell your care team how you are") in said
    urls = re.compile(r"https?://\S+")
    leaks = _leaks(_as_html([urls.sub(" ", line) for s in said for line in s.split("\n")]), data)
    assert not leaks, leaks


# --- Articles: a translation is a file beside the English one ------------------------------------

_ARTICLE_KEEP = re.compile(r"\{\{advice:[^}]*\}\}|\[\^[^\]]*\]")


def _pseudo_article(article_id: str, translates: str | None = None, cite: str | None = None) -> str:
    """The English article's file in the made-up language: front matter id/title/summary and
    `translates`; the body's words swapped, its advice and citation markers kept."""
    english = library.article(article_id)
    assert english is not None
    raw = Path(library.__file__).parent.parent / "knowledge" / "articles" / f"{article_id}.md"
    body = raw.read_text("utf-8").split("\n---\n", 1)[1]
    out, last = [], 0
    for m in _ARTICLE_KEEP.finditer(body):
        out += [pseudo(body[last : m.start()]), m.group()]
        last = m.end()
    body = "".join([*out, pseudo(body[last:])]) + (f"\n\n{pseudo('More')}[^{cite}]" if cite else "")
    meta = {
        "id": article_id,
        "title": pseudo(english.title),
        "summary": pseudo(english.summary),
        "translates": translates or english.last_reviewed.isoformat(),
    }
    front = "\n".join(f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in meta.items())
    return f"---\n{front}\n---\n{body}"


def _put(pseudo_dir: Path, article_id: str, text: str) -> None:
    folder = pseudo_dir / PSEUDO / "articles"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{article_id}.md").write_text(text, "utf-8")


def test_a_translated_article_is_one_file_and_says_the_rules_words(
    client: TestClient, pseudo_dir: Path
) -> None:
    _put(pseudo_dir, "blood-clots", _pseudo_article("blood-clots"))
    page = client.get("/learn/blood-clots").text
    english = library.article("blood-clots")
    assert english is not None
    assert f'<h1 id="article-title">{escape(pseudo(english.title))}</h1>' in page
    assert 'aria-labelledby="article-title" lang="eo"' in page
    # The advice marker is the rule's own advice, through the catalogue: the same words as the
    # check-in says in this language.
    headline = str(rule_table()["clot.pulmonary_embolism"]["headline"])
    assert escape(pseudo(headline)) in page and escape(headline) not in page
    # The same sources, numbered as in English.
    assert page.count('<li id="ref-') == len(library.render("blood-clots").references)
    index = client.get("/learn").text
    assert (
        f'<li lang="eo"><a href="/learn/blood-clots">{escape(pseudo(english.title))}</a>' in index
    )
    # A check-in's "Read more" link names the article as its page shows it.
    csrf = sign_in(client, "user-a")
    result = _check_in(
        client, csrf, "leg_pain_redness_warmth", **{"leg_pain_redness_warmth.severity": "2"}
    )
    shown = client.get(result).text
    assert 'href="/learn/blood-clots"' in shown and escape(pseudo(english.title)) in shown


@pytest.mark.parametrize("broken", ["stale", "unknown source", "other id"])
def test_a_translation_that_cannot_be_trusted_leaves_the_english_article(
    client: TestClient, pseudo_dir: Path, broken: str
) -> None:
    """Stale after the English was reviewed again (its advice may have changed), citing a source
    we do not know, or naming another article: the English article is shown, never a broken page."""
    english = library.article("blood-clots")
    assert english is not None
    if broken == "stale":
        text = _pseudo_article("blood-clots", translates="2020-01-01")
    elif broken == "unknown source":
        text = _pseudo_article("blood-clots", cite="no-such-source")
    else:
        text = _pseudo_article("blood-clots").replace('"blood-clots"', '"denosumab"', 1)
    _put(pseudo_dir, "blood-clots", text)
    page = client.get("/learn/blood-clots")
    assert page.status_code == 200
    assert f'<h1 id="article-title">{escape(english.title)}</h1>' in page.text
    assert 'aria-labelledby="article-title" lang="en"' in page.text


def test_a_broken_catalogue_shows_english_not_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db: Database, settings: Settings,
    people: dict[str, str],
) -> None:  # fmt: skip
    target = tmp_path / "fr" / "LC_MESSAGES"
    target.mkdir(parents=True)
    # Not UTF-8: Babel's reader (lenient with syntax) cannot decode it.
    (target / "messages.po").write_bytes(b'msgid "Sign in"\nmsgstr "Connexi\xc3\x28"\n')
    monkeypatch.setenv(i18n.ENV_DIRS, str(tmp_path))
    with TestClient(create_app(settings, db), headers={"Accept-Language": "fr"}) as c:
        page = c.get("/login")
    assert page.status_code == 200 and "Sign in" in page.text


def test_a_language_chosen_for_this_browser_comes_before_accept_language(
    db: Database, settings: Settings, people: dict[str, str], pseudo_dir: Path
) -> None:
    with TestClient(create_app(settings, db), headers={"Accept-Language": "en"}) as c:
        csrf = sign_in(c, "user-a")
        account = c.get("/account").text
        # Nothing chosen yet: the browser's own language, no option marked.
        assert 'id="language"' in account and f'lang="{PSEUDO}" selected' not in account
        assert _lang(account) == "en"
        chose = c.post("/account/language", data={"csrf_token": csrf, "language": PSEUDO},
                       follow_redirects=False)  # fmt: skip
        assert chose.status_code == 303
        cookie = chose.headers["set-cookie"]
        assert f"{i18n.LANGUAGE_COOKIE}={PSEUDO}" in cookie and "HttpOnly" in cookie
        page = c.get("/portal")
        assert _lang(page.text) == PSEUDO and page.headers["content-language"] == PSEUDO
        assert f'value="{PSEUDO}" lang="{PSEUDO}" selected' in c.get("/account").text
        bad = c.post("/account/language", data={"csrf_token": csrf, "language": "../etc"},
                     follow_redirects=False)  # fmt: skip
        assert bad.status_code == 422 and bad.json()["detail"]["field"] == "language"
        back = c.post("/account/language", data={"csrf_token": csrf, "language": ""},
                      follow_redirects=False)  # fmt: skip
        assert (
            back.status_code == 303 and f'{i18n.LANGUAGE_COOKIE}=""' in back.headers["set-cookie"]
        )
        assert _lang(c.get("/portal").text) == "en"
    # A cookie naming a language we do not have is ignored.
    assert i18n.chosen(f"{i18n.LANGUAGE_COOKIE}=xx; other=1") is None
    assert i18n.chosen(f"other=1; {i18n.LANGUAGE_COOKIE}={PSEUDO}") == PSEUDO


def test_no_language_choice_when_english_is_the_only_language(
    client_en: TestClient,
) -> None:
    sign_in(client_en, "user-a")
    assert 'id="language"' not in client_en.get("/account").text


@pytest.fixture
def client_en(db: Database, settings: Settings, people: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(settings, db)) as c:
        yield c
