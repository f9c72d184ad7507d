"""Population worklists over FHIR Bulk Data exports, on one machine or on Apache Spark.

Public API:
    run_worklist(export_dir, as_of, out, engine="local"|"spark", ...) -> WorklistResult
    assess_group(key, lines, meds, as_of) -> GroupResult   (the per-patient step of both engines)
    synth_export(out_dir, patients, seed, ...) -> SynthResult  (a realistic synthetic export)

See docs/population.md.
"""

from __future__ import annotations

from bonemets.population.patient import COLUMNS, GroupResult, Problem, Source, assess_group
from bonemets.population.synth import SynthResult, synth_export
from bonemets.population.worklist import WorklistResult, run_worklist

__all__ = [
    "COLUMNS",
    "GroupResult",
    "Problem",
    "Source",
    "SynthResult",
    "WorklistResult",
    "assess_group",
    "run_worklist",
    "synth_export",
]
