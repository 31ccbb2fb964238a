"""The candidates list: one row per registered candidate, by team and registration time, without personal data.

Its table, candidates, holds each candidate's owner and team, specialty, career stage,
when they were registered and, once erased, when (erased_at). Names, emails and phones
stay encrypted in the log: the API reads them from the aggregate (DESIGN §8). An erased
candidate's row stays, so counts still add up, and the list leaves it out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Tracking
from eventsourcing.utils import get_topic
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier

from domain.candidate import Candidate
from projections.paging import PagedProjection, PagedView


class CandidatesView(PagedView):
    """The candidates table, written with the tracking record in one transaction."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sql_create_statements.extend(
            self.sql(statement)
            for statement in (
                """CREATE TABLE IF NOT EXISTS {schema}.candidates (
                    candidate_id uuid PRIMARY KEY,
                    owner_id uuid NOT NULL,
                    team text,
                    specialty text,
                    career_stage text,
                    registered_at timestamptz NOT NULL)""",
                # Tables made before erasure existed get the column too.
                "ALTER TABLE {schema}.candidates ADD COLUMN IF NOT EXISTS erased_at timestamptz",
                # "This team's candidates, oldest first", page by page.
                """CREATE INDEX IF NOT EXISTS candidates_by_team
                    ON {schema}.candidates (team, registered_at, candidate_id)""",
            )
        )

    def sql(self, statement: str) -> Composed:
        return SQL(statement).format(schema=Identifier(self.datastore.schema))

    def save_candidates(self, curs: Cursor[DictRow], registered: Sequence[Any]) -> None:
        curs.executemany(
            self.sql(
                "INSERT INTO {schema}.candidates (candidate_id, owner_id, team, specialty, career_stage, "
                "registered_at) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (candidate_id) DO NOTHING"
            ),
            [
                (event.originator_id, event.owner_id, event.team, event.specialty,
                 event.career_stage.value if event.career_stage is not None else None, event.occurred_at)
                for event in registered
            ],
        )

    def mark_erased(self, curs: Cursor[DictRow], erased: Sequence[Any]) -> None:
        curs.executemany(
            self.sql("UPDATE {schema}.candidates SET erased_at = %s WHERE candidate_id = %s AND erased_at IS NULL"),
            [(event.occurred_at, event.originator_id) for event in erased],
        )


class CandidatesProjection(PagedProjection[CandidatesView]):
    name = "candidates"
    # Catching up with the other read models, each full page is written while the next is taken in.
    write_behind = True
    topics = (get_topic(Candidate.Registered), get_topic(Candidate.Erased))

    def process_page(self, events: Sequence[DomainEventProtocol[UUID]], tracking: Tracking) -> None:
        registered = [event for event in events if isinstance(event, Candidate.Registered)]
        view = self.view
        with view.datastore.transaction(commit=True) as curs:
            view.start_page(curs, tracking.application_name)
            if registered:
                view.save_candidates(curs, registered)
            # After the registrations: a page may hold both a candidate's registration and erasure.
            erased = [event for event in events if isinstance(event, Candidate.Erased)]
            if erased:
                view.mark_erased(curs, erased)
            view.record_tracking(curs, tracking)
