"""The patient-page timeline as a Plotly figure, built by hand as a plain JSON-able dict.

No plotly Python package is needed to build the figure; the page loads plotly.js (the file
``plotly_js_path()`` finds, shipped by the ``plotly`` PyPI package) and calls
``Plotly.newPlot(div, fig.data, fig.layout, PLOTLY_CONFIG)``.

Panels share one date axis and appear only when they have data, top to bottom:

- events: bone-modifying-agent doses (vertical ticks, also faint dotted lines down the panels) and
  imaging (diamonds);
- corrected calcium, against the normal range and the CTCAE v5 grade 2 and 3 limits;
- creatinine against its upper limit, with Cockcroft-Gault clearance (mL/min) on a
  second axis where age and weight are on record (never guessed; unknown sex takes the core's
  female factor and says so);
- alkaline phosphatase against its upper limit;
- tumour markers (CA 15-3, CA 27.29 in U/mL; CEA in ng/mL on a second axis when both kinds).

Calcium and creatinine are drawn in the units of the reader's unit system (mmol/L and umol/L, or
mg/dL: knowledge/labs.toml [unit_systems]); a total calcium is corrected with the albumin triage
pairs with it (``core.labs.albumin_for``). Nothing dated after `as_of` is shown: the record is
first cut with ``Record.as_of``.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import orjson

from bonemets.core.bounds import EARLIEST_DATE
from bonemets.core.errors import InputError
from bonemets.core.knowledge import load
from bonemets.core.labs import (
    Sex,
    albumin_for,
    corrected_calcium,
    ctcae_grade,
    default_limits,
    usual_range,
)
from bonemets.core.pathway.facts import age_on, latest_weight
from bonemets.core.record import Lab, Record
from bonemets.core.renal import cockcroft_gault
from bonemets.core.units import DEFAULT_UNIT_SYSTEM, convert, unit_in_system

__all__ = ["PLOTLY_CONFIG", "figure_json", "plotly_js_path", "plotly_js_version", "timeline_figure"]

Figure = dict[str, Any]

# Okabe-Ito colours (colour-vision-deficiency safe) and a few greys.
BLUE: Final = "#0072B2"
SKY: Final = "#56B4E9"
GREEN: Final = "#009E73"
ORANGE: Final = "#E69F00"
VERMILLION: Final = "#D55E00"
PURPLE: Final = "#CC79A7"
DARK_RED: Final = "#8B0000"
GREY: Final = "#6b6b6b"
LIGHT_GREY: Final = "#9a9a9a"
NORMAL_FILL: Final = "rgba(0, 158, 115, 0.12)"
FONT: Final = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"

# Chart options for Plotly.newPlot (the fourth argument); not part of the figure.
PLOTLY_CONFIG: Final[dict[str, Any]] = {
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"],
    "toImageButtonOptions": {"format": "png", "scale": 2},
}

AGENT_NAMES: Final = {
    "zoledronic_acid": "Zoledronic acid",
    "pamidronate": "Pamidronate",
    "ibandronate": "Ibandronate",
    "clodronate": "Clodronate",
    "denosumab": "Denosumab",
}
AGENT_COLOURS: Final = {
    "zoledronic_acid": BLUE,
    "pamidronate": SKY,
    "ibandronate": GREEN,
    "clodronate": PURPLE,
    "denosumab": VERMILLION,
}
MODALITY_NAMES: Final = {
    "ct": "CT",
    "bone_scan": "Bone scan",
    "mri": "MRI",
    "pet_ct": "PET-CT",
    "x_ray": "X-ray",
    "other": "Other imaging",
}
FINDING_COLOURS: Final = {
    "progression": VERMILLION,
    "new_lesion": VERMILLION,
    "stable": GREY,
    "response": GREEN,
    "other": LIGHT_GREY,
    None: LIGHT_GREY,
}
MARKERS: Final = {
    "ca15_3": ("CA 15-3", "U/mL", BLUE),
    "ca27_29": ("CA 27.29", "U/mL", SKY),
    "cea": ("CEA", "ng/mL", ORANGE),
}

PLOTTED: Final = frozenset(
    {"calcium_total", "calcium_corrected", "creatinine", "alkaline_phosphatase", *MARKERS}
)

_GAP_PX: Final = 40
_MARGIN: Final = {"l": 84, "r": 70, "t": 34, "b": 40}


# --- Figure assembly ------------------------------------------------------------------------------


@dataclass
class _Axis:
    """A y axis of a panel; `secondary` axes overlay the panel's first axis on the right."""

    spec: dict[str, Any]
    secondary: bool = False
    traces: list[dict[str, Any]] = field(default_factory=list)
    lines: list[dict[str, Any]] = field(default_factory=list)  # horizontal limit lines


