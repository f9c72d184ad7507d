"""The printable care plan as a PDF (reportlab; the skeleton map's SVG is converted with svglib),
on A4 or US Letter."""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path
from typing import Any, Literal
from xml.sax.saxutils import escape

from reportlab.graphics.shapes import Drawing  # type: ignore[import-untyped, unused-ignore]
from reportlab.lib import colors  # type: ignore[import-untyped, unused-ignore]
from reportlab.lib.pagesizes import A4, LETTER  # type: ignore[import-untyped, unused-ignore]
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet  # type: ignore[import-untyped, unused-ignore]
from reportlab.lib.units import mm  # type: ignore[import-untyped, unused-ignore]
from reportlab.platypus import (  # type: ignore[import-untyped, unused-ignore]
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)
from svglib.svglib import svg2rlg

from bonemets.education.patient_words import ENGLISH, N_, Wording
from bonemets.education.plan import NO_CONTACTS, CarePlan, RedFlag

Paper = Literal["a4", "letter"]
PAPER_SIZES: dict[str, tuple[float, float]] = {"a4": A4, "letter": LETTER}
_STATUS_WORDS = {
    "ok": "",
    "due": N_("due soon"),
    "overdue": N_("overdue"),
    "never": N_("not yet done"),
    "not_due": "",
    "withhold": N_("on hold: team to check first"),
    "not_started": N_("not started"),
}


@cache
def _fonts() -> tuple[str, str]:
    """(regular, bold) font names: DejaVu Sans, embedded, so that a translated plan shows its
    letters (Greek, Cyrillic, Polish ...; the PDF standard fonts hold Latin-1 only). The files
    come from matplotlib's wheel (installed with the web extra); Helvetica without it."""
    import importlib.util

    from reportlab.lib.fonts import addMapping  # type: ignore[import-untyped, unused-ignore]
    from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped, unused-ignore]
    from reportlab.pdfbase.ttfonts import TTFont  # type: ignore[import-untyped, unused-ignore]

    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        return "Helvetica", "Helvetica-Bold"
    ttf = Path(next(iter(spec.submodule_search_locations))) / "mpl-data" / "fonts" / "ttf"
    regular, bold = ttf / "DejaVuSans.ttf", ttf / "DejaVuSans-Bold.ttf"
    if not (regular.is_file() and bold.is_file()):
        return "Helvetica", "Helvetica-Bold"
    pdfmetrics.registerFont(TTFont("DejaVuSans", str(regular)))
    pdfmetrics.registerFont(TTFont("DejaVuSans-Bold", str(bold)))
    for italic in (0, 1):  # <i> has no italic face here: the upright one
        addMapping("DejaVuSans", 0, italic, "DejaVuSans")
        addMapping("DejaVuSans", 1, italic, "DejaVuSans-Bold")
    return "DejaVuSans", "DejaVuSans-Bold"


def _styles() -> dict[str, ParagraphStyle]:
    base = getSampleStyleSheet()
    regular, bold = _fonts()
    # No orphan or widow lines: a paragraph never leaves one line alone at the foot or the top
    # of a page, and a heading never ends a page without what it heads.
    body = ParagraphStyle(
        "body", parent=base["BodyText"], fontName=regular, fontSize=10, leading=13,
        allowWidows=0, allowOrphans=0,
    )  # fmt: skip
    return {
        "title": ParagraphStyle(
            "title", parent=base["Title"], fontName=bold, fontSize=18, spaceAfter=4
        ),
        "h2": ParagraphStyle(
            "h2",
            parent=base["Heading2"],
            fontName=bold,
            fontSize=13,
            spaceBefore=8,
            keepWithNext=1,
        ),
        "body": body,
        "small": ParagraphStyle("small", parent=body, fontSize=8.5, leading=11),
        "cell": ParagraphStyle("cell", parent=body, fontSize=9, leading=11.5),
        "alarm": ParagraphStyle(
            "alarm", parent=body, fontSize=11, leading=14, textColor=colors.HexColor("#8b0000")
        ),
    }


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text), style)


def _skeleton(plan: CarePlan, width: float) -> Drawing | None:
    from bonemets.drawing.skeleton import mark_from, skeleton_svg

    # Without the drawing's own legend (it names scoring systems): the plan has its own.
    marks = [mark_from(lesion) for lesion in plan.lesions]
    svg = skeleton_svg(marks, id_prefix="careplan", legend=False)
    drawing = svg2rlg(io.BytesIO(svg.encode("utf-8")))
    if drawing is None:
        return None
    scale = width / float(drawing.width)
    drawing.width, drawing.height = drawing.width * scale, drawing.height * scale
    drawing.scale(scale, scale)
    return drawing


