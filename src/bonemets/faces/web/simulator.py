"""The simulator page: pick a model and treatments, see the curves (illustrative, not a
prediction for any patient). Runs the same `bonemets.sim.simulate` as the CLI."""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from bonemets.core.errors import InputError
from bonemets.faces.web.charts import figure_json
from bonemets.faces.web.deps import SignedIn, optional_user
from bonemets.faces.web.i18n import gettext
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


DEFAULT = ("vicious-cycle", ("none", "denosumab", "zoledronic-acid"), 1825)


def _panels(model: str) -> list[tuple[str, str]]:
    states = MODELS[model].states
    return [(state, title) for state, title in PANELS if state in states]


def _layout(model: str) -> dict[str, Any]:
    panels = _panels(model)
    layout: dict[str, Any] = {
        "height": 230 * len(panels),
        "margin": {"l": 70, "r": 20, "t": 20, "b": 50},
        "hovermode": "x unified",
        "legend": {"orientation": "h", "y": 1.02, "yanchor": "bottom"},
        "grid": {"rows": len(panels), "columns": 1, "pattern": "independent"},
    }
    for i, (_state, title) in enumerate(panels, start=1):
        axis = "" if i == 1 else str(i)
        layout[f"yaxis{axis}"] = {"title": {"text": title}}
        layout[f"xaxis{axis}"] = {"title": {"text": "Day"} if i == len(panels) else None,
                                  "matches": "x" if i > 1 else None}  # fmt: skip
    return layout


@lru_cache(maxsize=64)
def _arm_traces(model: str, arm: str, days: int, index: int) -> tuple[dict[str, Any], ...]:
    """One arm's curves, one trace per panel (cached: the same run is the same curves; the
    default run is computed when the app starts, so the page answers at once)."""
    run = simulate(model, arm, days=float(days))
    out = []
    for i, (state, title) in enumerate(_panels(model), start=1):
        axis = "" if i == 1 else str(i)
        out.append(
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
                "line": {"color": COLOURS[index % len(COLOURS)]},
                "meta": index,  # the arm's place, to keep the chosen order as arms arrive
                "hovertemplate": f"{title}: %{{y:.3g}}<extra>{run.treatment}</extra>",
            }
        )
    return tuple(out)


# The runs in `_arm_traces`'s cache (lru_cache cannot be asked without calling it). A key may
# stay here after the cache dropped it: the page then waits for that run, which is only slower.
_done: set[tuple[str, str, int, int]] = set()


def _cached(model: str, arm: str, days: int, index: int) -> bool:
    return (model, arm, days, index) in _done


def arm_traces(model: str, arm: str, days: int, index: int) -> tuple[dict[str, Any], ...]:
    traces = _arm_traces(model, arm, days, index)
    if len(_done) > 4 * 64:  # bounded like the cache it mirrors
        _done.clear()
    _done.add((model, arm, days, index))
    return traces


def warm() -> threading.Thread:
    """Run the default page's arms in a background thread (so its first view draws at once)."""
    model, arms, days = DEFAULT

    def run() -> None:
        for i, arm in enumerate(arms):
            arm_traces(model, arm, days, i)

    thread = threading.Thread(target=run, name="simulator-warm", daemon=True)
    thread.start()
    return thread


def _check(model: str, arms: list[str], days: int) -> str | None:
    """What is wrong with the parameters, before anything runs (None when all is well)."""
    if model not in MODELS:
        return gettext("Unknown model %(model)r.") % {"model": model}
    if not 30 <= days <= MAX_WEB_DAYS:
        return gettext("Choose between 30 and %(max)d days.") % {"max": MAX_WEB_DAYS}
    choices = ("none", *REGIMENS)
    for i, arm in enumerate(arms):
        if arm not in choices:
            return gettext("Arm %(n)d: unknown treatment %(arm)r (choose one of %(choices)s).") % {
                "n": i + 1,
                "arm": arm,
                "choices": ", ".join(choices),
            }
    return None


def _arms(model: str, treatment: list[str] | None) -> list[str]:
    arms = [t for t in (treatment or list(DEFAULT[1])) if t][:MAX_ARMS] or ["none"]
    if model in MODELS and not MODELS[model].treatments:
        return ["none"]
    return list(dict.fromkeys(arms))


@router.get("/simulate", response_class=HTMLResponse)
def simulator_page(
    request: Request,
    model: str = "vicious-cycle",
    treatment: Annotated[list[str] | None, Query()] = None,
    days: int = DEFAULT[2],
    who: SignedIn | None = Depends(optional_user),
) -> HTMLResponse:
    """Answers at once: the arms already run are drawn from the cache, and the page's script
    asks for the others one by one (`/simulate/arm`), showing its progress."""
    from bonemets.faces.web.pages import render

    arms = _arms(model, treatment)
    error = _check(model, arms, days)
    figure: dict[str, Any] = {"data": [], "layout": {}}
    pending: list[dict[str, Any]] = []
    if error is None:
        figure["layout"] = _layout(model)
        for i, arm in enumerate(arms):
            if _cached(model, arm, days, i):
                figure["data"].extend(arm_traces(model, arm, days, i))
            else:
                pending.append({"arm": arm, "index": i})
    return render(
        request, "simulate.html", 422 if error else 200, who=who, models=list(MODELS),
        regimens=list(REGIMENS), model=model, arms=arms, days=days, error=error,
        figure=figure_json(figure), disclaimer=DISCLAIMER, pending=figure_json({"arms": pending}),
        pending_count=len(pending),
        takes_treatments=model in MODELS and MODELS[model].treatments,
    )  # fmt: skip


@router.get("/simulate/arm")
def simulator_arm(
    model: str, treatment: str, days: int, index: Annotated[int, Query(ge=0, lt=MAX_ARMS)]
) -> Response:
    """One arm's curves as JSON traces, for the simulator page to add to its chart."""
    error = _check(model, [treatment], days)
    if error is not None:
        return JSONResponse({"detail": {"field": "request", "message": error}}, status_code=422)
    try:
        traces = arm_traces(model, treatment, days, index)
    except InputError as exc:
        return JSONResponse({"detail": exc.as_dict()}, status_code=422)
    return Response(figure_json({"data": list(traces)}), media_type="application/json")