@dataclass
class _Panel:
    name: str
    height: int
    axes: list[_Axis]


def _iso(day: dt.date) -> str:
    return day.isoformat()


def _r(value: float, digits: int = 3) -> float:
    return round(value, digits)


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _step(
    days: Sequence[dt.date], values: Sequence[float], x0: dt.date, x1: dt.date
) -> tuple[list[str], list[float]]:
    """A step line (shape "hv") of per-result limits, spanning the whole axis x0..x1."""
    xs: list[str] = []
    ys: list[float] = []
    for i, (day, value) in enumerate(zip(days, values, strict=True)):
        if ys and value == ys[-1]:
            continue
        xs.append(_iso(x0 if i == 0 else day))
        ys.append(value)
    if ys:
        xs.append(_iso(x1))
        ys.append(ys[-1])
    return xs, ys


def _limit_line(
    name: str,
    xs: list[str],
    ys: list[float],
    colour: str,
    *,
    dash: str = "dash",
    group: str | None = None,
    legend: bool = True,
) -> dict[str, Any]:
    trace: dict[str, Any] = {
        "type": "scatter",
        "mode": "lines",
        "name": name,
        "x": xs,
        "y": ys,
        "line": {"color": colour, "width": 1.2, "dash": dash, "shape": "hv"},
        "hoverinfo": "skip",
        "showlegend": legend,
    }
    if group is not None:
        trace["legendgroup"] = group
    return trace


def _hline(y: float, colour: str, text: str, *, below: bool, dash: str = "dash") -> dict[str, Any]:
    return {
        "type": "line",
        "x0": 0,
        "x1": 1,
        "y0": y,
        "y1": y,
        "line": {"color": colour, "width": 1, "dash": dash},
        "layer": "below",
        "label": {
            "text": text,
            "textposition": "start",
            "yanchor": "top" if below else "bottom",
            "font": {"size": 10, "color": colour},
        },
    }


def _assemble(panels: list[_Panel], x0: dt.date, x1: dt.date, dose_days: list[dt.date]) -> Figure:
    plot_px = sum(p.height for p in panels) + _GAP_PX * (len(panels) - 1)
    data: list[dict[str, Any]] = []
    shapes: list[dict[str, Any]] = []
    layout: dict[str, Any] = {}
    top = float(plot_px)
    n = 0
    bottom_axis = "y"
    strip_bottom = 1.0
    legends: dict[str, dict[str, Any]] = {}
    for k, panel in enumerate(panels):
        domain = [_r(max(top - panel.height, 0) / plot_px, 4), _r(top / plot_px, 4)]
        top -= panel.height + _GAP_PX
        legend_id = "legend" if k == 0 else f"legend{k + 1}"
        legends[legend_id] = {
            "orientation": "h",
            "x": 0,
            "xanchor": "left",
            "y": domain[1],
            "yanchor": "bottom",
            "yref": "paper",
            "font": {"size": 11},
            "bgcolor": "rgba(255, 255, 255, 0)",
            "traceorder": "normal",
        }
        base_id = ""
        for axis in panel.axes:
            n += 1
            axis_id = "y" if n == 1 else f"y{n}"
            spec: dict[str, Any] = {
                "anchor": "x",
                "zeroline": False,
                "gridcolor": "#ececec",
                "linecolor": "#cccccc",
                "ticks": "outside",
                "tickcolor": "#cccccc",
                "title": {"font": {"size": 11}},
                **axis.spec,
            }
            if axis.secondary:
                spec.update(
                    {"overlaying": base_id, "side": "right", "showgrid": False, "tickmode": "auto"}
                )
            else:
                spec["domain"] = domain
                base_id = axis_id
                bottom_axis = axis_id
            layout["yaxis" if n == 1 else f"yaxis{n}"] = spec
            for trace in axis.traces:
                data.append({**trace, "xaxis": "x", "yaxis": axis_id, "legend": legend_id})
            for line in axis.lines:
                shapes.append({**line, "xref": "x domain", "yref": axis_id})
        if panel.name == "events":
            strip_bottom = domain[0]
    for day in dose_days:
        shapes.append(
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": _iso(day),
                "x1": _iso(day),
                "y0": 0,
                "y1": strip_bottom,
                "line": {"color": "rgba(90, 90, 90, 0.28)", "width": 1, "dash": "dot"},
                "layer": "below",
            }
        )
    layout.update(
        {
            "height": plot_px + _MARGIN["t"] + _MARGIN["b"],
            "margin": dict(_MARGIN),
            "font": {"family": FONT, "size": 12, "color": "#222222"},
            "paper_bgcolor": "#ffffff",
            "plot_bgcolor": "#ffffff",
            "hovermode": "x unified",
            "hoversubplots": "axis",
            "hoverlabel": {"font": {"size": 12}, "namelength": -1},
            "showlegend": True,
            **legends,
            "xaxis": {
                "type": "date",
                "anchor": bottom_axis,
                "range": [_iso(x0), _iso(x1)],
                "hoverformat": "%d %b %Y",
                "showspikes": True,
                "spikemode": "across",
                "spikesnap": "cursor",
                "spikethickness": 1,
                "spikecolor": "#888888",
                "spikedash": "dot",
                "gridcolor": "#ececec",
                "linecolor": "#cccccc",
                "ticks": "outside",
                "tickcolor": "#cccccc",
            },
            "shapes": shapes,
        }
    )
    return {"data": data, "layout": layout}