def signs_for(flag: RedFlag, words: Wording = ENGLISH) -> str:
    """What a patient would notice for a red flag (patient_words.toml [signs]); else the labels
    of the symptoms the rule is about. Never the rule's headline, which says what it may mean."""
    from bonemets.core.knowledge import load
    from bonemets.core.triage.models import symptom_catalogue
    from bonemets.core.triage.rules import TRIGGERS

    written = load("patient_words").get("signs", {}).get(flag.rule)
    if written:
        return words.tr(str(written))
    catalogue = symptom_catalogue()
    labels = [catalogue[c]["label"] for c in sorted(TRIGGERS.get(flag.rule, ())) if c in catalogue]
    return "; ".join(words.tr(label) for label in labels) or flag.headline


def _flags_table(
    flags: list[RedFlag], s: dict[str, ParagraphStyle], width: float, words: Wording
) -> Table:
    rows = [[_p(words._("If you notice"), s["cell"]), _p(words._("What to do"), s["cell"])]]
    for flag in flags:
        rows.append([_p(signs_for(flag, words), s["cell"]), _p(flag.action, s["cell"])])
    table = Table(rows, colWidths=[width * 0.55, width * 0.45], repeatRows=1)
    table.setStyle(_GRID)
    return table


# The skeleton map's key in a patient's words (no scoring-system names): the marker's letter and
# colour (as drawing/skeleton.py draws them) and what its outline means.
_LEGEND_TYPES = [
    ("L", "#0072B2", colors.white, N_("The cancer has thinned the bone here.")),
    ("B", "#CC79A7", colors.black, N_("The cancer has made extra, harder bone here.")),
    ("M", "#0072B2", colors.white, N_("Both: some thinning and some extra bone.")),
    ("?", "#ffffff", colors.black, N_("Your team has not recorded which kind.")),
]
_LEGEND_OUTLINES = [
    (N_("Thick dark red ring"), N_("A higher chance this bone could break, or the spine could "
     "shift. Your team will talk to you about protecting it.")),
    (N_("Dashed orange ring"), N_("Some chance it could break. Your team keeps an eye on it.")),
    (N_("Thin grey ring"), N_("A low chance, or not yet checked.")),
]  # fmt: skip


def _legend(s: dict[str, ParagraphStyle], width: float, words: Wording) -> list[Any]:
    # The letter as plain text, so the cell's text colour applies (white on the dark fills).
    rows = [[letter, _p(words.tr(said), s["cell"])] for letter, _, _, said in _LEGEND_TYPES]
    types = Table(rows, colWidths=[8 * mm, width - 8 * mm])
    style: list[tuple[Any, ...]] = [
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("ALIGN", (0, 0), (0, -1), "CENTER"),
        ("FONTNAME", (0, 0), (0, -1), _fonts()[1]),
    ]
    for i, (_letter, fill, ink, _words) in enumerate(_LEGEND_TYPES):
        style += [("BACKGROUND", (0, i), (0, i), colors.HexColor(fill)),
                  ("TEXTCOLOR", (0, i), (0, i), ink),
                  ("BOX", (0, i), (0, i), 0.6, colors.HexColor("#6b6b6b"))]  # fmt: skip
    types.setStyle(TableStyle(style))
    outlines = Table(
        [
            [_p(words.tr(name), s["cell"]), _p(words.tr(said), s["cell"])]
            for name, said in _LEGEND_OUTLINES
        ],
        colWidths=[width * 0.32, width * 0.68],
    )
    outlines.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return [
        _p(
            words._("Each circle is a place where the cancer is in a bone. The letter in it:"),
            s["small"],
        ),
        types,
        Spacer(1, 2 * mm),
        _p(words._("The ring around it:"), s["small"]),
        outlines,
    ]


_GRID = TableStyle(
    [
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#999999")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 4),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
    ]
)


