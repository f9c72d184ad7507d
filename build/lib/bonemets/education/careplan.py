"""The printable care plan as a PDF (reportlab; the skeleton map's SVG is converted with svglib),
on A4 or US Letter."""

from __future__ import annotations

import io
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

from bonemets.education.plan import NO_CONTACTS, CarePlan, RedFlag

Paper = Literal["a4", "letter"]
PAPER_SIZES: dict[str, tuple[float, float]] = {"a4": A4, "letter": LETTER}
_STATUS_WORDS = {
    "ok": "",
    "due": "due soon",
    "overdue": "overdue",
    "never": "not yet done",
    "not_due": "",
    "withhold": "on hold: team to check first",
    "not_started": "not started",
}


def _styles() -> dict[str, ParagraphStyle]:
    base = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=base["BodyText"], fontSize=10, leading=13)
    return {
        "title": ParagraphStyle("title", parent=base["Title"], fontSize=18, spaceAfter=4),
        "h2": ParagraphStyle("h2", parent=base["Heading2"], fontSize=13, spaceBefore=8),
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

    svg = skeleton_svg([mark_from(lesion) for lesion in plan.lesions], id_prefix="careplan")
    drawing = svg2rlg(io.BytesIO(svg.encode("utf-8")))
    if drawing is None:
        return None
    scale = width / float(drawing.width)
    drawing.width, drawing.height = drawing.width * scale, drawing.height * scale
    drawing.scale(scale, scale)
    return drawing


def _flags_table(flags: list[RedFlag], s: dict[str, ParagraphStyle], width: float) -> Table:
    rows = [[_p("Sign", s["cell"]), _p("What to do", s["cell"])]]
    for flag in flags:
        rows.append([_p(flag.headline, s["cell"]), _p(flag.action, s["cell"])])
    table = Table(rows, colWidths=[width * 0.55, width * 0.45], repeatRows=1)
    table.setStyle(_GRID)
    return table


_GRID = TableStyle(
    [
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#999999")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 4),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
    ]
)


def render_pdf(plan: CarePlan, paper: Paper = "a4") -> bytes:
    """The care plan as PDF bytes on `paper` (a4 or letter)."""
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
        title=f"Care plan: {plan.display_name}",
        author="bonemets",
        subject="Bone metastases care plan",
    )
    width = size[0] - 2 * margin
    s = _styles()
    story: list[Any] = [
        _p("My bone care plan", s["title"]),
        _p(
            f"{plan.display_name} (record {plan.patient_id}). Made on {plan.as_of.isoformat()}.",
            s["body"],
        ),
        Spacer(1, 3 * mm),
        _p(
            f"In an emergency call the emergency number ({plan.emergency_numbers}) or go to "
            "the emergency department. Say you have cancer that has spread to your bones.",
            s["alarm"],
        ),
    ]

    story.append(_p("My care team's numbers", s["h2"]))
    if plan.contacts:
        rows = [[_p(c.label, s["cell"]), _p(c.number, s["cell"])] for c in plan.contacts]
        contacts = Table(rows, colWidths=[width * 0.55, width * 0.45])
        contacts.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey)]))
        story.append(contacts)
    else:
        story.append(_p(NO_CONTACTS, s["body"]))
        blank = Table(
            [["Team / line", "Number"], ["", ""], ["", ""]],
            colWidths=[width * 0.55, width * 0.45],
            rowHeights=[None, 9 * mm, 9 * mm],
        )
        blank.setStyle(_GRID)
        story.append(blank)

    story.append(_p("My schedule of treatment and tests", s["h2"]))
    rows = [[_p(h, s["cell"]) for h in ("What", "Next due", "Last done", "Notes")]]
    for item in plan.schedule:
        due = item.due.isoformat() if item.due else "not booked"
        status = _STATUS_WORDS.get(item.status, item.status.replace("_", " "))
        rows.append(
            [
                _p(item.title, s["cell"]),
                _p(due + (f" ({status})" if status else ""), s["cell"]),
                _p(item.last.isoformat() if item.last else "-", s["cell"]),
                _p(item.detail, s["cell"]),
            ]
        )
    if len(rows) == 1:
        rows.append([_p("Nothing scheduled on the record.", s["cell"]), "", "", ""])
    schedule = Table(
        rows, colWidths=[width * 0.25, width * 0.17, width * 0.13, width * 0.45], repeatRows=1
    )
    schedule.setStyle(_GRID)
    story.append(schedule)

    story.append(_p("My supplements", s["h2"]))
    if plan.supplements:
        for line in plan.supplements:
            story.append(
                _p(f"{line.what}: {line.amount} (recorded {line.since.isoformat()}).", s["body"])
            )
    else:
        story.append(_p("No calcium or vitamin D supplement is recorded.", s["body"]))
    for advice in plan.supplement_advice:
        story.append(_p(advice, s["small"]))

    story.append(_p("Call the emergency number now if you have", s["h2"]))
    story.append(_flags_table(plan.emergency_flags, s, width))
    story.append(_p("Call your cancer team's 24-hour line today if you have", s["h2"]))
    story.append(_flags_table(plan.urgent_flags, s, width))

    drawing = _skeleton(plan, width * 0.42)
    if drawing is not None:
        caption = (
            f"{len(plan.lesions)} bone lesion{'s' if len(plan.lesions) != 1 else ''} recorded."
            if plan.lesions
            else "No bone lesions are recorded."
        )
        story.append(
            KeepTogether(
                [
                    _p("Where the cancer is in my bones", s["h2"]),
                    _p(caption + " Front view: your right side is on the left.", s["small"]),
                    drawing,
                ]
            )
        )
    story.append(Spacer(1, 4 * mm))
    for note in plan.notes:
        story.append(_p(note, s["small"]))
    story.append(_p("Learn more: the bonemets library, /learn.", s["small"]))
    doc.build(story)
    return out.getvalue()
