"""Profile checks generated from StructureDefinition snapshots (data/profiles/README.md says where
they come from): for each resource that claims a profile, the rules of that profile's snapshot.

- Cardinality of every element whose parent is present (min, and max "0" / "1"), choice types
  included, a primitive that carries only extensions (`_effectiveDateTime`) counting as present.
- Sliced elements with a pattern (e.g. `Observation.category:us-core`), or with a required
  binding to a ValueSet shipped here (`Condition.category:us-core`): at least `min` items that
  match.
- The profiles' own invariants (US Core, mCODE), errors and warnings alike (mCODE's
  `mcode-reason-required` is a warning that says SHALL), evaluated with fhirpathpy in the context
  of each instance of their element; an invariant on a choice element whose expression starts
  from the element's own name (US Core's us-core-3 and us-core-4 on `Observation.value[x]`:
  `value.ofType(...)`) is evaluated on the parent, as written, since on the element itself it
  could never fail.
- Required bindings whose ValueSet is shipped here and lists its codes.

FHIR.js and the R4 JSON schema (test_validation.py) check the base resource rules; these are the
rules the profiles add.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import fhirpathpy
from fhirpathpy.models import models

PROFILES = Path(__file__).parent / "data" / "profiles"
R4 = models["r4"]
Json = dict[str, Any]


@dataclass(frozen=True)
class Violation:
    profile: str
    where: str  # Type/id and element
    rule: str

    def __str__(self) -> str:
        return f"{self.where}: {self.rule} ({self.profile.rsplit('/', 1)[-1]})"


@cache
def structure_definitions() -> dict[str, Json]:
    out = {}
    for path in PROFILES.glob("StructureDefinition-*.json"):
        sd = json.loads(path.read_text())
        out[sd["url"]] = sd
    return out


@cache
def value_sets() -> dict[str, set[tuple[str, str]]]:
    """Enumerated ValueSets shipped here: url -> {(system, code)}."""
    out: dict[str, set[tuple[str, str]]] = {}
    for path in PROFILES.glob("ValueSet-*.json"):
        vs = json.loads(path.read_text())
        codes = {
            (inc["system"], c["code"])
            for inc in vs.get("compose", {}).get("include", [])
            for c in inc.get("concept", [])
        }
        if codes:
            out[vs["url"]] = codes
    return out


# --- Walking instances by element path ------------------------------------------------------------


def _children(node: Any, name: str) -> list[Any]:
    """The values of child `name` of a JSON node (choice types: any `nameType`; a primitive with
    only its `_name` extension part counts)."""
    if not isinstance(node, dict):
        return []
    keys: list[str] = []
    if name.endswith("[x]"):
        stem = name[:-3]
        for k in node:
            bare = k.lstrip("_")
            if bare.startswith(stem) and len(bare) > len(stem) and bare[len(stem)].isupper():
                keys.append(k)
    else:
        keys = [k for k in (name, f"_{name}") if k in node]
    found: list[Any] = []
    seen_primitive = set()
    for k in keys:
        bare = k.lstrip("_")
        value = node[k]
        items = value if isinstance(value, list) else [value]
        if bare in seen_primitive:  # `x` and `_x`: one value, two halves
            continue
        seen_primitive.add(bare)
        found.extend(items)
    return found


def _instances(resource: Json, path: list[str]) -> Iterator[Any]:
    """Every node at `path` (element names after the resource type)."""
    nodes: list[Any] = [resource]
    for name in path:
        nodes = [child for n in nodes for child in _children(n, name)]
    yield from nodes


def _pattern_matches(value: Any, pattern: Any) -> bool:
    if isinstance(pattern, dict):
        if not isinstance(value, dict):
            return False
        return all(_pattern_matches(value.get(k), v) for k, v in pattern.items())
    if isinstance(pattern, list):
        if not isinstance(value, list):
            return False
        return all(any(_pattern_matches(v, p) for v in value) for p in pattern)
    return bool(value == pattern)


def _codes(value: Any) -> list[tuple[str | None, str]]:
    if isinstance(value, str):
        return [(None, value)]
    if isinstance(value, dict):
        if "coding" in value:
            return [(c.get("system"), c.get("code")) for c in value["coding"] if c.get("code")]
        if "code" in value:
            return [(value.get("system"), value["code"])]
    return []


# --- The checks -------------------------------------------------------------------------------


def check(resource: Json, profile_url: str) -> list[Violation]:
    sd = structure_definitions().get(profile_url)
    if sd is None:
        raise KeyError(f"no StructureDefinition shipped for {profile_url}")
    assert sd["type"] == resource["resourceType"], (profile_url, resource["resourceType"])
    out: list[Violation] = []
    rid = f"{resource['resourceType']}/{resource.get('id')}"

    def fail(element: str, rule: str) -> None:
        out.append(Violation(profile_url, f"{rid} {element}", rule))

    elements = sd["snapshot"]["element"]
    for e in elements:
        eid: str = e["id"]
        parts = eid.split(".")[1:]
        if not parts:
            _invariants(resource, e, [resource], fail)
            continue
        if any(":" in p for p in parts[:-1]):
            continue  # inside a slice: the slice's own rules are not walked here
        last = parts[-1]
        parents = list(_instances(resource, [p.split(":")[0] for p in parts[:-1]]))
        if ":" in last:
            _slice(e, parents, last, fail)
            continue
        for parent in parents:
            found = _children(parent, last)
            if len(found) < e.get("min", 0):
                fail(eid, f"min {e['min']}, found {len(found)}")
            if e.get("max") == "0" and found:
                fail(eid, "not allowed (max 0)")
            if e.get("max") == "1" and len(found) > 1:
                fail(eid, f"max 1, found {len(found)}")
            _binding(e, found, fail)
            _invariants(resource, e, found, fail)
    return out


def _slice(e: Json, parents: list[Any], last: str, fail: Any) -> None:
    name, _, _slice_name = last.partition(":")
    if e.get("min", 0) == 0:
        return
    pattern = next((v for k, v in e.items() if k.startswith("pattern")), None)
    binding = e.get("binding") or {}
    codes = value_sets().get(str(binding.get("valueSet", "")).split("|")[0])
    if pattern is not None:
        what = json.dumps(pattern)[:120]

        def matches(v: Any) -> bool:
            return _pattern_matches(v, pattern)
    elif binding.get("strength") == "required" and codes is not None:
        what = f"a code from {binding['valueSet']}"

        def matches(v: Any) -> bool:
            return any((s, c) in codes for s, c in _codes(v))
    else:
        return
    for parent in parents:
        matching = [v for v in _children(parent, name) if matches(v)]
        if len(matching) < e["min"]:
            fail(e["id"], f"min {e['min']} matching {what}")


def _binding(e: Json, found: list[Any], fail: Any) -> None:
    binding = e.get("binding") or {}
    if binding.get("strength") != "required":
        return
    codes = value_sets().get(str(binding.get("valueSet", "")).split("|")[0])
    if codes is None:
        return  # a ValueSet not shipped here (FHIR.js checks the base specification's)
    for value in found:
        if not any((s, c) in codes for s, c in _codes(value)):
            fail(e["id"], f"no code from the required ValueSet {binding['valueSet']}")


def _invariants(resource: Json, e: Json, found: list[Any], fail: Any) -> None:
    """(The parent of a choice element is taken to be the resource: true of every element these
    profiles constrain so.)"""
    for c in e.get("constraint", []):
        source = c.get("source", "")
        ours = source.startswith(("http://hl7.org/fhir/us/core", "http://hl7.org/fhir/us/mcode"))
        if not ours or not c.get("expression"):
            continue
        nodes = found
        stem = e["path"].rsplit(".", 1)[-1].removesuffix("[x]")
        if e["path"].endswith("[x]") and c["expression"].startswith(f"{stem}."):
            nodes = [resource]  # written from the parent (see the module docstring)
        for node in nodes:
            try:
                result = fhirpathpy.evaluate(node, c["expression"], {}, R4)
            except Exception as exc:  # an expression this engine cannot run is a test failure
                fail(e["id"], f"{c['key']} could not be evaluated: {exc}")
                continue
            if result == [False]:
                fail(e["id"], f"{c['key']}: {c.get('human', '')}")