def _empty(as_of: dt.date) -> Figure:
    return {
        "data": [],
        "layout": {
            "height": 120,
            "margin": {"l": 20, "r": 20, "t": 20, "b": 20},
            "font": {"family": FONT, "size": 12, "color": "#222222"},
            "xaxis": {"visible": False},
            "yaxis": {"visible": False},
            "annotations": [
                {
                    "text": f"No results, bone-agent doses or imaging on record up to {as_of}.",
                    "xref": "paper",
                    "yref": "paper",
                    "x": 0.5,
                    "y": 0.5,
                    "showarrow": False,
                    "font": {"size": 13, "color": GREY},
                }
            ],
        },
    }


# --- Panels ---------------------------------------------------------------------------------------


def _events(rec: Record) -> _Panel | None:
    if not rec.bma_doses and not rec.imaging:
        return None
    traces: list[dict[str, Any]] = []
    for agent in AGENT_NAMES:
        doses = sorted((d for d in rec.bma_doses if d.agent == agent), key=lambda d: d.date)
        if not doses:
            continue
        text = []
        for d in doses:
            amount = f"{d.dose:g} {d.unit}" if d.dose is not None else "dose not recorded"
            route = f" {d.route.upper()}" if d.route else ""
            text.append(f"{amount}{route}")
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": AGENT_NAMES[agent],
                "legendgroup": "bma",
                "x": [_iso(d.date) for d in doses],
                "y": [0.5] * len(doses),
                "customdata": text,
                "marker": {
                    "symbol": "line-ns-open",
                    "size": 18,
                    "line": {"width": 2.5, "color": AGENT_COLOURS[agent]},
                    "color": AGENT_COLOURS[agent],
                },
                "hovertemplate": f"{AGENT_NAMES[agent]} %{{customdata}}<extra></extra>",
            }
        )
    scans = sorted(rec.imaging, key=lambda i: i.date)
    if scans:
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": "Imaging",
                "x": [_iso(s.date) for s in scans],
                "y": [1.5] * len(scans),
                "customdata": [
                    f"{MODALITY_NAMES[s.modality]}: "
                    f"{(s.finding or 'finding not recorded').replace('_', ' ')}"
                    for s in scans
                ],
                "marker": {
                    "symbol": "diamond",
                    "size": 11,
                    "color": [FINDING_COLOURS[s.finding] for s in scans],
                    "line": {"width": 1, "color": "#333333"},
                },
                "hovertemplate": "%{customdata}<extra></extra>",
            }
        )
    spec = {
        "range": [0, 2],
        "fixedrange": True,
        "tickvals": [0.5, 1.5],
        "ticktext": ["Bone agent", "Imaging"],
        "showgrid": False,
        "ticks": "",
    }
    return _Panel("events", 64, [_Axis(spec, traces=traces)])


@dataclass(frozen=True, slots=True)
class _CalciumPoint:
    day: dt.date
    value: float  # corrected (or, for the uncorrected series, total) calcium in the panel's unit
    low: float | None  # normal range in the panel's unit
    high: float | None
    limit_from: str
    text: str


