"""A schematic skeleton (front view) with the patient's bone lesions marked, as inline SVG.

Pure presentation: no I/O, no JavaScript, no CSS (presentation attributes only, so the figure
works under a strict Content-Security-Policy). The figure is drawn in anatomical position: the
patient faces the viewer, so the patient's right is on the viewer's left (marked "R").

Each lesion is a circle at its site. Fill and letter give the lesion type (L lytic, B blastic,
M mixed, ? not recorded; Okabe-Ito colours); the outline gives the fracture/instability risk from
Mirels or SINS (thick solid dark red high, dashed orange moderate, thin grey low or not scored),
so neither cue relies on colour alone. Every marker carries a ``<title>`` tooltip; the figure
has ``role="img"`` with a ``<title>`` and a ``<desc>`` listing the lesions for screen readers.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Final, get_args

from bonemets.core.pathway.models import LesionResult
from bonemets.core.record import LesionSite

__all__ = [
    "MARK_RISKS",
    "MARK_TYPES",
    "PAIRED_SITES",
    "SITE_NAMES",
    "LesionMark",
    "legend_svg",
    "mark_from",
    "site_position",
    "skeleton_svg",
]

MARK_TYPES: Final = ("lytic", "blastic", "mixed")
MARK_RISKS: Final = ("high", "moderate", "low")
SIDES: Final = ("left", "right")


@dataclass(frozen=True)
class LesionMark:
    """One marker: `site` is a record ``LesionSite``; `side` matters for paired bones only."""

    site: str
    type: str | None
    risk: str | None
    label: str
    side: str | None = None


# --- Geometry (viewBox units) ---------------------------------------------------------------------

_W: Final = 220.0  # viewBox width
_H: Final = 540.0  # viewBox height of the skeleton alone
_CX: Final = _W / 2  # midline
_R: Final = 5.6  # marker radius
_LEGEND_H: Final = 96.0

_BONE_FILL: Final = "#f3efe6"
_BONE_STROKE: Final = "#8c8577"
_BONE_FAINT: Final = "#b9b2a4"

_VERTEBRAE: Final = (
    tuple(f"C{i}" for i in range(1, 8))
    + tuple(f"T{i}" for i in range(1, 13))
    + tuple(f"L{i}" for i in range(1, 6))
)
_SACRAL: Final = tuple(f"S{i}" for i in range(1, 6))
_SPINE_TOP: Final = 71.0
_GAP: Final = 0.9


@dataclass(frozen=True, slots=True)
class _Block:
    name: str
    y: float
    h: float
    w_top: float
    w_bottom: float

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


def _spine() -> tuple[_Block, ...]:
    """One block per level C1-L5 and S1-S5, stacked from the skull base to the coccyx."""
    blocks: list[_Block] = []
    y = _SPINE_TOP
    for i, name in enumerate(_VERTEBRAE):
        if name.startswith("C"):
            h, w = 4.3, 9.0 + 0.3 * i
        elif name.startswith("T"):
            k = i - 7
            h, w = 6.6, 11.0 + 0.4 * k
        else:
            k = i - 19
            h, w = 9.4, 17.5 + 0.9 * k
        blocks.append(_Block(name, y, h, w, w))
        y += h + _GAP
    widths = (30.0, 24.0, 18.5, 13.5, 9.5, 6.0)
    for i, name in enumerate(_SACRAL):
        h = 7.0
        blocks.append(_Block(name, y, h, widths[i], widths[i + 1]))
        y += h + 0.5
    return tuple(blocks)


_SPINE: Final = _spine()
_LEVEL_Y: Final = {b.name: b.cy for b in _SPINE}

# Marker position of each site on the patient's RIGHT: (distance from the midline, y).
# Paired sites are mirrored for the left; unpaired sites sit on the midline (distance 0).
_SACRUM_Y: Final = (_LEVEL_Y["S1"] + _LEVEL_Y["S3"]) / 2
_SITES: Final[dict[str, tuple[float, float]]] = {
    **{name: (0.0, y) for name, y in _LEVEL_Y.items()},
    "sacrum": (0.0, _SACRUM_Y),
    "skull": (0.0, 22.0),
    "sternum": (0.0, 139.0),
    "clavicle": (24.0, 104.0),
    "scapula": (33.0, 130.0),
    "rib": (37.0, 163.0),
    "humerus_proximal": (46.0, 115.0),
    "humerus_shaft": (48.0, 154.0),
    "humerus_distal": (50.0, 194.0),
    "ulna": (51.0, 248.0),
    "radius": (61.0, 248.0),
    "pelvis_ilium": (31.0, 242.0),
    "pelvis_acetabulum": (35.0, 270.0),
    "pelvis_pubis": (11.0, 296.0),
    "pelvis_ischium": (24.0, 311.0),
    "femur_head_neck": (38.0, 283.0),
    "femur_peritrochanteric": (44.0, 304.0),
    "femur_shaft": (37.0, 360.0),
    "femur_distal": (29.0, 418.0),
    "tibia": (25.0, 474.0),
    "fibula": (38.0, 478.0),
}
PAIRED_SITES: Final = frozenset(name for name, (dx, _) in _SITES.items() if dx > 0)

SITE_NAMES: Final[dict[str, str]] = {
    "sacrum": "Sacrum (level not given)",
    "skull": "Skull",
    "sternum": "Sternum",
    "clavicle": "Clavicle",
    "scapula": "Scapula",
    "rib": "Rib",
    "humerus_proximal": "Humerus, proximal",
    "humerus_shaft": "Humerus, shaft",
    "humerus_distal": "Humerus, distal",
    "radius": "Radius",
    "ulna": "Ulna",
    "pelvis_ilium": "Pelvis, ilium",
    "pelvis_acetabulum": "Pelvis, acetabulum",
    "pelvis_pubis": "Pelvis, pubis",
    "pelvis_ischium": "Pelvis, ischium",
    "femur_head_neck": "Femur, head/neck",
    "femur_peritrochanteric": "Femur, peritrochanteric",
    "femur_shaft": "Femur, shaft",
    "femur_distal": "Femur, distal",
    "tibia": "Tibia",
    "fibula": "Fibula",
}

assert set(_SITES) == set(get_args(LesionSite)), "every LesionSite needs a position"


def site_position(site: str, side: str | None = None) -> tuple[float, float]:
    """The (x, y) of `site` in the figure's viewBox; paired bones default to the right."""
    try:
        dx, y = _SITES[site]
    except KeyError:
        raise ValueError(
            f"unknown lesion site {site!r}: the skeleton has no position for it"
        ) from None
    if side not in (None, *SIDES):
        raise ValueError(f"side must be 'left', 'right' or None; got {side!r} for site {site!r}")
    sign = 1.0 if side == "left" else -1.0  # patient's right is the viewer's left
    return (_CX + sign * dx, y)