def render_pdf(plan: CarePlan, paper: Paper = "a4", words: Wording = ENGLISH) -> bytes:
    """The care plan as PDF bytes on `paper` (a4 or letter), said in `words`' language (the
    plan's own texts were made in it by `build_care_plan`)."""
    if paper not in PAPER_SIZES:
        raise ValueError(f"paper must be a4 or letter; got {paper!r}")
    size = PAPER_SIZES[paper]
    out = io.BytesIO()
    margin = 15 * mm
    doc = SimpleDocTemplate(
        out,
        pagesize=size,
        leftMargin=margin,
        rightMargin=margin,
        topMargin=margin,
        bottomMargin=margin,
        title=words._("Care plan: %(name)s") % {"name": plan.display_name},
        author="bonemets",
        subject=words._("Bone metastases care plan"),
    )
    width = size[0] - 2 * margin
    s = _styles()
    story: list[Any] = [
        _p(words._("My bone care plan"), s["title"]),
        _p(
            words._("%(name)s. Made on %(day)s.")
            % {"name": plan.display_name, "day": words.long_date(plan.as_of, None)},
            s["body"],
        ),
        Spacer(1, 3 * mm),
        _p(
            words._(
                "In an emergency call the emergency number (%(numbers)s) or go to the emergency "
                "department. Say you have cancer that has spread to your bones."
            )
            % {"numbers": plan.emergency_numbers},
            s["alarm"],
        ),
    ]

    story.append(_p(words._("My care team's numbers"), s["h2"]))
    if plan.contacts:
        rows = [[_p(c.label, s["cell"]), _p(c.number, s["cell"])] for c in plan.contacts]
        contacts = Table(rows, colWidths=[width * 0.55, width * 0.45])
        contacts.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey)]))
        story.append(contacts)
    else:
        story.append(_p(words.tr(NO_CONTACTS), s["body"]))
        blank = Table(
            [
                [_p(words._("Team / line"), s["cell"]), _p(words._("Number"), s["cell"])],
                ["", ""],
                ["", ""],
            ],
            colWidths=[width * 0.55, width * 0.45],
            rowHeights=[None, 9 * mm, 9 * mm],
        )
        blank.setStyle(_GRID)
        story.append(blank)

    story.append(_p(words._("My schedule of treatment and tests"), s["h2"]))
    heads = (words._("What"), words._("Next due"), words._("Last done"), words._("Notes"))
    rows = [[_p(h, s["cell"]) for h in heads]]
    for item in plan.schedule:
        due = words.short_date(item.due, plan.as_of) if item.due else words._("not booked")
        status = words.tr(_STATUS_WORDS.get(item.status, item.status.replace("_", " ")))
        rows.append(
            [
                _p(item.title, s["cell"]),
                _p(due + (f" ({status})" if status else ""), s["cell"]),
                _p(words.short_date(item.last, plan.as_of) if item.last else "-", s["cell"]),
                _p(item.detail, s["cell"]),
            ]
        )
    if len(rows) == 1:
        rows.append([_p(words._("Nothing scheduled on the record."), s["cell"]), "", "", ""])
    schedule = Table(
        rows, colWidths=[width * 0.25, width * 0.17, width * 0.13, width * 0.45], repeatRows=1
    )
    schedule.setStyle(_GRID)
    story.append(schedule)

    story.append(_p(words._("My supplements"), s["h2"]))
    if plan.supplements:
        for line in plan.supplements:
            said = words._("%(what)s: %(amount)s (since %(day)s).") % {
                "what": line.what, "amount": line.amount,
                "day": words.long_date(line.since, None),
            }  # fmt: skip
            story.append(_p(said, s["body"]))
    else:
        story.append(_p(words._("No calcium or vitamin D supplement is recorded."), s["body"]))
    for advice in plan.supplement_advice:
        story.append(_p(advice, s["small"]))

    story.append(_p(words._("Call the emergency number now if you have"), s["h2"]))
    story.append(_flags_table(plan.emergency_flags, s, width, words))
    story.append(_p(words._("Call your cancer team's 24-hour line today if you have"), s["h2"]))
    story.append(_flags_table(plan.urgent_flags, s, width, words))

    drawing = _skeleton(plan, width * 0.42)
    if drawing is not None:
        count = len(plan.lesions)
        caption = (
            words.ngettext(
                "%(n)d place in your bones recorded.", "%(n)d places in your bones recorded.", count
            )
            % {"n": count}
            if plan.lesions
            else words._("No places in your bones are recorded.")
        )
        side = Table(
            [[drawing, _legend(s, width * 0.55, words)]], colWidths=[width * 0.43, width * 0.57]
        )
        side.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
        story.append(
            KeepTogether(
                [
                    _p(words._("Where the cancer is in my bones"), s["h2"]),
                    _p(
                        caption + " " + words._("Front view: your right side is on the left."),
                        s["small"],
                    ),
                    side,
                ]
            )
        )
    # The closing notes stay together (no line of them alone on a last page).
    closing = [Spacer(1, 4 * mm), *(_p(note, s["small"]) for note in plan.notes)]
    closing.append(_p(words._("Learn more: the bonemets library, /learn."), s["small"]))
    story.append(KeepTogether(closing))
    footer = _footer_text(plan, words)

    def on_page(canvas: Any, document: Any) -> None:
        # The numbers to call on every page, in case only one page is kept by the phone.
        canvas.saveState()
        canvas.setFont(_fonts()[0], 8)
        canvas.drawString(margin, margin / 2, footer)
        page = words._("Page %(n)d") % {"n": document.page}
        canvas.drawRightString(size[0] - margin, margin / 2, page)
        canvas.restoreState()

    doc.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return out.getvalue()


def _footer_text(plan: CarePlan, words: Wording = ENGLISH) -> str:
    team = "; ".join(f"{c.label} {c.number}" for c in plan.contacts[:2])
    emergency = plan.emergency_numbers.split(",")[0].strip()
    text = words._("Emergency: %(number)s.") % {"number": emergency}
    if team:
        text += " " + words._("Care team: %(team)s.") % {"team": team}
    return text[:150]