def _calcium_limits(lab: Lab, sex: Sex | None, unit: str) -> tuple[float | None, float | None, str]:
    found = usual_range("calcium_corrected", unit, sex, lower=lab.lower_limit,
                        upper=lab.upper_limit, given_unit=lab.unit)  # fmt: skip
    if found is None:
        return None, None, "none"
    low, high, source = found
    return _r(low), _r(high), source


def _grade_text(value: float, unit: str, lab: Lab, sex: Sex | None) -> str:
    """The CTCAE v5 grade of a corrected calcium, in the unit it was measured in."""
    low_limit, high_limit = lab.lower_limit, lab.upper_limit
    try:
        high = ctcae_grade(
            "hypercalcaemia",
            value,
            unit,
            lower_limit=low_limit,
            upper_limit=high_limit,
            sex=sex,
            validated=True,
        )
        low = ctcae_grade(
            "hypocalcaemia",
            value,
            unit,
            lower_limit=low_limit,
            upper_limit=high_limit,
            sex=sex,
            validated=True,
        )
    except InputError:
        return ""
    grade = high if high.grade else low
    return f"<br>CTCAE {grade.term.lower()} grade {grade.grade}" if grade.grade else ""


def _calcium_points(
    rec: Record, sex: Sex | None, unit: str
) -> tuple[list[_CalciumPoint], list[_CalciumPoint]]:
    """(corrected, uncorrected) calcium points in `unit`, oldest first.

    Corrected: the laboratory's corrected calcium, else total calcium corrected with the albumin
    triage pairs with it (the same day's, else one up to `albumin_pairing_days` before). Total
    calcium without one goes, uncorrected, to the second list.
    """
    albumins = [lab for lab in rec.labs if lab.code == "albumin"]
    reported = {lab.date for lab in rec.labs if lab.code == "calcium_corrected"}
    corrected: list[_CalciumPoint] = []
    uncorrected: list[_CalciumPoint] = []
    for lab in sorted(rec.labs, key=lambda x: x.date):
        if lab.code == "calcium_corrected":
            low, high, limit_from = _calcium_limits(lab, sex, unit)
            value = convert(lab.code, lab.value, lab.unit, unit)
            text = f"corrected by the laboratory: {_fmt(lab.value)} {lab.unit}"
            text += _grade_text(lab.value, lab.unit, lab, sex)
            corrected.append(_CalciumPoint(lab.date, _r(value), low, high, limit_from, text))
        elif lab.code == "calcium_total":
            low, high, limit_from = _calcium_limits(lab, sex, unit)
            alb = albumin_for(lab, albumins)
            if alb is None:
                value = convert(lab.code, lab.value, lab.unit, unit)
                text = f"total {_fmt(lab.value)} {lab.unit}, no albumin to pair: not corrected"
                uncorrected.append(_CalciumPoint(lab.date, _r(value), low, high, limit_from, text))
                continue
            if lab.date in reported:
                continue  # the laboratory's own corrected value of the day is shown instead
            cc = corrected_calcium(lab.value, lab.unit, alb.value, alb.unit, validated=True)
            value = convert("calcium_corrected", cc.value, cc.unit, unit)
            text = f"{cc.formula} = {_fmt(cc.value)} {cc.unit}"
            if alb.date != lab.date:
                text += f" (albumin of {alb.date.isoformat()})"
            text += _grade_text(cc.value, cc.unit, lab, sex)
            corrected.append(_CalciumPoint(lab.date, _r(value), low, high, limit_from, text))
    return corrected, uncorrected


def _ctcae_limits(criterion: str, unit: str) -> dict[int, float]:
    table: dict[str, float] = load("ctcae")[criterion]["thresholds"][unit]
    return {int(g): float(v) for g, v in table.items()}


