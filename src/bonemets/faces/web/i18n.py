"""The web faces' languages: gettext catalogues read from .po files, and the request's locale.

A language is one file: ``<dir>/<lang>/LC_MESSAGES/messages.po``, in the package's
``bonemets/locale`` or in a directory named by ``BONEMETS_LOCALE_DIRS`` (``os.pathsep``
separated; these come first, so a deployment can also replace a packaged language). The .po is
read directly (no compile step, no .mo committed) and its translations kept in memory, once per
file version. The request's locale is negotiated from Accept-Language among the languages found
(``en``, the source language, when none fits) and held in a context variable for the request, which
the Jinja ``_()`` / ``ngettext`` / ``{% trans %}`` and the Python ``gettext`` below read.

Strings in Python modules that are built before any request (tables of labels) are marked with
``N_`` for the extractor and translated where they are shown (the ``tr`` filter, or ``gettext``).
Patient text from the knowledge files is English in the core and translated at render time the
same way, with the English text as the msgid (``bonemets.faces.web.i18n_extract`` puts it in the
catalogue).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from contextvars import ContextVar
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING

from babel.core import negotiate_locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bonemets.education import patient_words

if TYPE_CHECKING:
    from bonemets.education.library import Article

DEFAULT_LOCALE = "en"
PACKAGE_LOCALE_DIR = Path(__file__).resolve().parents[2] / "locale"
ENV_DIRS = "BONEMETS_LOCALE_DIRS"
# A language chosen on the account page, for this browser (a shared or borrowed device may send
# another Accept-Language than its reader wants); it comes before Accept-Language.
LANGUAGE_COOKIE = "bonemets_lang"
DOMAIN = "messages"
_log = logging.getLogger(__name__)

_SOURCE = NullTranslations()  # outside a request: the English source text
# The request's locale and its translations, looked up once per request.
_current: ContextVar[tuple[str, NullTranslations]] = ContextVar(
    "bonemets_locale", default=(DEFAULT_LOCALE, _SOURCE)
)


def N_(message: str) -> str:
    """Marks a string for the catalogue where it is defined; translated where it is shown."""
    return message


def locale_dirs() -> list[Path]:
    """Where catalogues are looked for: the setting's directories first, then the package's."""
    extra = [Path(p) for p in os.environ.get(ENV_DIRS, "").split(os.pathsep) if p.strip()]
    return [*extra, PACKAGE_LOCALE_DIR]


def available() -> dict[str, Path]:
    """Locale -> its .po file (the first directory that has one wins). The directories are
    listed once per process and setting: a new language is seen after a restart; a changed .po
    of a known language at once (its translations are re-read when the file changes)."""
    return _available(tuple(str(d) for d in locale_dirs()))


@lru_cache(maxsize=8)
def _available(dirs: tuple[str, ...]) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for directory in map(Path, dirs):
        if not directory.is_dir():
            continue
        for po in sorted(directory.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
            found.setdefault(po.parent.parent.name, po)
    return found


@lru_cache(maxsize=32)
def _read(path: str, _mtime: float) -> NullTranslations:
    with open(path, "rb") as f:
        catalog = read_po(f, domain=DOMAIN)
    # A translation whose placeholders do not match its English (a value lost or misspelt) is
    # left out, so the English shows: never a page that fails, nor one missing a value such as
    # a date or a number to call (Babel's python-format checker).
    for message, errors in list(catalog.check()):
        if errors:
            catalog.delete(message.id, context=message.context)
    buffer = BytesIO()
    write_mo(buffer, catalog)  # fuzzy entries are left out, as msgfmt does
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def translations(locale: str) -> NullTranslations:
    """The translations of `locale`; the source text when it has no catalogue, or when its file
    cannot be read (a deployment's broken .po shows English and says why in the log, never a
    page that fails)."""
    po = available().get(locale)
    if po is None:
        return _SOURCE
    try:
        return _read(str(po), po.stat().st_mtime)
    except Exception as exc:  # any error reading a file we did not write
        _log.error("catalogue %s left out: %s", po, exc)
        return _SOURCE


def negotiate(accept_language: str | None) -> str:
    """The best available locale for an Accept-Language header, `en` when none fits."""
    if not accept_language:
        return DEFAULT_LOCALE
    wanted: list[tuple[float, str]] = []
    for i, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        if not tag or tag == "*":
            continue
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            wanted.append((-quality + i * 1e-6, tag.replace("-", "_")))
    preferred = [tag for _q, tag in sorted(wanted)]
    chosen = negotiate_locale(preferred, sorted({*available(), DEFAULT_LOCALE}), sep="_")
    return chosen or DEFAULT_LOCALE


def current_locale() -> str:
    return _current.get()[0]


def html_lang(locale: str | None = None) -> str:
    """The BCP 47 tag for <html lang> ("pt-BR", not "pt_BR")."""
    return (locale or current_locale()).replace("_", "-")


def gettext(message: str) -> str:
    return _current.get()[1].ugettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _current.get()[1].ungettext(singular, plural, n)


def tr(message: object) -> str:
    """A text that is a msgid but not a literal (a knowledge file's, or an `N_` table's):
    translated, and never used as a format string. Empty stays empty."""
    if message is None or message == "":
        return ""
    return gettext(str(message))


def _cldr_date(value: dt.date | str, today: dt.date | None, pattern: str, locale: str) -> str:
    from babel.dates import format_date

    day = dt.date.fromisoformat(value[:10]) if isinstance(value, str) else value
    if isinstance(day, dt.datetime):
        day = day.date()
    if today is None or day.year != today.year:
        pattern += " y"
    return format_date(day, pattern, locale=locale)


def patient_date(
    value: dt.date | str | None, today: dt.date | None = None, locale: str | None = None
) -> str:
    """'Tuesday 8 December' (the year when it is not `today`'s); in another language, the same
    pattern in its words (CLDR, through Babel)."""
    locale = locale or current_locale()
    if locale == DEFAULT_LOCALE or value is None or value == "":
        return patient_words.patient_date(value, today)
    return _cldr_date(value, today, "EEEE d MMMM", locale)


def short_date(
    value: dt.date | str | None, today: dt.date | None = None, locale: str | None = None
) -> str:
    """'Tue 8 Dec' for tables and chart axes, as `patient_date`."""
    locale = locale or current_locale()
    if locale == DEFAULT_LOCALE or value is None or value == "":
        return patient_words.short_date(value, today)
    return _cldr_date(value, today, "EEE d MMM", locale)


def wording(locale: str | None = None) -> patient_words.Wording:
    """How patient text is said in `locale` (the request's by default): for the texts built
    outside the templates (the care plan PDF, the calendar feed)."""
    locale = locale or current_locale()
    return patient_words.Wording(
        translations=translations(locale) if locale != current_locale() else _current.get()[1],
        long_date=lambda value, today: patient_date(value, today, locale),
        short_date=lambda value, today: short_date(value, today, locale),
    )


@lru_cache(maxsize=256)
def _translated_article(path: str, _mtime: float, article_id: str, locale: str) -> Article | None:
    from bonemets.education import library

    english = library.article(article_id)
    if english is None:
        return None
    try:
        text = Path(path).read_text("utf-8")
        return library.parse_translation(text, english, path, translations(locale).gettext)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        # A translation that cannot be used (stale after an English review, unknown sources,
        # broken front matter) is not shown: the English article is, and the log says why.
        _log.warning("article translation left out: %s", exc)
        return None


def article(article_id: str) -> tuple[Article, str] | None:
    """The education article in the request's language when a current translation of it is
    found (``<locale dir>/<lang>/articles/<id>.md``), else the English one; with its language."""
    from bonemets.education import library

    english = library.article(article_id)
    if english is None:
        return None
    locale = current_locale()
    if locale != DEFAULT_LOCALE:
        for directory in locale_dirs():
            path = directory / locale / "articles" / f"{article_id}.md"
            if path.is_file():
                found = _translated_article(str(path), path.stat().st_mtime, article_id, locale)
                if found is not None:
                    return found, locale
                break  # the first directory that has it decides, as for catalogues
    return english, DEFAULT_LOCALE


def chosen(cookie_header: str | None) -> str | None:
    """The language chosen for this browser (the LANGUAGE_COOKIE), when it is one we have."""
    for part in (cookie_header or "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == LANGUAGE_COOKIE:
            value = value.strip().strip('"')
            return value if value in {*available(), DEFAULT_LOCALE} else None
    return None


def language_choices() -> list[dict[str, str]]:
    """[{code, name}] of the languages found, each named in its own language."""
    from babel import Locale

    out = []
    for code in sorted({*available(), DEFAULT_LOCALE}):
        try:
            name = Locale.parse(code).get_display_name(code) or code
        except (ValueError, LookupError):  # a directory named as no locale Babel knows
            name = code
        out.append({"code": code, "name": name[:1].upper() + name[1:]})
    return out


class LocaleMiddleware:
    """Sets the request's locale from the language chosen for this browser, else Accept-Language
    (plain ASGI, as SecurityHeaders); an HTML answer says its language (Content-Language) and
    that it varies with Accept-Language and the cookie."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope.get("headers", [])
        header = next((v.decode("latin-1") for k, v in headers if k == b"accept-language"), None)
        cookie = next((v.decode("latin-1") for k, v in headers if k == b"cookie"), None)
        locale = chosen(cookie) or negotiate(header)
        language = html_lang(locale).encode("latin-1")

        async def send_with_language(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {key.lower() for key, _value in headers}
                html = any(
                    k.lower() == b"content-type" and v.startswith(b"text/html") for k, v in headers
                )
                if html and b"content-language" not in names:
                    headers.append((b"content-language", language))
                    headers.append((b"vary", b"Accept-Language, Cookie"))
                    message = {**message, "headers": headers}
            await send(message)

        token = _current.set((locale, translations(locale)))
        try:
            await self.app(scope, receive, send_with_language)
        finally:
            _current.reset(token)
