"""CDS Hooks 2.0 messages as pydantic models: discovery, the service request, the service response,
and the hook contexts of `patient-view` and `order-sign`.

Written from the CDS Hooks specification (2.0, "current" text of cds-hooks/docs
`docs/specification/current.md`) and the hook pages `docs/hooks/patient-view.md` and
`docs/hooks/order-sign.md`. The specification's JSON rules are kept: an OPTIONAL attribute
without a value is omitted (never null, never an empty string, array or object), so every response
is dumped with `exclude_none=True` and every optional list is `None` rather than empty.

Requests ignore attributes the specification does not define (clients add their own; `extension`
is reserved for that). Responses forbid them: we send only what the specification defines.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

SUMMARY_MAX = 139  # "One-sentence, <140-character summary"

Indicator = Literal["info", "warning", "critical"]


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


# --- Shared data types ----------------------------------------------------------------------------


class Coding(_Out):
    """A trimmed FHIR Coding (spec: Data Types / Coding)."""

    code: str = Field(min_length=1)
    system: str = Field(min_length=1)
    display: str | None = Field(None, min_length=1)


# --- Discovery ------------------------------------------------------------------------------------


class Service(_Out):
    hook: str = Field(min_length=1)
    title: str | None = Field(None, min_length=1)
    description: str = Field(min_length=1)
    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9._-]+$")
    prefetch: dict[str, str] | None = Field(
        None, description="Prefetch key -> FHIR query template with {{context.*}} tokens."
    )
    usageRequirements: str | None = Field(
        None, min_length=1, description="Human-readable conditions a client must meet (2.0)."
    )


class Discovery(_Out):
    services: list[Service]


# --- Request --------------------------------------------------------------------------------------


class FhirAuthorization(_In):
    """The OAuth 2.0 bearer token the client grants for its FHIR server. Every field is REQUIRED."""

    access_token: str = Field(min_length=1)
    token_type: Literal["Bearer"]
    expires_in: int = Field(ge=0)
    scope: str = Field(min_length=1)
    subject: str = Field(min_length=1)

    def __repr__(self) -> str:  # the token never reaches a log line through repr()
        return f"FhirAuthorization(token_type={self.token_type!r}, subject={self.subject!r})"

    __str__ = __repr__


class CdsRequest(_In):
    """The body a CDS Client POSTs to `{baseUrl}/cds-services/{id}`."""

    hook: str = Field(min_length=1)
    hookInstance: str = Field(
        min_length=1, max_length=200, description="A UUID per hook call (not otherwise used)."
    )
    fhirServer: AnyHttpUrl | None = None
    fhirAuthorization: FhirAuthorization | None = None
    context: dict[str, Any]
    prefetch: dict[str, Any] | None = Field(
        None,
        description="Prefetch key -> FHIR resource (a searchset Bundle for searches), or null when "
        "the client has no data for it. A key the client did not satisfy is absent.",
    )

    _blank = field_validator("hook", "hookInstance")(_not_blank)

    @model_validator(mode="after")
    def _server_with_token(self) -> CdsRequest:
        if self.fhirAuthorization is not None and self.fhirServer is None:
            raise ValueError("fhirServer is REQUIRED when fhirAuthorization is given")
        return self

    @property
    def fhir_server(self) -> str | None:
        return str(self.fhirServer).rstrip("/") if self.fhirServer is not None else None


# --- Hook contexts --------------------------------------------------------------------------------

_FHIR_ID = r"^[A-Za-z0-9\-.]{1,64}$"  # FHIR id datatype


class PatientViewContext(_In):
    """`patient-view` 1.0: the user has just opened a patient's record."""

    userId: str = Field(
        pattern=r"^(Practitioner|PractitionerRole|Patient|RelatedPerson)/[A-Za-z0-9\-.]{1,64}$",
        description="The current user, `[ResourceType]/[id]`.",
    )
    patientId: str = Field(pattern=_FHIR_ID, description="The FHIR Patient.id in context.")
    encounterId: str | None = Field(None, pattern=_FHIR_ID)


