"""The follow-up queue's candidacies and items as rows: each changed candidacy's facts moved on by what
a batch adds to them, its items computed by the domain's rules, all written in PostgreSQL's binary COPY
format, in the process that stores them or, while a long catch-up writes thousands of candidacies a
transaction, in processes of their own (projections.helper_processes).

Catching up, reading the stored facts back, moving them on and evaluating the rules was most of the
queue's CPU, in a process whose threads share one interpreter lock while the machine has a second core.
A helper process is sent what the batch adds to each candidacy (JSON, cheap to write and to send), reads
the stored facts itself and gives back the rows as COPY data; the transaction stays the storing
process's, which writes that data as it is. The rules are the same functions either way, so are the rows."""

from __future__ import annotations

import io
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple
from uuid import UUID

import orjson
import psycopg
from psycopg import Copy
from psycopg.copy import FileWriter
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier
from psycopg.types.json import Jsonb

from domain.policy import FollowUpPolicy
from domain.rules import StayInTouchSchedule, follow_up_items
from domain.values import CandidacyFacts, ContactFacts, FollowUpItem, FollowUpKind
from projections.candidacy_batches import AFTER_EVERYTHING, ChunkToEvaluate, moved_on_json, read_stored_candidacies
from projections.facts_codec import facts_from_json


@dataclass
class CandidacyRow:
    facts: CandidacyFacts
    owner_id: UUID
    team: str | None


CANDIDACY_COLUMNS = "candidacy_id, candidate_id, owner_id, team, closed, facts"
CANDIDACY_COLUMN_TYPES = ("uuid", "uuid", "uuid", "text", "bool", "jsonb")
ITEM_COLUMNS = "candidacy_id, kind, contact_id, opened_at, candidate_id, owner_id, team, due_from, due_by, done_at, flags, reason"
ITEM_COLUMN_TYPES = ("uuid", "text", "uuid", "timestamptz", "uuid", "uuid", "text", "timestamptz", "timestamptz",
                     "timestamptz", "text[]", "text")
STAY_IN_TOUCH_COLUMNS = "candidacy_id, contact_id, timezone, candidate_id, owner_id, team"
STAY_IN_TOUCH_COLUMN_TYPES = ("uuid", "uuid", "text", "uuid", "uuid", "text")


def copy_items(copy: Copy, evaluated: Iterable[tuple[CandidacyRow, list[FollowUpItem]]]) -> list[tuple[CandidacyRow, FollowUpItem]]:
    """Write the rows of each candidacy's thank_you, check_in and connect_linkedin items (binary, with the
    column types set: each value goes as it is stored, not written out as text and parsed back); returns
    the stay_in_touch items, which are stored apart (see copy_stay_in_touch)."""
    stay_in_touch: list[tuple[CandidacyRow, FollowUpItem]] = []
    for row, items in evaluated:
        for item in items:
            if item.kind is FollowUpKind.STAY_IN_TOUCH:
                stay_in_touch.append((row, item))
                continue
            copy.write_row((
                item.candidacy_id, item.kind.value, item.contact_id, item.opened_at, item.candidate_id,
                row.owner_id, row.team, item.due_from, item.due_by, item.done_at, list(item.flags), item.reason,
            ))
    return stay_in_touch


def copy_stay_in_touch(copy: Copy, items: Sequence[tuple[CandidacyRow, FollowUpItem]]) -> None:
    """Write each stay_in_touch item as its candidacy and contact (the schedule it shows is stored once a
    contact and time zone: see stay_in_touch_schedules)."""
    for row, item in items:
        copy.write_row((item.candidacy_id, item.contact_id, row.facts.timezone, item.candidate_id, row.owner_id,
                        row.team))


def stay_in_touch_schedules(
    items: Sequence[tuple[CandidacyRow, FollowUpItem]],
) -> dict[tuple[UUID, str], StayInTouchSchedule]:
    """The schedule each (contact, time zone) of the items shows: every item of one contact in candidacies
    of one time zone shows the same (see stay_in_touch_schedule)."""
    return {
        (item.contact_id, row.facts.timezone): StayInTouchSchedule(item.opened_at, item.due_from, item.due_by,
                                                                   item.reason)
        for row, item in items if item.contact_id is not None
    }


def contacts_to_send(contacts: Iterable[ContactFacts]) -> bytes:
    return orjson.dumps([
        (contact.contact_id, max(contact.touches, default=None), contact.linkedin_connected_at, contact.erased_at)
        for contact in contacts
    ])