def _x(dx: float, side: int) -> float:
    return _CX + side * dx


def _f(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def _pts(points: Sequence[tuple[float, float]], side: int) -> str:
    return " ".join(f"{_f(_x(dx, side))},{_f(y)}" for dx, y in points)


def _path(cmds: Sequence[tuple[str, Sequence[tuple[float, float]]]], side: int) -> str:
    out = []
    for cmd, pts in cmds:
        out.append(cmd + " " + " ".join(f"{_f(_x(dx, side))} {_f(y)}" for dx, y in pts))
    return " ".join(out)


# --- Bones ----------------------------------------------------------------------------------------


def _skull() -> list[str]:
    cx = _CX
    return [
        f'<ellipse cx="{_f(cx)}" cy="33" rx="23" ry="26"/>',
        # Face and mandible.
        f'<path d="M {_f(cx - 19)} 44 Q {_f(cx - 19)} 60 {_f(cx - 12)} 66 Q {_f(cx)} 73 '
        f'{_f(cx + 12)} 66 Q {_f(cx + 19)} 60 {_f(cx + 19)} 44 Z"/>',
        f'<ellipse cx="{_f(cx - 8.5)}" cy="40" rx="6" ry="5" fill="#ffffff"/>',
        f'<ellipse cx="{_f(cx + 8.5)}" cy="40" rx="6" ry="5" fill="#ffffff"/>',
        f'<path d="M {_f(cx)} 46 L {_f(cx - 3)} 54 L {_f(cx + 3)} 54 Z" fill="#ffffff"/>',
        f'<path d="M {_f(cx - 9)} 60 L {_f(cx + 9)} 60" fill="none" stroke="{_BONE_FAINT}"/>',
    ]


def _spine_shapes() -> list[str]:
    out = []
    for b in _SPINE:
        if b.name.startswith("S"):
            t, m = b.w_top / 2, b.w_bottom / 2
            pts = [
                (_CX - t, b.y),
                (_CX + t, b.y),
                (_CX + m, b.y + b.h),
                (_CX - m, b.y + b.h),
            ]
            d = " ".join(f"{_f(x)},{_f(y)}" for x, y in pts)
            out.append(f'<polygon points="{d}"><title>{b.name}</title></polygon>')
        else:
            out.append(
                f'<rect x="{_f(_CX - b.w_top / 2)}" y="{_f(b.y)}" width="{_f(b.w_top)}" '
                f'height="{_f(b.h)}" rx="1.2"><title>{b.name}</title></rect>'
            )
    end = _SPINE[-1].y + _SPINE[-1].h
    out.append(
        f'<path d="M {_f(_CX - 2.5)} {_f(end + 0.5)} L {_f(_CX + 2.5)} {_f(end + 0.5)} '
        f'L {_f(_CX)} {_f(end + 7)} Z"/>'
    )
    return out


def _ribs(side: int) -> list[str]:
    out = []
    for i in range(1, 11):
        y = _LEVEL_Y[f"T{i}"]
        reach = min(20.0 + 4.2 * i, 44.0) if i < 8 else 44.0 - (i - 7) * 1.5
        drop = 12.0 + 1.2 * i
        front = max(7.0, 8.0 + (i - 6) * 2.5) if i > 6 else 7.0
        d = _path(
            [
                ("M", [(6.0, y)]),
                ("C", [(reach * 0.7, y - 6), (reach, y - 2), (reach, y + drop * 0.45)]),
                ("C", [(reach, y + drop), (front + 8, y + drop + 2), (front, y + drop - 1)]),
            ],
            side,
        )
        out.append(f'<path d="{d}"/>')
    return out


def _shoulder_girdle(side: int) -> list[str]:
    scapula = _pts([(22.0, 106.0), (43.0, 104.0), (41.0, 116.0), (29.0, 152.0)], side)
    clavicle = _path(
        [("M", [(5.0, 106.0)]), ("Q", [(20.0, 110.0), (28.0, 104.0)]), ("T", [(43.0, 102.0)])],
        side,
    )
    return [
        f'<polygon points="{scapula}" fill="#e9e3d6" stroke="{_BONE_FAINT}"/>',
        f'<path d="{clavicle}" fill="none" stroke-width="4.2" stroke-linecap="round"/>',
        f'<path d="{clavicle}" fill="none" stroke="{_BONE_FILL}" stroke-width="2.6" '
        'stroke-linecap="round"/>',
    ]


def _arm(side: int) -> list[str]:
    out = [
        # Proximal humerus: head + neck.
        f'<circle cx="{_f(_x(45.5, side))}" cy="112" r="7"/>',
        f'<polygon points="{_pts([(40.0, 113), (51.5, 113), (51.2, 129), (44.2, 129)], side)}"/>',
        # Shaft.
        f'<polygon points="{_pts([(44.2, 130.5), (51.2, 130.5), (52.8, 182), (45.8, 182)], side)}"'
        "/>",
        # Distal: flares into the epicondyles.
        '<path d="'
        + _path(
            [
                ("M", [(45.8, 183.5)]),
                ("L", [(52.8, 183.5)]),
                ("Q", [(56.5, 196.0), (57.0, 204.0)]),
                ("L", [(42.5, 204.0)]),
                ("Q", [(43.0, 196.0), (45.8, 183.5)]),
                ("Z", []),
            ],
            side,
        )
        + '"/>',
        # Ulna (medial) and radius (lateral) in anatomical position, palms forward.
        f'<polygon points="{_pts([(45.5, 206), (50.5, 206), (56, 288), (52.5, 288)], side)}"/>',
        f'<polygon points="{_pts([(52.5, 208), (56.5, 208), (65.5, 287), (60.5, 287)], side)}"/>',
        # Hand.
        '<path d="'
        + _path(
            [
                ("M", [(51.0, 291.0)]),
                ("L", [(66.5, 290.0)]),
                ("L", [(68.0, 310.0)]),
                ("L", [(53.0, 312.0)]),
                ("Z", []),
            ],
            side,
        )
        + '"/>',
    ]
    for k, (dx, length) in enumerate(((54.0, 16.0), (58.0, 19.0), (62.0, 18.0), (66.0, 14.0))):
        y0 = 311.5 - 0.5 * k
        out.append(
            f'<path d="{_path([("M", [(dx, y0)]), ("L", [(dx + 0.6, y0 + length)])], side)}" '
            'fill="none" stroke-width="2.6" stroke-linecap="round"/>'
        )
    thumb = _path([("M", [(50.5, 293.0)]), ("L", [(45.5, 306.0)])], side)
    out.append(f'<path d="{thumb}" fill="none" stroke-width="3" stroke-linecap="round"/>')
    return out


def _pelvis(side: int) -> list[str]:
    ilium = _path(
        [
            ("M", [(13.0, 256.0)]),
            ("C", [(14.0, 240.0), (22.0, 228.0), (40.0, 227.0)]),
            ("C", [(48.0, 229.0), (47.0, 245.0), (43.0, 262.0)]),
            ("L", [(40.0, 272.0)]),
            ("L", [(27.0, 272.0)]),
            ("Q", [(17.0, 268.0), (13.0, 256.0)]),
            ("Z", []),
        ],
        side,
    )
    # Pubis and ischium around the obturator foramen (even-odd hole).
    ring = _path(
        [
            ("M", [(27.0, 272.0)]),
            ("L", [(40.0, 276.0)]),
            ("Q", [(36.0, 300.0), (30.0, 316.0)]),
            ("Q", [(22.0, 320.0), (16.0, 313.0)]),
            ("L", [(1.5, 306.0)]),
            ("L", [(1.5, 290.0)]),
            ("Q", [(16.0, 284.0), (27.0, 272.0)]),
            ("Z", []),
            ("M", [(22.0, 293.0)]),
            ("Q", [(30.0, 293.0), (28.0, 303.0)]),
            ("Q", [(24.0, 312.0), (17.0, 305.0)]),
            ("Q", [(14.0, 296.0), (22.0, 293.0)]),
            ("Z", []),
        ],
        side,
    )
    return [
        f'<path d="{ilium}"/>',
        f'<path d="{ring}" fill-rule="evenodd"/>',
        # Acetabulum: the socket of the hip.
        f'<circle cx="{_f(_x(36.0, side))}" cy="280" r="8.5" fill="#e4ddcd"/>',
    ]


def _leg(side: int) -> list[str]:
    proximal = _path(
        [
            ("M", [(36.0, 274.5)]),
            ("L", [(44.5, 282.0)]),
            ("Q", [(48.5, 278.5), (51.0, 284.0)]),
            ("L", [(50.5, 300.0)]),
            ("Q", [(49.0, 310.0), (48.5, 318.0)]),
            ("L", [(36.5, 318.0)]),
            ("Q", [(36.5, 313.0), (33.0, 311.0)]),
            ("Q", [(36.5, 306.0), (37.5, 300.0)]),
            ("Q", [(37.5, 292.0), (31.0, 285.5)]),
            ("Z", []),
        ],
        side,
    )
    distal = _path(
        [
            ("M", [(33.5, 402.0)]),
            ("L", [(24.0, 402.0)]),
            ("Q", [(20.0, 418.0), (20.5, 429.0)]),
            ("L", [(38.5, 429.0)]),
            ("Q", [(38.5, 416.0), (33.5, 402.0)]),
            ("Z", []),
        ],
        side,
    )
    tibia = _path(
        [
            ("M", [(19.5, 432.0)]),
            ("L", [(37.0, 432.0)]),
            ("Q", [(36.0, 440.0), (30.0, 446.0)]),
            ("L", [(29.5, 505.0)]),
            ("Q", [(31.0, 512.0), (27.0, 513.0)]),
            ("L", [(20.0, 513.0)]),
            ("Q", [(18.5, 510.0), (22.5, 505.0)]),
            ("L", [(23.0, 446.0)]),
            ("Q", [(19.0, 440.0), (19.5, 432.0)]),
            ("Z", []),
        ],
        side,
    )
    fibula = _pts([(36.5, 437.0), (40.5, 437.0), (39.0, 515.0), (35.5, 515.0)], side)
    foot = _path(
        [
            ("M", [(21.0, 516.0)]),
            ("L", [(38.5, 516.0)]),
            ("L", [(40.0, 528.0)]),
            ("Q", [(30.0, 533.0), (15.5, 531.0)]),
            ("Q", [(17.0, 522.0), (21.0, 516.0)]),
            ("Z", []),
        ],
        side,
    )
    shaft = _pts([(36.5, 319.5), (48.5, 319.5), (35.0, 400.5), (23.5, 400.5)], side)
    return [
        f'<path d="{proximal}"/>',
        f'<circle cx="{_f(_x(35.0, side))}" cy="280" r="6.8"/>',
        f'<polygon points="{shaft}"/>',
        f'<path d="{distal}"/>',
        f'<ellipse cx="{_f(_x(29.0, side))}" cy="421" rx="5" ry="6" fill="#e9e3d6" '
        f'stroke="{_BONE_FAINT}"/>',
        f'<path d="{tibia}"/>',
        f'<polygon points="{fibula}"/>',
        f'<path d="{foot}"/>',
    ]


def _sternum() -> list[str]:
    c = _CX
    return [
        f'<path d="M {_f(c - 6)} 108 L {_f(c + 6)} 108 L {_f(c + 5)} 119 L {_f(c - 5)} 119 Z" '
        'fill="#e9e3d6" fill-opacity="0.9"/>',
        f'<path d="M {_f(c - 4.5)} 120.5 L {_f(c + 4.5)} 120.5 L {_f(c + 5)} 158 L {_f(c)} 163 '
        f'L {_f(c - 5)} 158 Z" fill="#e9e3d6" fill-opacity="0.9"/>',
    ]


def _bones() -> str:
    parts: list[str] = [
        f'<g class="bones" fill="{_BONE_FILL}" stroke="{_BONE_STROKE}" stroke-width="0.8" '
        'stroke-linejoin="round">'
    ]
    for side in (-1, 1):
        parts.extend(_shoulder_girdle(side))
    parts.append(f'<g fill="none" stroke="{_BONE_STROKE}" stroke-width="2">')
    for side in (-1, 1):
        parts.extend(_ribs(side))
    parts.append("</g>")
    parts.append(f'<g fill="none" stroke="{_BONE_FILL}" stroke-width="0.9">')
    for side in (-1, 1):
        parts.extend(_ribs(side))
    parts.append("</g>")
    for side in (-1, 1):
        parts.extend(_pelvis(side))
    parts.extend(_spine_shapes())
    parts.extend(_sternum())
    parts.extend(_skull())
    for side in (-1, 1):
        parts.extend(_arm(side))
        parts.extend(_leg(side))
    parts.append("</g>")
    return "\n".join(parts)


# --- Markers --------------------------------------------------------------------------------------

# Okabe-Ito colours: distinguishable with the common colour-vision deficiencies.
_TYPE_STYLE: Final[dict[str | None, tuple[str, str, str, str]]] = {
    # type: (fill, letter, letter colour, words)
    "lytic": ("#0072B2", "L", "#ffffff", "lytic"),
    "blastic": ("#CC79A7", "B", "#1a1a1a", "blastic"),
    "mixed": ("url(#{p}-mixed)", "M", "#ffffff", "mixed"),
    None: ("#ffffff", "?", "#333333", "type not recorded"),
}
_RISK_STYLE: Final[dict[str | None, tuple[str, str, str | None, str]]] = {
    # risk: (stroke, stroke-width, dash, words)
    "high": ("#8B0000", "2.6", None, "high risk"),
    "moderate": ("#D98200", "2.2", "2.6 1.6", "moderate risk"),
    "low": ("#6b6b6b", "0.9", None, "low risk"),
    None: ("#6b6b6b", "0.9", None, "risk not scored"),
}
_LYTIC, _BLASTIC = "#0072B2", "#CC79A7"


def _check(mark: LesionMark) -> None:
    site_position(mark.site, mark.side)
    if mark.type not in (None, *MARK_TYPES):
        raise ValueError(f"lesion type must be one of {MARK_TYPES} or None; got {mark.type!r}")
    if mark.risk not in (None, *MARK_RISKS):
        raise ValueError(f"lesion risk must be one of {MARK_RISKS} or None; got {mark.risk!r}")


def _tooltip(mark: LesionMark) -> str:
    text = mark.label
    if mark.site in PAIRED_SITES and mark.side is None:
        text += " (side not recorded; drawn on the right)"
    return text


def _placed(marks: Sequence[LesionMark]) -> list[tuple[float, float, float, float]]:
    """(x, y, anchor x, anchor y) of each marker: nudged sideways when it would hide another."""
    step = 2 * _R + 1.2
    rings = [(0.0, 0.0)]
    for k in range(1, 6):
        rings += [(k * step, 0.0), (-k * step, 0.0)]
        rings += [(k * step * 0.5, k * step * 0.87), (-k * step * 0.5, -k * step * 0.87)]
    taken: list[tuple[float, float]] = []
    out = []
    for mark in marks:
        ax, ay = site_position(mark.site, mark.side)
        spot = (ax, ay)
        for dx, dy in rings:
            x = min(max(ax + dx, _R + 2), _W - _R - 2)
            y = ay + dy
            if all(math.hypot(x - tx, y - ty) >= 1.5 * _R for tx, ty in taken):
                spot = (x, y)
                break
        taken.append(spot)
        out.append((spot[0], spot[1], ax, ay))
    return out


def _marker(mark: LesionMark, x: float, y: float, ax: float, ay: float, prefix: str) -> str:
    fill, letter, ink, _ = _TYPE_STYLE[mark.type]
    stroke, width, dash, _ = _RISK_STYLE[mark.risk]
    fill = fill.format(p=prefix)
    dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
    css = f"lesion lesion--{mark.type or 'unknown'} risk--{mark.risk or 'none'}"
    out = [
        f'<g class="{css}" data-site="{escape(mark.site)}" data-side="{escape(mark.side or "")}">',
        f"<title>{escape(_tooltip(mark))}</title>",
    ]
    if (x, y) != (ax, ay):  # nudged: a leader line back to the site
        out.append(
            f'<line x1="{_f(ax)}" y1="{_f(ay)}" x2="{_f(x)}" y2="{_f(y)}" stroke="#333333" '
            'stroke-width="0.7"/>'
        )
        out.append(f'<circle cx="{_f(ax)}" cy="{_f(ay)}" r="1.3" fill="#333333"/>')
    out.append(
        f'<circle cx="{_f(x)}" cy="{_f(y)}" r="{_f(_R)}" fill="{fill}" stroke="{stroke}" '
        f'stroke-width="{width}"{dash_attr}/>'
    )
    halo = (
        ' stroke="#1a1a1a" stroke-width="0.9" paint-order="stroke"' if mark.type == "mixed" else ""
    )
    out.append(
        f'<text x="{_f(x)}" y="{_f(y)}" dy="2.5" text-anchor="middle" font-size="7" '
        f'font-weight="700" font-family="system-ui, -apple-system, Segoe UI, sans-serif" '
        f'fill="{ink}"{halo} aria-hidden="true">{letter}</text>'
    )
    out.append("</g>")
    return "".join(out)


def _defs(prefix: str) -> str:
    return (
        f'<defs><linearGradient id="{prefix}-mixed" x1="0" y1="0" x2="1" y2="1">'
        f'<stop offset="0.5" stop-color="{_LYTIC}"/><stop offset="0.5" stop-color="{_BLASTIC}"/>'
        "</linearGradient></defs>"
    )


def _legend(prefix: str, top: float) -> str:
    """The legend as a group whose top edge is at `top`, spanning the figure's width."""
    font = 'font-family="system-ui, -apple-system, Segoe UI, sans-serif"'
    out = [f'<g class="legend" transform="translate(0 {_f(top)})" font-size="8" {font}>']
    out.append('<text x="8" y="9" font-weight="700" fill="#333333">Lesion type</text>')
    types: list[str | None] = [*MARK_TYPES, None]
    for i, kind in enumerate(types):
        fill, letter, ink, words = _TYPE_STYLE[kind]
        x, y = 14.0 + (i % 2) * 100.0, 22.0 + (i // 2) * 15.0
        halo = (
            ' stroke="#1a1a1a" stroke-width="0.9" paint-order="stroke"' if kind == "mixed" else ""
        )
        out.append(
            f'<circle cx="{_f(x)}" cy="{_f(y)}" r="{_f(_R)}" fill="{fill.format(p=prefix)}" '
            'stroke="#6b6b6b" stroke-width="0.9"/>'
            f'<text x="{_f(x)}" y="{_f(y)}" dy="2.5" text-anchor="middle" font-size="7" '
            f'font-weight="700" fill="{ink}"{halo} aria-hidden="true">{letter}</text>'
            f'<text x="{_f(x + 10)}" y="{_f(y + 3)}" fill="#333333">{escape(words)}</text>'
        )
    out.append(
        '<text x="8" y="60" font-weight="700" fill="#333333">Fracture / instability risk</text>'
    )
    risks = [("high", "high"), ("moderate", "moderate"), ("low", "low or not scored")]
    for i, (risk, words) in enumerate(risks):
        stroke, width, dash, _ = _RISK_STYLE[risk]
        x, y = (14.0, 58.0, 124.0)[i], 74.0
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(
            f'<circle cx="{_f(x)}" cy="{_f(y)}" r="{_f(_R)}" fill="#ffffff" stroke="{stroke}" '
            f'stroke-width="{width}"{dash_attr}/>'
            f'<text x="{_f(x + 10)}" y="{_f(y + 3)}" fill="#333333">{escape(words)}</text>'
        )
    out.append(
        '<text x="8" y="91" font-size="7" fill="#555555">Front view: patient\'s right on the '
        "left (R). Mirels / SINS.</text>"
    )
    out.append("</g>")
    return "".join(out)


def _summary(marks: Sequence[LesionMark]) -> tuple[str, str]:
    n = len(marks)
    if n == 0:
        return "Skeleton: no bone lesions recorded", "No bone lesions are recorded."
    title = f"Skeleton: {n} bone lesion{'s' if n != 1 else ''}"
    high = sum(1 for m in marks if m.risk == "high")
    moderate = sum(1 for m in marks if m.risk == "moderate")
    head = f"{n} bone lesion{'s' if n != 1 else ''}"
    if high or moderate:
        head += f" ({high} high and {moderate} moderate fracture or instability risk)"
    items = []
    for m in marks:
        _, _, _, type_words = _TYPE_STYLE[m.type]
        _, _, _, risk_words = _RISK_STYLE[m.risk]
        items.append(f"{_tooltip(m)} [{type_words}, {risk_words}]")
    return title, head + ": " + "; ".join(items) + "."


def _prefix(marks: Sequence[LesionMark]) -> str:
    key = "\n".join(repr(m) for m in marks).encode("utf-8")
    return "skel-" + hashlib.sha1(key, usedforsecurity=False).hexdigest()[:8]


def skeleton_svg(
    lesions: Sequence[LesionMark],
    *,
    width: int = 260,
    legend: bool = True,
    id_prefix: str | None = None,
) -> str:
    """An inline ``<svg>`` of the skeleton with one marker per lesion, legend included by default.

    Raises ValueError naming an unknown site, side, type or risk. Lesions at the same site (or
    close enough to hide each other) are nudged apart, with a leader line back to the site.
    `id_prefix` makes the element ids unique on a page with several figures (default: derived
    from the lesions).
    """
    marks = list(lesions)
    for mark in marks:
        _check(mark)
    if width <= 0:
        raise ValueError(f"width must be positive; got {width}")
    prefix = escape(id_prefix or _prefix(marks))
    view_h = _H + (_LEGEND_H if legend else 0.0)
    height = round(width * view_h / _W)
    title, desc = _summary(marks)
    font = 'font-family="system-ui, -apple-system, Segoe UI, sans-serif"'
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_f(_W)} {_f(view_h)}" '
        f'width="{width}" height="{height}" role="img" class="bm-skeleton" '
        f'aria-labelledby="{prefix}-title {prefix}-desc">',
        f'<title id="{prefix}-title">{escape(title)}</title>',
        f'<desc id="{prefix}-desc">{escape(desc)}</desc>',
        _defs(prefix),
        _bones(),
        f'<g font-size="10" font-weight="700" fill="#555555" {font} aria-hidden="true">'
        '<text x="8" y="14">R</text>'
        f'<text x="{_f(_W - 8)}" y="14" text-anchor="end">L</text></g>',
        '<g class="lesions">',
    ]
    for mark, (x, y, ax, ay) in zip(marks, _placed(marks), strict=True):
        parts.append(_marker(mark, x, y, ax, ay, prefix))
    parts.append("</g>")
    if legend:
        parts.append(_legend(prefix, _H))
    parts.append("</svg>")
    return "\n".join(parts)


