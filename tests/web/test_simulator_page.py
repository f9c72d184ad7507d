"""The simulator page runs the same simulation as the CLI and embeds its curves."""

from __future__ import annotations

import orjson
from fastapi.testclient import TestClient

from bonemets.adapters.storage.repository import Database
from bonemets.config import Settings
from bonemets.faces.web.app import create_app
from bonemets.sim import simulate


def test_simulator_page_shows_each_arm(db: Database, settings: Settings) -> None:
    client = TestClient(create_app(settings, db))
    page = client.get("/simulate?model=vicious-cycle&treatment=none&treatment=denosumab&days=730")
    assert page.status_code == 200
    raw = page.text.split('data-chart="sim-chart">')[1].split("</script>")[0]
    figure = orjson.loads(raw)
    bone = [t for t in figure["data"] if t["yaxis"] == "y3"]
    assert [t["name"] for t in bone] == ["none", "denosumab"]
    expected = simulate("vicious-cycle", "denosumab", days=730)["bone_mass"]
    assert abs(bone[1]["y"][-1] - float(expected[-1])) < 1e-3
    assert "not a prediction" in page.text
    assert client.get("/simulate?model=nonsense").status_code == 422
    assert client.get("/simulate?days=99999").status_code == 422
    komarova = client.get("/simulate?model=komarova2003&days=365")
    assert komarova.status_code == 200 and "tumour" not in komarova.text.split('sim-chart">')[1]
