"""The follow-up queue's items as rows: computed by the domain's rules from a candidacy's facts and
written in PostgreSQL's binary COPY format, in the process that stores them or, while a long catch-up
writes thousands of candidacies a transaction, in a process of their own (ItemsProcess).

Catching up, evaluating the rules and writing their rows was a third of the queue's CPU, in a process
whose threads share one interpreter lock while the machine has a second core. The helper process
takes the candidacies' facts as the JSON the queue stores anyway and gives back the rows as COPY
data, both cheap to send; the transaction stays the storing process's, which writes that data as it
is. The rules are the same functions either way, so are the rows."""

from __future__ import annotations

import io
import multiprocessing
import multiprocessing.connection
import os
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple
from uuid import UUID

import orjson
import psycopg
from psycopg import Copy, Cursor
from psycopg.copy import FileWriter

from domain.policy import FollowUpPolicy
from domain.rules import StayInTouchSchedule, follow_up_items
from domain.values import CandidacyFacts, ContactFacts, FollowUpItem, FollowUpKind
from infra.runtime import collect_garbage_less_often
from projections.candidacy_batches import AFTER_EVERYTHING
from projections.facts_codec import facts_from_json


@dataclass
class CandidacyRow:
    facts: CandidacyFacts
    owner_id: UUID
    team: str | None


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


class EvaluatedChunk(NamedTuple):
    """A chunk of candidacies' items, ready to store: COPY data for follow_up_candidacy_items and for
    follow_up_stay_in_touch (each a whole binary COPY stream), and the stay-in-touch schedules."""

    items: bytes
    stay_in_touch: bytes
    schedules: dict[tuple[UUID, str], StayInTouchSchedule]


# What is sent for a candidacy: its facts as stored (JSON), its owner's id as text, its team; and for
# a contact: its id as text, its latest touch, LinkedIn connection and erasure. Strings and datetimes
# pickle fast; the facts and items as objects cost about what evaluating them does.
SentCandidacy = tuple[str, str, str | None]
SentContact = tuple[str, datetime | None, datetime | None, datetime | None]


class ItemsProcess:
    """A process of its own that evaluates the rules of a chunk of candidacies and returns their rows
    (started with `spawn`: it shares nothing with this process's threads and connections)."""

    def __init__(self, policy: FollowUpPolicy, conninfo: dict[str, Any]) -> None:
        self._executor = ProcessPoolExecutor(
            max_workers=1, mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_helper, initargs=(policy, conninfo),
        )

    def evaluate(
        self, rows: Sequence[CandidacyRow], facts_json: Sequence[str], contacts: Iterable[ContactFacts],
    ) -> Future[EvaluatedChunk]:
        """The rows of the candidacies' items (facts_json: each one's facts as the queue stores them),
        given the contacts of their interviewers (only a candidacy with an outcome reads them)."""
        sent_rows = [(text, str(row.owner_id), row.team) for row, text in zip(rows, facts_json, strict=True)]
        sent_contacts = [
            (str(contact.contact_id), max(contact.touches, default=None),
             contact.linkedin_connected_at, contact.erased_at)
            for contact in contacts
        ]
        return self._executor.submit(_evaluate_in_helper, sent_rows, sent_contacts)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


# The helper process's state, set once as it starts.
_policy: FollowUpPolicy | None = None
_cursor: Cursor[Any] | None = None


def _start_helper(policy: FollowUpPolicy, conninfo: dict[str, Any]) -> None:
    global _policy, _cursor
    threading.Thread(target=_exit_with_parent, daemon=True, name="exit-with-parent").start()
    _policy = policy
    collect_garbage_less_often()  # as the process it works for (the facts and items of a chunk are many objects)
    # Only what the COPY data is made with: psycopg adapts values with a connection's adapters. The
    # connection sends nothing.
    _cursor = psycopg.connect(**conninfo, autocommit=True).cursor()


def _exit_with_parent() -> None:
    """End the helper when the process it works for ends, however it ends: killed (SIGKILL, the
    machine's OOM killer), that process never says so, and the helper would wait for work forever."""
    parent = multiprocessing.parent_process()
    assert parent is not None
    multiprocessing.connection.wait([parent.sentinel])
    os._exit(0)


def _evaluate_in_helper(rows: list[SentCandidacy], contacts: list[SentContact]) -> EvaluatedChunk:
    assert _policy is not None and _cursor is not None
    known = {
        UUID(contact_id): ContactFacts(UUID(contact_id), (latest,) if latest is not None else (), connected, erased)
        for contact_id, latest, connected, erased in contacts
    }
    candidacies = [CandidacyRow(facts_from_json(orjson.loads(text)), UUID(owner_id), team)
                   for text, owner_id, team in rows]
    items = io.BytesIO()
    with Copy(_cursor, binary=True, writer=FileWriter(items)) as copy:
        copy.set_types(ITEM_COLUMN_TYPES)
        stay_in_touch = copy_items(copy, (
            (row, follow_up_items(row.facts, AFTER_EVERYTHING, contacts=known, policy=_policy)) for row in candidacies
        ))
    stay_in_touch_rows = io.BytesIO()
    with Copy(_cursor, binary=True, writer=FileWriter(stay_in_touch_rows)) as copy:
        copy.set_types(STAY_IN_TOUCH_COLUMN_TYPES)
        copy_stay_in_touch(copy, stay_in_touch)
    return EvaluatedChunk(items.getvalue(), stay_in_touch_rows.getvalue(), stay_in_touch_schedules(stay_in_touch))
