"""The simulator's models, by the names the CLI and other tools use."""

from __future__ import annotations

from bonemets.sim.models import ayati, komarova, vicious_cycle
from bonemets.sim.models.base import Model

MODELS: dict[str, Model] = {
    m.name: m for m in (komarova.MODEL, ayati.TUMOUR, ayati.TREATMENT, vicious_cycle.MODEL)
}

__all__ = ["MODELS", "Model"]