def _calcium(rec: Record, sex: Sex | None, x0: dt.date, x1: dt.date, unit: str) -> _Panel | None:
    corrected, uncorrected = _calcium_points(rec, sex, unit)
    digits = ".2f" if unit == "mmol/L" else ".1f"
    if not corrected and not uncorrected:
        return None
    every = sorted(corrected + uncorrected, key=lambda p: p.day)
    traces: list[dict[str, Any]] = []
    banded = [p for p in every if p.low is not None and p.high is not None]
    if banded:
        days = [p.day for p in banded]
        lx, ly = _step(days, [p.low for p in banded if p.low is not None], x0, x1)
        hx, hy = _step(days, [p.high for p in banded if p.high is not None], x0, x1)
        source = "laboratory" if any(p.limit_from == "laboratory" for p in banded) else "default"
        name = f"Calcium normal range ({source})"
        traces.append(
            {
                **_limit_line(f"{name}, lower limit", lx, ly, GREEN, legend=False),
                "line": {"width": 0, "shape": "hv"},
            }
        )
        traces.append(
            {
                **_limit_line(name, hx, hy, GREEN),
                "line": {"width": 0, "shape": "hv"},
                "fill": "tonexty",
                "fillcolor": NORMAL_FILL,
            }
        )
    if corrected:
        traces.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": "Corrected calcium",
                "x": [_iso(p.day) for p in corrected],
                "y": [p.value for p in corrected],
                "customdata": [p.text for p in corrected],
                "line": {"color": BLUE, "width": 2},
                "marker": {"size": 7, "color": BLUE},
                "hovertemplate": f"Corrected Ca <b>%{{y:{digits}}} {unit}</b> (%{{customdata}})"
                "<extra></extra>",
            }
        )
    if uncorrected:
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": "Total calcium, uncorrected",
                "x": [_iso(p.day) for p in uncorrected],
                "y": [p.value for p in uncorrected],
                "customdata": [p.text for p in uncorrected],
                "marker": {
                    "size": 8,
                    "symbol": "circle-open",
                    "color": BLUE,
                    "line": {"width": 1.5},
                },
                "hovertemplate": f"Total Ca %{{y:{digits}}} {unit}"
                " (%{customdata})<extra></extra>",
            }
        )
    hyper = _ctcae_limits("hypercalcaemia", unit)
    hypo = _ctcae_limits("hypocalcaemia", unit)
    lines = [
        _hline(hyper[2], ORANGE, f"CTCAE G2 > {hyper[2]:g}", below=True),
        _hline(hyper[3], DARK_RED, f"CTCAE G3 > {hyper[3]:g}", below=True),
    ]
    lowest_normal = min((p.low for p in banded if p.low is not None), default=None)
    if lowest_normal is not None and any(p.value < lowest_normal for p in every):
        lines += [
            _hline(hypo[2], ORANGE, f"CTCAE G2 < {hypo[2]:g}", below=False),
            _hline(hypo[3], DARK_RED, f"CTCAE G3 < {hypo[3]:g}", below=False),
        ]
    spec = {"title": {"text": f"Calcium, corrected ({unit})"}, "tickformat": digits}
    return _Panel("calcium", 210, [_Axis(spec, traces=traces, lines=lines)])


def _uln(lab: Lab, unit: str, sex: Sex | None) -> tuple[float | None, str]:
    if lab.upper_limit is not None:
        return convert(lab.code, lab.upper_limit, lab.unit, unit), "laboratory"
    default = default_limits(lab.code, unit, sex)
    return (default[1], "default") if default is not None else (None, "none")


