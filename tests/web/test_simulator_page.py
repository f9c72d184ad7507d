"""The simulator page runs the same simulation as the CLI: it answers at once, drawing the arms
already run, and its script fetches the others one by one from /simulate/arm."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest
from fastapi.testclient import TestClient

from bonemets.adapters.storage.repository import Database
from bonemets.config import Settings
from bonemets.faces.web import simulator
from bonemets.faces.web.app import create_app
from bonemets.sim import simulate


@pytest.fixture(autouse=True)
def no_runs_yet() -> Iterator[None]:
    """Each test starts with no arm run: the cache is per process, and the same test runs once
    per database in one xdist worker."""
    simulator._arm_traces.cache_clear()
    simulator._done.clear()
    yield


def _embedded(text: str, marker: str) -> dict[str, object]:
    raw = text.split(marker)[1].split(">", 1)[1].split("</script>")[0]
    out: dict[str, object] = orjson.loads(raw)
    return out


def test_simulator_page_answers_then_fills_its_arms(db: Database, settings: Settings) -> None:
    client = TestClient(create_app(settings, db))
    query = "model=vicious-cycle&treatment=none&treatment=denosumab&days=731"
    page = client.get(f"/simulate?{query}")
    assert page.status_code == 200 and "not a prediction" in page.text
    pending = _embedded(page.text, 'id="sim-pending"')["arms"]
    assert pending == [{"arm": "none", "index": 0}, {"arm": "denosumab", "index": 1}]
    assert "Running 2 of 2 arms" in page.text
    arm = client.get("/simulate/arm?model=vicious-cycle&treatment=denosumab&days=731&index=1")
    assert arm.status_code == 200
    traces = arm.json()["data"]
    bone = [t for t in traces if t["yaxis"] == "y3"]
    assert [t["name"] for t in bone] == ["denosumab"] and bone[0]["meta"] == 1
    expected = simulate("vicious-cycle", "denosumab", days=731)["bone_mass"]
    assert abs(bone[0]["y"][-1] - float(expected[-1])) < 1e-3
    # Once run, an arm is drawn in the page itself; the other is still to run.
    again = client.get(f"/simulate?{query}")
    assert _embedded(again.text, 'id="sim-pending"')["arms"] == [{"arm": "none", "index": 0}]
    figure = _embedded(again.text, 'data-chart="sim-chart"')
    assert {t["name"] for t in figure["data"]} == {"denosumab"}  # type: ignore[union-attr,index]


def test_bad_parameters_are_refused_before_anything_runs(
    db: Database, settings: Settings, monkeypatch: object
) -> None:
    client = TestClient(create_app(settings, db))
    ran: list[str] = []
    original = simulator.simulate

    def spy(model: str, arm: str, **kw: object) -> object:
        ran.append(arm)
        return original(model, arm, **kw)  # type: ignore[arg-type]

    import pytest

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    monkeypatch.setattr(simulator, "simulate", spy)
    simulator._arm_traces.cache_clear()
    bad_arm = client.get("/simulate?treatment=none&treatment=unobtainium&days=400")
    assert bad_arm.status_code == 422 and "Arm 2: unknown treatment" in bad_arm.text
    assert client.get("/simulate?model=nonsense").status_code == 422
    assert client.get("/simulate?days=99999").status_code == 422
    assert client.get("/simulate/arm?model=x&treatment=none&days=400&index=0").status_code == 422
    assert ran == []
    komarova = client.get("/simulate?model=komarova2003&days=365")
    assert komarova.status_code == 200
    arm = client.get("/simulate/arm?model=komarova2003&treatment=none&days=365&index=0")
    # Osteoclasts, osteoblasts and bone mass: Komarova's model has no tumour panel.
    assert [t["yaxis"] for t in arm.json()["data"]] == ["y", "y2", "y3"]
    assert "Tumour" not in komarova.text.split('data-chart="sim-chart"')[1]
    assert ran == ["none"]


def test_the_default_run_is_ready_when_the_app_starts(db: Database, settings: Settings) -> None:
    simulator.warm().join(timeout=300)
    with TestClient(create_app(settings, db)) as client:
        page = client.get("/simulate")
    assert page.status_code == 200
    assert _embedded(page.text, 'id="sim-pending"')["arms"] == []
    figure = _embedded(page.text, 'data-chart="sim-chart"')
    names = [t["name"] for t in figure["data"] if t["showlegend"]]  # type: ignore[union-attr,index]
    assert names == ["none", "denosumab", "zoledronic-acid"]
