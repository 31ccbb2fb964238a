"""The follow-up queue's candidacies and items as rows: each changed candidacy's facts moved on by what
a batch adds to them, its items computed by the domain's rules, all written in PostgreSQL's binary COPY
format, in the process that stores them or, while a long catch-up writes thousands of candidacies a
transaction, in processes of their own (ItemsProcess).

Catching up, reading the stored facts back, moving them on and evaluating the rules was most of the
queue's CPU, in a process whose threads share one interpreter lock while the machine has a second core.
A helper process is sent what the batch adds to each candidacy (JSON, cheap to write and to send), reads
the stored facts itself and gives back the rows as COPY data; the transaction stays the storing
process's, which writes that data as it is. The rules are the same functions either way, so are the rows."""

from __future__ import annotations

import io
import multiprocessing
import multiprocessing.connection
import os
import threading
from collections.abc import Collection, Iterable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
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
from psycopg.types.json import Jsonb, set_json_loads

from domain.policy import FollowUpPolicy
from domain.rules import StayInTouchSchedule, follow_up_items
from domain.values import CandidacyFacts, ContactFacts, FollowUpItem, FollowUpKind
from infra.runtime import collect_garbage_less_often
from projections.candidacy_batches import AFTER_EVERYTHING, FactsInProgress
from projections.facts_codec import facts_from_json


@dataclass
class CandidacyRow:
    facts: CandidacyFacts
    owner_id: UUID
    team: str | None


# A candidacy's stored row: owner, team and facts (as their JSON's objects).
StoredCandidacy = tuple[UUID, str | None, dict[str, Any]]

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


class ChunkToEvaluate(NamedTuple):
    """A chunk of a batch's changed candidacies as it is sent to be evaluated, in JSON (orjson writes it
    from the objects the batch took in, fast, and it travels as bytes):
    - candidacies: for each one, [candidacy_id, opened, interviews, deadlines, notes, check_ins, outcome]:
      opened is [owner_id, team, facts] for a candidacy opened in the batch, null for one
      whose facts are stored; the rest is what the batch's events add to its facts, written as the
      facts' JSON writes them (projections.facts_codec);
    - contacts: [contact_id, latest touch, LinkedIn connection, erasure] of each contact the batch
      changes, as of its end (the stored ones are read where the chunk is evaluated)."""

    candidacies: bytes
    contacts: bytes


def chunk_to_evaluate(
    chunk: Sequence[UUID], opened: Mapping[UUID, CandidacyRow], moved: Mapping[UUID, FactsInProgress],
    contacts: bytes,
) -> ChunkToEvaluate:
    """The chunk's candidacies as sent to be evaluated; contacts: contacts_to_send of the batch's."""
    entries = []
    for candidacy_id in chunk:
        row = opened.get(candidacy_id)
        start = None if row is None else (row.owner_id, row.team, row.facts)
        progress = moved.get(candidacy_id)
        if progress is None:
            entries.append((candidacy_id, start, (), (), (), (), None))
        else:
            entries.append((candidacy_id, start, progress.interviews, progress.deadlines, progress.notes,
                            progress.check_ins, progress.outcome))
    return ChunkToEvaluate(orjson.dumps(entries), contacts)


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


def read_candidacies(conn: psycopg.Connection[Any], schema: str, ids: Sequence[UUID]) -> dict[UUID, StoredCandidacy]:
    """The stored candidacies among ids: owner, team and facts (as their JSON's objects)."""
    if not ids:
        return {}
    with conn.cursor(row_factory=tuple_row) as curs:
        set_json_loads(orjson.loads, curs)
        curs.execute(
            SQL("SELECT candidacy_id, owner_id, team, facts FROM {}.follow_up_candidacies "
                "WHERE candidacy_id = ANY(%b)").format(Identifier(schema)),
            (list(ids),),
        )
        return {candidacy_id: (owner_id, team, facts) for candidacy_id, owner_id, team, facts in curs.fetchall()}


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
    stored = read_candidacies(conn, schema, [UUID(entry[0]) for entry in entries if entry[1] is None])
    candidacies: list[tuple[CandidacyRow, Any]] = []  # each with its facts' JSON objects
    interviewers: set[UUID] = set()
    for candidacy_id, opened, interviews, deadlines, notes, check_ins, outcome in entries:
        if opened is None:
            owner_id, team, facts = stored[UUID(candidacy_id)]
        else:
            owner_id, team, facts = UUID(opened[0]), opened[1], opened[2]
        # In JSON, as the facts are stored: the batch's events come after all of them, in log order.
        facts["interviews"] += interviews
        facts["deadlines"] += deadlines
        facts["notes"] += notes
        facts["check_ins"] += check_ins
        if outcome is not None:
            facts["outcome"] = outcome
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


# How many processes evaluate a batch's chunks. With the facts read and moved on where the rules run,
# the storing process mostly waits for the chunks to come back: a second helper uses the core the
# first leaves idle (catching up on a million events on 2 cores: 75.3-81.4 s with two, 80.4-93.1 s
# with one, same hour).
HELPER_PROCESSES = 2


class ItemsProcess:
    """Processes of their own that evaluate chunks of candidacies (evaluate_chunk) and return their rows
    (started with `spawn`: they share nothing with this process's threads and connections). Each reads
    with a connection of its own; chunks come back in the order they were sent."""

    def __init__(self, policy: FollowUpPolicy, conninfo: dict[str, Any], schema: str) -> None:
        self._schema = schema
        self._executor = ProcessPoolExecutor(
            max_workers=HELPER_PROCESSES, mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_helper, initargs=(policy, conninfo),
        )

    def evaluate(self, chunk: ChunkToEvaluate) -> Future[EvaluatedChunk]:
        return self._executor.submit(_evaluate_in_helper, self._schema, chunk)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


# The name the helpers' connections go by in pg_stat_activity.
HELPER_APPLICATION_NAME = "followup-queue-helper"

# The helper process's state, set once as it starts.
_policy: FollowUpPolicy | None = None
_conninfo: dict[str, Any] = {}
_connection: psycopg.Connection[Any] | None = None


def _start_helper(policy: FollowUpPolicy, conninfo: dict[str, Any]) -> None:
    global _policy, _conninfo
    threading.Thread(target=_exit_with_parent, daemon=True, name="exit-with-parent").start()
    _policy, _conninfo = policy, conninfo
    collect_garbage_less_often()  # as the process it works for (the facts and items of a chunk are many objects)
    _reconnect()


def _reconnect() -> psycopg.Connection[Any]:
    global _connection
    if _connection is not None:
        _connection.close()
    # Autocommit: each read sees what the batches before this one committed.
    _connection = psycopg.connect(**_conninfo, autocommit=True, application_name=HELPER_APPLICATION_NAME)
    return _connection


def _exit_with_parent() -> None:
    """End the helper when the process it works for ends, however it ends: killed (SIGKILL, the
    machine's OOM killer), that process never says so, and the helper would wait for work forever."""
    parent = multiprocessing.parent_process()
    assert parent is not None
    multiprocessing.connection.wait([parent.sentinel])
    os._exit(0)


def _evaluate_in_helper(schema: str, chunk: ChunkToEvaluate) -> EvaluatedChunk:
    assert _policy is not None and _connection is not None
    try:
        return evaluate_chunk(_connection, schema, chunk, _policy)
    except psycopg.OperationalError:
        # The connection was lost (the server restarted, the backend was terminated): the helper outlives
        # the batch that failed with it, and the chunk only reads, so it is read once more on a new one.
        # Where the server is still away, that fails too, and the batch with it.
        return evaluate_chunk(_reconnect(), schema, chunk, _policy)
