"""Turning submitted forms into the core's input shapes. Validation itself stays in the core's
models; this only reshapes flat form fields."""

from __future__ import annotations

import datetime as dt
from typing import Any

from starlette.datastructures import FormData

from bonemets.core.durations import parse_duration
from bonemets.core.triage.models import symptom_catalogue
from bonemets.education.patient_words import areas
from bonemets.faces.web.i18n import N_

# The words are msgids (N_), translated where the templates show them (`| tr`).
SEVERITY = [(1, N_("Mild")), (2, N_("Moderate")), (3, N_("Severe")), (4, N_("Very severe"))]
TRENDS = [
    ("new", N_("New")),
    ("worse", N_("Getting worse")),
    ("same", N_("About the same")),
    ("better", N_("Getting better")),
]
LAB_CHOICES = [
    ("calcium_total", N_("Calcium"), ["mmol/L", "mg/dL"]),
    ("albumin", N_("Albumin"), ["g/L", "g/dL"]),
    ("calcium_corrected", N_("Corrected (adjusted) calcium"), ["mmol/L", "mg/dL"]),
    ("platelets", N_("Platelets"), ["10*9/L"]),
    ("haemoglobin", N_("Haemoglobin"), ["g/L", "g/dL"]),
]


def catalogue_by_group() -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """The symptoms by body area, in the order of the areas (patient_words.toml)."""
    out: dict[str, list[tuple[str, dict[str, Any]]]] = {g: [] for g in areas()}
    for code, entry in symptom_catalogue().items():
        out.setdefault(entry["group"], []).append((code, entry))
    return out


def area_words() -> dict[str, dict[str, str]]:
    """Each body area's label and hint, in order; a symptom group with no words yet (a new one
    in symptoms.toml) still gets an area, named after its code, so no symptom is ever hidden."""
    words = dict(areas())
    for entry in symptom_catalogue().values():
        group = entry["group"]
        if group not in words:
            words[group] = {"label": group.replace("_", " ").capitalize(), "hint": ""}
    return words


def chosen_symptoms(form: FormData) -> list[str]:
    catalogue = symptom_catalogue()
    return [c for c in form.getlist("symptom") if isinstance(c, str) and c in catalogue]


def _text(form: FormData, key: str) -> str | None:
    value = form.get(key)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _whole(form: FormData, key: str) -> int | str | None:
    """A whole number answer (a radio button's value); anything else is passed on as text for
    the model to refuse, naming the field (nothing is guessed)."""
    value = _text(form, key)
    if value is None:
        return None
    return int(value) if value.isdigit() else value


def report_from_form(form: FormData, today: dt.date) -> dict[str, Any]:
    """The symptom report (and any lab values) from the details step of the check-in. A
    duration typed in words ("2 weeks", "since Monday") is read here; words that cannot be read
    are refused (InputError naming `<code>.duration`), never guessed."""
    symptoms: list[dict[str, Any]] = []
    for code in chosen_symptoms(form):
        item: dict[str, Any] = {"code": code}
        for name in ("severity", "frequency", "interference", "pain_score"):
            value = _whole(form, f"{code}.{name}")
            if value is not None:
                item[name] = value
        days = _duration(form, code, today)
        if days is not None:
            item["duration_days"] = days
        trend = _text(form, f"{code}.trend")
        if trend is not None:
            item["trend"] = trend
        site = _text(form, f"{code}.site")
        if site is not None:
            item["site"] = site
        features = [f for f in form.getlist(f"{code}.features") if isinstance(f, str)]
        if features:
            item["features"] = features
        symptoms.append(item)
    labs = []
    for code, _label, _units in LAB_CHOICES:
        value = _text(form, f"lab.{code}.value")
        if value is None:
            continue
        try:
            number: Any = float(value)
        except ValueError:
            number = value
        labs.append({"code": code, "value": number, "unit": _text(form, f"lab.{code}.unit") or ""})
    return {"symptoms": symptoms, "labs": labs, "free_text": _text(form, "free_text")}


def _duration(form: FormData, code: str, today: dt.date) -> float | str | None:
    """The words typed in win over a choice ticked (they are the more specific answer); the
    older numeric field (`<code>.duration_days`) is still read."""
    words = _text(form, f"{code}.duration_text")
    if words is not None:
        return parse_duration(words, today, field=f"{code}.duration")
    for key in (f"{code}.duration", f"{code}.duration_days"):
        value = _text(form, key)
        if value is not None:
            return float(value) if value.replace(".", "", 1).isdigit() else value
    return None


def number_or_text(value: str | None) -> Any:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return value


def entry_from_form(kind: str, form: FormData) -> dict[str, Any]:
    """A record entry from the clinician's forms: empty fields are left out (unknown)."""
    data: dict[str, Any] = {}
    numeric = {"value", "dose", "size_fraction", "kg", "cm", "interval_weeks", "daily_amount",
               "lower_limit", "upper_limit"}  # fmt: skip
    sins_keys = {"sins.pain", "sins.alignment", "sins.collapse", "sins.posterolateral"}
    sins: dict[str, Any] = {}
    for key, raw in form.multi_items():
        # The form's own controls are not part of the entry.
        if key in ("csrf_token", "action", "override_reason") or not isinstance(raw, str):
            continue
        if not raw.strip():
            continue
        value = raw.strip()
        if key in sins_keys:
            sins[key.split(".", 1)[1]] = value
        elif key in numeric:
            data[key] = number_or_text(value)
        elif key in ("invasive", "active", "stop"):
            data[key] = value in ("on", "true", "yes", "1")
        else:
            data[key] = value
    if sins:
        data["sins"] = sins
    return data


def input_name(field: str) -> str:
    """The form input an error's field names: `labs[0].unit` -> `unit`, `sins.pain` stays (the
    lesion form's inputs carry the dotted name)."""
    name = field.rsplit("].", 1)[-1]
    if name.startswith("sins.") or ".sins." in name:
        return "sins." + name.rsplit("sins.", 1)[-1]
    return name.rsplit(".", 1)[-1]