def legend_svg(*, width: int = 260, id_prefix: str = "skel-legend") -> str:
    """The legend alone, as its own inline ``<svg>``."""
    height = round(width * _LEGEND_H / _W)
    prefix = escape(id_prefix)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_f(_W)} {_f(_LEGEND_H)}" '
        f'width="{width}" height="{height}" role="img" class="bm-skeleton-legend" '
        f'aria-labelledby="{prefix}-title">'
        f'<title id="{prefix}-title">Legend: lesion type L lytic, B blastic, M mixed, ? not '
        "recorded; outline thick dark red high risk, dashed orange moderate, thin grey low or "
        "not scored</title>"
        f"{_defs(prefix)}{_legend(prefix, 0.0)}</svg>"
    )


# --- From the core's lesion result ----------------------------------------------------------------

_HIGH: Final = {"fixation", "unstable"}
_MODERATE: Final = {"borderline", "potentially_unstable"}
_BAND_WORDS: Final = {
    "fixation": "prophylactic fixation",
    "borderline": "borderline",
    "radiotherapy_observe": "radiotherapy / observe",
    "stable": "stable",
    "potentially_unstable": "potentially unstable",
    "unstable": "unstable",
}
_RANK: Final[dict[str | None, int]] = {None: 0, "low": 1, "moderate": 2, "high": 3}


