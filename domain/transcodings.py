"""How the domain's own value types are written into stored events."""

from __future__ import annotations

from datetime import date
from enum import Enum
from functools import lru_cache
from typing import Any
from uuid import UUID

from eventsourcing.persistence import JSONTranscoder, Transcoding, UUIDAsHex

from domain.values import CareerStage, Channel, InterviewFormat, NoteKind, Outcome, Role


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    # The C function itself: decoding runs for every date of every event read.
    decode = staticmethod(date.fromisoformat)  # type: ignore[assignment]


@lru_cache(maxsize=65_536)
def _uuid_from_hex(data: str) -> UUID:
    return UUID(data)


class RepeatedUUIDAsHex(UUIDAsHex):
    """The library's UUID transcoding (same name, same stored form), remembering recent values: an
    event names the same few actors, owners and contacts as the events around it, and building a
    UUID from its hex is a good part of reading an event back."""

    decode = staticmethod(_uuid_from_hex)  # type: ignore[assignment]


class EnumAsValue(Transcoding):
    """One transcoding per enum class, named after it, so each stored value says what it is."""

    def __init__(self, enum_class: type[Enum]) -> None:
        self.type = enum_class
        self.name = enum_class.__name__

    def encode(self, obj: Enum) -> Any:
        return obj.value

    def decode(self, data: Any) -> Enum:
        member = self.type._value2member_map_.get(data)  # the enum's own lookup, without its call overhead
        return member if member is not None else self.type(data)


STORED_ENUMS: tuple[type[Enum], ...] = (Role, CareerStage, InterviewFormat, NoteKind, Channel, Outcome)


def register_domain_transcodings(transcoder: JSONTranscoder) -> None:
    transcoder.register(RepeatedUUIDAsHex())  # in place of the library's, under the same name
    transcoder.register(DateAsISO())
    for enum_class in STORED_ENUMS:
        transcoder.register(EnumAsValue(enum_class))
