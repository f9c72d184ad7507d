"""Fracture and instability scores for skeletal metastases: Mirels (long bones) and SINS (spine).

Each score reads its points table, bands and caveats from a knowledge file
(``knowledge/mirels.toml``, ``knowledge/sins.toml``) and returns a frozen result carrying the total,
its components, the band, the sources and the evidence tag.
"""

from __future__ import annotations

from bonemets.core.scores.mirels import MirelsResult, mirels
from bonemets.core.scores.sins import LEVELS, SinsResult, sins, sins_location_category

__all__ = ["LEVELS", "MirelsResult", "SinsResult", "mirels", "sins", "sins_location_category"]
