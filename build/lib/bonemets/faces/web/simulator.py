"""The simulator page: pick a model and treatments, see the curves (illustrative, not a
prediction for any patient). Runs the same `bonemets.sim.simulate` as the CLI."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from bonemets.core.errors import InputError
from bonemets.faces.web.charts import figure_json
from bonemets.faces.web.deps import SignedIn, optional_user
from bonemets.sim import DISCLAIMER, MODELS, REGIMENS, simulate

router = APIRouter(include_in_schema=False)

MAX_WEB_DAYS = 3650  # ten years keeps a page under a second
MAX_ARMS = 4
PANELS = (
    ("osteoclasts", "Osteoclasts (cells)"),
    ("osteoblasts", "Osteoblasts (cells)"),
    ("bone_mass", "Bone mass (% of start)"),
    ("tumour", "Tumour (% of maximal size)"),
)
COLOURS = ("#333333", "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00")


def _figure(model: str, arms: list[str], days: int) -> dict[str, Any]:
    runs = [simulate(model, arm, days=float(days)) for arm in arms]
    panels = [(state, title) for state, title in PANELS if state in runs[0].states]
    data: list[dict[str, Any]] = []
    layout: dict[str, Any] = {
        "height": 230 * len(panels),
        "margin": {"l": 70, "r": 20, "t": 20, "b": 50},
        "hovermode": "x unified",
        "legend": {"orientation": "h", "y": 1.02, "yanchor": "bottom"},
        "grid": {"rows": len(panels), "columns": 1, "pattern": "independent"},
    }
    for i, (state, title) in enumerate(panels, start=1):
        axis = "" if i == 1 else str(i)
        for j, run in enumerate(runs):
            data.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "name": run.treatment,
                    "legendgroup": run.treatment,
                    "showlegend": i == 1,
                    "x": [float(v) for v in run.t],
                    "y": [round(float(v), 4) for v in run[state]],
                    "xaxis": f"x{axis}",
                    "yaxis": f"y{axis}",
                    "line": {"color": COLOURS[j % len(COLOURS)]},
                    "hovertemplate": f"{title}: %{{y:.3g}}<extra>{run.treatment}</extra>",
                }
            )
        layout[f"yaxis{axis}"] = {"title": {"text": title}}
        layout[f"xaxis{axis}"] = {"title": {"text": "Day"} if i == len(panels) else None,
                                  "matches": "x" if i > 1 else None}  # fmt: skip
    return {"data": data, "layout": layout}


@router.get("/simulate", response_class=HTMLResponse)
def simulator_page(
    request: Request,
    model: str = "vicious-cycle",
    treatment: Annotated[list[str] | None, Query()] = None,
    days: int = 1825,
    who: SignedIn | None = Depends(optional_user),
) -> HTMLResponse:
    from bonemets.faces.web.pages import render

    arms = [t for t in (treatment or ["none", "denosumab", "zoledronic-acid"]) if t][:MAX_ARMS]
    error = None
    figure: dict[str, Any] = {"data": [], "layout": {}}
    if model not in MODELS:
        error = f"Unknown model {model!r}."
    elif not 30 <= days <= MAX_WEB_DAYS:
        error = f"Choose between 30 and {MAX_WEB_DAYS} days."
    else:
        if not MODELS[model].treatments:
            arms = ["none"]
        try:
            figure = _figure(model, arms or ["none"], days)
        except InputError as exc:
            error = exc.message
    return render(
        request, "simulate.html", 422 if error else 200, who=who, models=list(MODELS),
        regimens=list(REGIMENS), model=model, arms=arms, days=days, error=error,
        figure=figure_json(figure), disclaimer=DISCLAIMER,
        takes_treatments=model in MODELS and MODELS[model].treatments,
    )  # fmt: skip
