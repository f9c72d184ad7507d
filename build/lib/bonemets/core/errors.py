"""Input errors that name the offending field, so a person or a tool can fix the input."""

from __future__ import annotations


class InputError(ValueError):
    """Bad clinical input. `field` is a dotted/indexed path such as ``labs[0].unit``."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}