class DraftOrders(_In):
    """A FHIR Bundle of request resources (R4: DeviceRequest, MedicationRequest, NutritionOrder,
    ServiceRequest, VisionPrescription), typically with draft status."""

    model_config = ConfigDict(extra="allow", frozen=True)

    resourceType: Literal["Bundle"]
    entry: list[dict[str, Any]] = Field(default_factory=list)

    @field_validator("entry")
    @classmethod
    def _resources(cls, entry: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for i, item in enumerate(entry):
            resource = item.get("resource")
            if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
                raise ValueError(f"entry[{i}].resource must be a FHIR resource with resourceType")
        return entry

    def resources(self) -> list[dict[str, Any]]:
        return [item["resource"] for item in self.entry]


class OrderSignContext(_In):
    """`order-sign` 1.x: the clinician is ready to sign one or more orders."""

    userId: str = Field(
        pattern=r"^(Practitioner|PractitionerRole)/[A-Za-z0-9\-.]{1,64}$",
        description="The current user, a Practitioner or PractitionerRole.",
    )
    patientId: str = Field(pattern=_FHIR_ID)
    encounterId: str | None = Field(None, pattern=_FHIR_ID)
    draftOrders: DraftOrders


# --- Response -------------------------------------------------------------------------------------


class Source(_Out):
    label: str = Field(min_length=1)
    url: AnyHttpUrl | None = None
    icon: AnyHttpUrl | None = None
    topic: Coding | None = None


class Action(_Out):
    type: Literal["create", "update", "delete"]
    description: str = Field(min_length=1)
    resource: dict[str, Any] | None = None
    resourceId: str | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _payload(self) -> Action:
        if self.type in ("create", "update"):
            if not self.resource or not isinstance(self.resource.get("resourceType"), str):
                raise ValueError(f"a {self.type} action carries the whole FHIR resource")
        elif self.resourceId is None:
            raise ValueError("a delete action names resourceId")
        return self


class Suggestion(_Out):
    label: str = Field(min_length=1)
    uuid: str | None = None
    isRecommended: bool | None = None
    actions: list[Action] | None = Field(None, min_length=1)


class Link(_Out):
    label: str = Field(min_length=1)
    url: AnyHttpUrl
    type: Literal["absolute", "smart"]
    appContext: str | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _app_context(self) -> Link:
        if self.appContext is not None and self.type != "smart":
            raise ValueError("appContext is only valid on smart links")
        return self


class Card(_Out):
    uuid: str | None = None
    summary: str = Field(min_length=1, max_length=SUMMARY_MAX)
    detail: str | None = Field(None, min_length=1, description="GitHub Flavored Markdown.")
    indicator: Indicator
    source: Source
    suggestions: list[Suggestion] | None = Field(None, min_length=1)
    selectionBehavior: Literal["at-most-one", "any"] | None = None
    overrideReasons: list[Coding] | None = Field(None, min_length=1)
    links: list[Link] | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _rules(self) -> Card:
        if self.suggestions is not None and self.selectionBehavior is None:
            raise ValueError("selectionBehavior is REQUIRED when suggestions are present")
        for reason in self.overrideReasons or []:
            if reason.display is None:
                raise ValueError("each override reason has a display")
        return self


class CdsResponse(_Out):
    cards: list[Card]
    systemActions: list[Action] | None = Field(None, min_length=1)

    def to_json(self) -> dict[str, Any]:
        """The response as the specification wants it: no nulls."""
        out: dict[str, Any] = self.model_dump(mode="json", exclude_none=True)
        return out

    def to_bytes(self) -> bytes:
        """`to_json` serialised (UTF-8 JSON), straight from the models."""
        return self.__pydantic_serializer__.to_json(self, exclude_none=True)