class EvaluatedChunk(NamedTuple):
    """A chunk of candidacies evaluated, ready to store, each a whole binary COPY stream: their rows of
    follow_up_candidacies (facts moved on by the batch), of follow_up_candidacy_items and of
    follow_up_stay_in_touch; and the stay-in-touch schedules their items show."""

    candidacies: bytes
    items: bytes
    stay_in_touch: bytes
    schedules: dict[tuple[UUID, str], StayInTouchSchedule]


def read_latest_touches(conn: psycopg.Connection[Any], schema: str, ids: Collection[UUID]) -> dict[UUID, ContactFacts]:
    """Each stored contact's latest touch, LinkedIn connection and erasure: all the queue needs of it."""
    if not ids:
        return {}
    with conn.cursor(row_factory=tuple_row) as curs:  # hundreds a page: no dict per row
        curs.execute(
            SQL("SELECT contact_id, last_touch_at, linkedin_connected_at, erased_at "
                "FROM {}.follow_up_contacts WHERE contact_id = ANY(%b)").format(Identifier(schema)),
            (list(ids),),
        )
        return {
            contact_id: ContactFacts(contact_id, (last_touch_at,) if last_touch_at else (), connected_at, erased_at)
            for contact_id, last_touch_at, connected_at, erased_at in curs.fetchall()
        }


def evaluate_chunk(
    conn: psycopg.Connection[Any], schema: str, chunk: ChunkToEvaluate, policy: FollowUpPolicy,
) -> EvaluatedChunk:
    """Move each candidacy's facts on by what the batch adds to them and evaluate the rules: the rows to
    store. conn reads the stored facts and contacts: the storing transaction's own (in its process), or
    another connection (the helper's), which sees what the batches before committed, which is all it
    reads: a chunk's candidacies are stored again only once evaluated."""
    entries = orjson.loads(chunk.candidacies)
    stored = read_stored_candidacies(conn, schema, "follow_up_candidacies", ("owner_id", "team"),
                                     [UUID(entry[0]) for entry in entries if entry[1] is None])
    candidacies: list[tuple[CandidacyRow, Any]] = []  # each with its facts' JSON objects
    interviewers: set[UUID] = set()
    for candidacy_id, opened, interviews, deadlines, notes, check_ins, outcome in entries:
        if opened is None:
            owner_id, team, facts = stored[UUID(candidacy_id)]
        else:
            owner_id, team, facts = UUID(opened[0]), opened[1], opened[2]
        moved_on_json(facts, interviews, deadlines, notes, check_ins, outcome)
        row = CandidacyRow(facts_from_json(facts), owner_id, team)
        candidacies.append((row, facts))
        # Only a candidacy with an outcome has relationship items, the ones that read its interviewers.
        if row.facts.outcome is not None:
            interviewers.update(row.facts.interviewer_ids)
    known = {
        contact_id: ContactFacts(contact_id, (latest,) if latest is not None else (), connected, erased)
        for contact_id, latest, connected, erased in (
            (UUID(entry[0]), *(datetime.fromisoformat(value) if value else None for value in entry[1:]))
            for entry in orjson.loads(chunk.contacts)
        )
        if contact_id in interviewers
    }
    known.update(read_latest_touches(conn, schema, interviewers - known.keys()))

    # Only what the COPY data is made with: psycopg adapts values with a connection's adapters. The
    # cursor sends nothing.
    formatting = conn.cursor()
    stored_rows = io.BytesIO()
    with Copy(formatting, binary=True, writer=FileWriter(stored_rows)) as copy:
        copy.set_types(CANDIDACY_COLUMN_TYPES)
        for row, facts in candidacies:
            copy.write_row((row.facts.candidacy_id, row.facts.candidate_id, row.owner_id, row.team,
                            row.facts.outcome is not None, Jsonb(facts, dumps=orjson.dumps)))
    items = io.BytesIO()
    with Copy(formatting, binary=True, writer=FileWriter(items)) as copy:
        copy.set_types(ITEM_COLUMN_TYPES)
        stay_in_touch = copy_items(copy, (
            (row, follow_up_items(row.facts, AFTER_EVERYTHING, contacts=known, policy=policy))
            for row, _ in candidacies
        ))
    stay_in_touch_rows = io.BytesIO()
    with Copy(formatting, binary=True, writer=FileWriter(stay_in_touch_rows)) as copy:
        copy.set_types(STAY_IN_TOUCH_COLUMN_TYPES)
        copy_stay_in_touch(copy, stay_in_touch)
    return EvaluatedChunk(stored_rows.getvalue(), items.getvalue(), stay_in_touch_rows.getvalue(),
                          stay_in_touch_schedules(stay_in_touch))
