"""Candidacy facts as JSON, so the follow-up queue can keep them beside its items."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from functools import lru_cache
from typing import Any, TypeVar
from uuid import UUID

import orjson

from domain.values import (
    CandidacyFacts,
    Channel,
    InterviewFormat,
    InterviewRound,
    NoteKind,
    Outcome,
    RecordedOutcome,
    SentCheckIn,
    SentNote,
    StatedDeadline,
)


def facts_to_json_text(facts: CandidacyFacts) -> str:
    """The facts as JSON text, ready to be cast to jsonb: orjson writes the dataclasses field by
    field (the fields' names are the JSON's names), ids as strings, dates and times in ISO 8601,
    enums as their values. tests/unit/test_facts_codec.py spells the document out."""
    return orjson.dumps(facts).decode()


# Reading facts back is much of what a catch-up does with them: the contacts they name recur across
# candidacies, so their parsed ids are kept; an enum member is looked up in the enum's own table
# without the call around it.
@lru_cache(maxsize=65_536)
def _uuid(text: str) -> UUID:
    return UUID(text)


E = TypeVar("E", bound=Enum)


def _member(enum_class: type[E], value: str) -> E:
    member = enum_class._value2member_map_.get(value)
    return member if member is not None else enum_class(value)  # type: ignore[return-value]


def outcome_from_json(data: dict[str, Any] | None) -> RecordedOutcome | None:
    """The "outcome" member of the facts' JSON read back."""
    if not data:
        return None
    return RecordedOutcome(_member(Outcome, data["outcome"]), datetime.fromisoformat(data["occurred_at"]))


def facts_from_json(data: dict[str, Any]) -> CandidacyFacts:
    return CandidacyFacts(
        candidacy_id=UUID(data["candidacy_id"]),
        candidate_id=UUID(data["candidate_id"]),
        timezone=data["timezone"],
        country=data["country"],
        subdivision=data["subdivision"],
        interviews=tuple(
            InterviewRound(datetime.fromisoformat(r["held_at"]), tuple(map(_uuid, r["interviewer_ids"])),
                           _member(InterviewFormat, r["format"]))
            for r in data["interviews"]
        ),
        deadlines=tuple(
            StatedDeadline(date.fromisoformat(d["decide_by"]), datetime.fromisoformat(d["stated_at"]))
            for d in data["deadlines"]
        ),
        notes=tuple(
            SentNote(_uuid(n["contact_id"]), _member(NoteKind, n["kind"]), _member(Channel, n["channel"]),
                     datetime.fromisoformat(n["sent_at"]))
            for n in data["notes"]
        ),
        check_ins=tuple(
            SentCheckIn(_member(Channel, c["channel"]), datetime.fromisoformat(c["sent_at"]),
                        _uuid(c["contact_id"]) if c["contact_id"] else None)
            for c in data["check_ins"]
        ),
        outcome=outcome_from_json(data["outcome"]),
    )