def _renal(rec: Record, sex: Sex | None, x0: dt.date, x1: dt.date, unit: str) -> _Panel | None:
    creat = sorted((lab for lab in rec.labs if lab.code == "creatinine"), key=lambda x: x.date)
    if not creat:
        return None
    places, creat_digits = (1, ".0f") if unit == "umol/L" else (3, ".2f")
    values = [_r(convert("creatinine", lab.value, lab.unit, unit), places) for lab in creat]
    ulns = [_uln(lab, unit, sex) for lab in creat]
    texts = []
    for lab, (uln, source) in zip(creat, ulns, strict=True):
        shown = f"{_fmt(lab.value)} {lab.unit}; " if lab.unit != unit else ""
        texts.append(f"{shown}ULN {_fmt(uln)} {unit} ({source})" if uln else f"{shown}no ULN")
    traces: list[dict[str, Any]] = []
    with_uln = [(lab.date, u) for lab, (u, _) in zip(creat, ulns, strict=True) if u is not None]
    if with_uln:
        ux, uy = _step([d for d, _ in with_uln], [_r(u, places) for _, u in with_uln], x0, x1)
        traces.append(_limit_line("Creatinine ULN", ux, uy, VERMILLION, group="creat"))
    traces.append(
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "Creatinine",
            "legendgroup": "creat",
            "x": [_iso(lab.date) for lab in creat],
            "y": values,
            "customdata": texts,
            "line": {"color": VERMILLION, "width": 2},
            "marker": {"size": 7, "color": VERMILLION},
            "hovertemplate": f"Creatinine <b>%{{y:{creat_digits}}} {unit}</b>"
            " (%{customdata})<extra></extra>",
        }
    )
    axes = [
        _Axis(
            {"title": {"text": f"Creatinine ({unit})"}, "rangemode": "tozero"},
            traces=traces,
        )
    ]
    crcl_x: list[str] = []
    crcl_y: list[float] = []
    crcl_text: list[str] = []
    for lab in creat:
        weight = latest_weight(rec, lab.date)
        age = age_on(rec, lab.date)
        if weight is None or age is None:
            continue  # never guessed
        try:
            crcl = cockcroft_gault(
                age=age,
                weight_kg=weight.kg,
                sex=sex,
                creatinine=lab.value,
                creatinine_unit=lab.unit,
            )
        except InputError:
            continue  # e.g. under 18 or a weight outside the formula's range
        note = ", sex unknown: female factor" if sex is None else ""
        crcl_x.append(_iso(lab.date))
        crcl_y.append(crcl.value)
        crcl_text.append(
            f"Cockcroft-Gault: age {age}, weight {weight.kg:g} kg on {weight.date}{note}"
        )
    if crcl_y:
        crcl_trace = {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "CrCl (Cockcroft-Gault)",
            "x": crcl_x,
            "y": crcl_y,
            "customdata": crcl_text,
            "line": {"color": GREEN, "width": 2, "dash": "dot"},
            "marker": {"size": 7, "color": GREEN, "symbol": "square"},
            "hovertemplate": "CrCl <b>%{y:.0f} mL/min</b> (%{customdata})<extra></extra>",
        }
        axes.append(
            _Axis(
                {"title": {"text": "CrCl (mL/min)"}, "rangemode": "tozero"},
                secondary=True,
                traces=[crcl_trace],
            )
        )
    return _Panel("renal", 180, axes)


def _alp(rec: Record, sex: Sex | None, x0: dt.date, x1: dt.date) -> _Panel | None:
    labs = sorted(
        (lab for lab in rec.labs if lab.code == "alkaline_phosphatase"), key=lambda x: x.date
    )
    if not labs:
        return None
    ulns = [_uln(lab, "U/L", sex) for lab in labs]
    traces: list[dict[str, Any]] = []
    with_uln = [(lab.date, u) for lab, (u, _) in zip(labs, ulns, strict=True) if u is not None]
    if with_uln:
        ux, uy = _step([d for d, _ in with_uln], [_r(u, 1) for _, u in with_uln], x0, x1)
        traces.append(_limit_line("ALP ULN", ux, uy, PURPLE, group="alp"))
    traces.append(
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "Alkaline phosphatase",
            "legendgroup": "alp",
            "x": [_iso(lab.date) for lab in labs],
            "y": [_r(lab.value, 1) for lab in labs],
            "customdata": [
                f"ULN {_fmt(u)} U/L ({source})" if u is not None else "no ULN" for u, source in ulns
            ],
            "line": {"color": PURPLE, "width": 2},
            "marker": {"size": 7, "color": PURPLE, "symbol": "triangle-up"},
            "hovertemplate": "ALP <b>%{y:.0f} U/L</b> (%{customdata})<extra></extra>",
        }
    )
    spec = {"title": {"text": "ALP (U/L)"}, "rangemode": "tozero"}
    return _Panel("alp", 150, [_Axis(spec, traces=traces)])


def _marker_traces(rec: Record, code: str, x0: dt.date, x1: dt.date) -> list[dict[str, Any]]:
    labs = sorted((lab for lab in rec.labs if lab.code == code), key=lambda x: x.date)
    if not labs:
        return []
    name, unit, colour = MARKERS[code]
    traces: list[dict[str, Any]] = []
    with_uln = [(lab.date, lab.upper_limit) for lab in labs if lab.upper_limit is not None]
    if with_uln:
        ux, uy = _step([d for d, _ in with_uln], [u for _, u in with_uln if u is not None], x0, x1)
        traces.append(_limit_line(f"{name} ULN", ux, uy, colour, group=code, legend=False))
    traces.append(
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": name,
            "legendgroup": code,
            "x": [_iso(lab.date) for lab in labs],
            "y": [lab.value for lab in labs],
            "customdata": [
                f"ULN {_fmt(lab.upper_limit)} {unit}" if lab.upper_limit is not None else "no ULN"
                for lab in labs
            ],
            "line": {"color": colour, "width": 2},
            "marker": {"size": 7, "color": colour},
            "hovertemplate": f"{name} <b>%{{y:.3~g}} {unit}</b> (%{{customdata}})<extra></extra>",
        }
    )
    return traces