def _risk_of(band: str) -> str:
    if band in _HIGH:
        return "high"
    if band in _MODERATE:
        return "moderate"
    return "low"


def site_name(site: str) -> str:
    """How a site reads in a label: "T12", "Femur, peritrochanteric"."""
    return SITE_NAMES.get(site, site)


def mark_from(lesion_result: LesionResult, *, side: str | None = None) -> LesionMark:
    """The marker of one assessed lesion.

    Risk: Mirels fixation or SINS unstable -> high; Mirels borderline or SINS potentially
    unstable -> moderate; any other band -> low; no score -> None. The record has no laterality,
    so `side` is None unless the caller knows it.
    """
    risk: str | None = None
    scores: list[str] = []
    for name, summary in (("Mirels", lesion_result.mirels), ("SINS", lesion_result.sins)):
        if summary is None:
            continue
        band_risk = _risk_of(summary.band)
        if _RANK[band_risk] > _RANK[risk]:
            risk = band_risk
        scores.append(f"{name} {summary.score} {_BAND_WORDS.get(summary.band, summary.band)}")
    what = f"{site_name(lesion_result.site)} {lesion_result.type or 'type not recorded'}"
    detail = ", ".join(scores) if scores else lesion_result.note or "not scored"
    label = f"{what} — {detail} (seen {lesion_result.date.isoformat()})"
    return LesionMark(
        site=lesion_result.site,
        type=lesion_result.type,
        risk=risk,
        label=label,
        side=side,
    )
