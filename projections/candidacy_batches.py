"""What the follow-up queue and analytics share to catch up in batches: what a batch's events add
to each candidacy's facts (taken in without touching a table), and the batch's changed candidacies
as they are sent, a chunk at a time, to be read back, moved on and evaluated when it is written."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar, NamedTuple
from uuid import UUID

import orjson
import psycopg
from psycopg import Cursor
from psycopg.rows import DictRow, tuple_row
from psycopg.sql import SQL, Identifier
from psycopg.types.json import set_json_loads

from domain.candidacy import Candidacy
from domain.values import (
    CandidacyFacts,
    InterviewRound,
    RecordedOutcome,
    SentCheckIn,
    SentNote,
    StatedDeadline,
)
from projections.paging import PagedView

# The projection keeps every fact it knows of, so it evaluates the rules after all of them.
AFTER_EVERYTHING = datetime(2100, 1, 1, tzinfo=UTC)


class FactsInProgress:
    """What a batch's events add to a candidacy's facts, taken in one event at a time over the batch's
    pages: lists to append to, added to the facts once, when the batch is written."""

    __slots__ = ("interviews", "deadlines", "notes", "check_ins", "outcome")

    def __init__(self) -> None:
        self.interviews: list[InterviewRound] = []
        self.deadlines: list[StatedDeadline] = []
        self.notes: list[SentNote] = []
        self.check_ins: list[SentCheckIn] = []
        self.outcome: RecordedOutcome | None = None


def _fold_interview(facts: FactsInProgress, event: Candidacy.Interview) -> None:
    facts.interviews.append(InterviewRound(event.held_at, tuple(event.interviewer_ids), event.format))


def _fold_deadline(facts: FactsInProgress, event: Candidacy.DeadlineStated) -> None:
    facts.deadlines.append(StatedDeadline(event.decide_by, event.stated_at))


def _fold_note(facts: FactsInProgress, event: Candidacy.NoteSent) -> None:
    facts.notes.append(SentNote(event.contact_id, event.kind, event.channel, event.sent_at))


def _fold_check_in(facts: FactsInProgress, event: Candidacy.CheckInSent) -> None:
    facts.check_ins.append(SentCheckIn(event.channel, event.sent_at, event.contact_id))


def _fold_outcome(facts: FactsInProgress, event: Candidacy.OutcomeRecorded) -> None:
    facts.outcome = RecordedOutcome(event.outcome, event.occurred_at)


# How each event of a candidacy after Opened moves its facts on, by the event's class: a page's
# events are dispatched by their exact class (the log's events are decoded to these classes).
CANDIDACY_FOLDS: dict[type, Callable[[FactsInProgress, Any], None]] = {
    Candidacy.Interview: _fold_interview,
    Candidacy.DeadlineStated: _fold_deadline,
    Candidacy.NoteSent: _fold_note,
    Candidacy.CheckInSent: _fold_check_in,
    Candidacy.OutcomeRecorded: _fold_outcome,
}


def opened_facts(opened: Candidacy.Opened) -> CandidacyFacts:
    """A candidacy's facts as it is opened: no interview, deadline, note, check-in or outcome yet."""
    return CandidacyFacts(opened.originator_id, opened.candidate_id, opened.timezone, opened.country,
                          opened.subdivision)


# How many changed candidacies a batch writes at a time: what their writes hold in memory (facts read back,
# items, statement parameters) is bounded by this, not by the batch.
WRITE_CHUNK = 5_000


class ChunkToEvaluate(NamedTuple):
    """A chunk of a batch's changed candidacies as it is sent to be evaluated, in JSON (orjson writes it
    from the objects the batch took in, fast, and it travels as bytes):
    - candidacies: for each one, [candidacy_id, opened, interviews, deadlines, notes, check_ins, outcome]:
      opened is what the read model keeps of a candidacy opened in the batch, ending with its facts
      (null for one whose facts are stored); the rest is what the batch's events add to its facts,
      written as the facts' JSON writes them (projections.facts_codec; see moved_on_json);
    - contacts: what the read model needs of the contacts the batch changes ([] if nothing)."""

    candidacies: bytes
    contacts: bytes = b"[]"


def chunk_to_evaluate(
    chunk: Sequence[UUID], opened: Mapping[UUID, tuple[Any, ...]], moved: Mapping[UUID, FactsInProgress],
    contacts: bytes = b"[]",
) -> ChunkToEvaluate:
    """The chunk's candidacies as sent to be evaluated (opened: what is sent of each one opened in the batch)."""
    entries = []
    for candidacy_id in chunk:
        start = opened.get(candidacy_id)
        progress = moved.get(candidacy_id)
        if progress is None:
            entries.append((candidacy_id, start, (), (), (), (), None))
        else:
            entries.append((candidacy_id, start, progress.interviews, progress.deadlines, progress.notes,
                            progress.check_ins, progress.outcome))
    return ChunkToEvaluate(orjson.dumps(entries), contacts)


def moved_on_json(facts: dict[str, Any], interviews: list[Any], deadlines: list[Any], notes: list[Any],
                  check_ins: list[Any], outcome: Any) -> None:
    """The facts' JSON (from projections.facts_codec) moved on, in place, by what a FactsInProgress took
    in (as chunk_to_evaluate sends it): the batch's events come after all of the facts, in log order."""
    facts["interviews"] += interviews
    facts["deadlines"] += deadlines
    facts["notes"] += notes
    facts["check_ins"] += check_ins
    if outcome is not None:
        facts["outcome"] = outcome


def read_stored_candidacies(
    conn: psycopg.Connection[Any], schema: str, table: str, columns: Sequence[str], ids: Sequence[UUID],
) -> dict[UUID, tuple[Any, ...]]:
    """The stored rows among ids of a read model's candidacies table (keyed by candidacy_id): the columns
    asked for, the facts last (as their JSON's objects)."""
    if not ids:
        return {}
    with conn.cursor(row_factory=tuple_row) as curs:
        set_json_loads(orjson.loads, curs)
        curs.execute(
            SQL("SELECT candidacy_id, {}, facts FROM {}.{} WHERE candidacy_id = ANY(%b)").format(
                SQL(", ").join(map(Identifier, columns)), Identifier(schema), Identifier(table)),
            (list(ids),),
        )
        return {row[0]: row[1:] for row in curs.fetchall()}


class CandidacyRowsView(PagedView):
    """The view of a read model that stores rows of each candidacy in candidacy_tables (each table with a
    candidacy_id), all of them written again when a batch changes the candidacy."""

    candidacy_tables: ClassVar[tuple[str, ...]]

    def delete_candidacies(self, curs: Cursor[DictRow], candidacy_ids: Sequence[UUID]) -> None:
        """Delete the candidacies' rows from every one of candidacy_tables (to store them again)."""
        if candidacy_ids:
            for table in self.candidacy_tables:
                curs.execute(SQL("DELETE FROM {}.{} WHERE candidacy_id = ANY(%b)").format(
                    Identifier(self.datastore.schema), Identifier(table)), (list(candidacy_ids),))
