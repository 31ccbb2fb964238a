"""How the domain's own value types are written into stored events."""

from __future__ import annotations

from datetime import date
from enum import Enum
from typing import Any

from eventsourcing.persistence import JSONTranscoder, Transcoding

from domain.values import CareerStage, Channel, InterviewFormat, NoteKind, Outcome, Role


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class EnumAsValue(Transcoding):
    """One transcoding per enum class, named after it, so each stored value says what it is."""

    def __init__(self, enum_class: type[Enum]) -> None:
        self.type = enum_class
        self.name = enum_class.__name__

    def encode(self, obj: Enum) -> Any:
        return obj.value

    def decode(self, data: Any) -> Enum:
        return self.type(data)


STORED_ENUMS: tuple[type[Enum], ...] = (Role, CareerStage, InterviewFormat, NoteKind, Channel, Outcome)


def register_domain_transcodings(transcoder: JSONTranscoder) -> None:
    transcoder.register(DateAsISO())
    for enum_class in STORED_ENUMS:
        transcoder.register(EnumAsValue(enum_class))