def _tumour_markers(rec: Record, x0: dt.date, x1: dt.date) -> _Panel | None:
    u_ml = _marker_traces(rec, "ca15_3", x0, x1) + _marker_traces(rec, "ca27_29", x0, x1)
    cea = _marker_traces(rec, "cea", x0, x1)
    if not u_ml and not cea:
        return None
    if u_ml:
        axes = [_Axis({"title": {"text": "CA (U/mL)"}, "rangemode": "tozero"}, False, u_ml)]
        if cea:
            axes.append(_Axis({"title": {"text": "CEA (ng/mL)"}, "rangemode": "tozero"}, True, cea))
    else:
        axes = [_Axis({"title": {"text": "CEA (ng/mL)"}, "rangemode": "tozero"}, False, cea)]
    return _Panel("markers", 150, axes)


# --- Public ---------------------------------------------------------------------------------------


def timeline_figure(
    record: Record, as_of: dt.date, unit_system: str = DEFAULT_UNIT_SYSTEM
) -> Figure:
    """The patient's timeline up to `as_of` as a Plotly figure dict (``data`` and ``layout``),
    calcium and creatinine in the units of `unit_system`."""
    rec = record.as_of(as_of)
    sex = rec.demographics.sex
    days = (
        [lab.date for lab in rec.labs if lab.code in PLOTTED]
        + [d.date for d in rec.bma_doses]
        + [i.date for i in rec.imaging]
    )
    if not days:
        return _empty(as_of)
    # A stored date before 1900 (a typing slip kept from before dates were checked) would
    # stretch the axis over centuries, or past the first representable day: it is left off.
    first = max(min(days), EARLIEST_DATE)
    pad = dt.timedelta(days=max(7, (as_of - first).days // 40))
    x0, x1 = first - pad, as_of + pad
    # Limit lines run from the axis start to as_of: nothing is drawn after as_of.
    candidates = [
        _events(rec),
        _calcium(rec, sex, x0, as_of, unit_in_system("calcium_corrected", unit_system)),
        _renal(rec, sex, x0, as_of, unit_in_system("creatinine", unit_system)),
        _alp(rec, sex, x0, as_of),
        _tumour_markers(rec, x0, as_of),
    ]
    panels = [p for p in candidates if p is not None]
    if not panels:
        return _empty(as_of)
    fig = _assemble(panels, x0, x1, sorted({d.date for d in rec.bma_doses}))
    fig["layout"]["shapes"].append(
        {
            "type": "line",
            "xref": "x",
            "yref": "paper",
            "x0": _iso(as_of),
            "x1": _iso(as_of),
            "y0": 0,
            "y1": 1,
            "line": {"color": "#444444", "width": 1, "dash": "dashdot"},
        }
    )
    return fig


def figure_json(fig: Figure) -> str:
    """`fig` as JSON (dates as ISO strings), safe to place inside an HTML ``<script>`` element.

    ``<``, ``>`` and ``&`` are written as JSON escapes so no string can close the script element.
    """
    text = orjson.dumps(fig).decode("utf-8")
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def plotly_js_path() -> Path:
    """The ``plotly.min.js`` shipped by the installed ``plotly`` package, to serve as a static file.

    Raises FileNotFoundError naming what to install when the package or the file is absent.
    """
    spec = importlib.util.find_spec("plotly")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        path = Path(location) / "package_data" / "plotly.min.js"
        if path.is_file():
            return path
    raise FileNotFoundError(
        "plotly.min.js not found: install the 'plotly' Python package "
        "(pip install 'plotly==7.1.0'), which ships plotly/package_data/plotly.min.js"
    )


def plotly_js_version() -> str:
    """The plotly.js version in the header of ``plotly_js_path()``, e.g. "4.1.1" (cache keys)."""
    with plotly_js_path().open("rb") as handle:
        head = handle.read(512).decode("utf-8", "replace")
    marker = "plotly.js v"
    start = head.find(marker)
    if start < 0:
        raise ValueError("plotly.min.js has no version header")
    rest = head[start + len(marker) :]
    return rest.split()[0]
