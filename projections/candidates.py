"""The candidates list: one row per registered candidate, by team and registration time, without personal data.

Its table, candidates, holds each candidate's owner and team, specialty, career stage
and when they were registered. Names, emails and phones stay encrypted in the log:
the API reads them from the aggregate (DESIGN §8).
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

    def record_tracking(self, curs: Cursor[DictRow], tracking: Tracking) -> None:
        self._insert_tracking(curs, tracking)


class CandidatesProjection(PagedProjection[CandidatesView]):
    name = "candidates"
    topics = (get_topic(Candidate.Registered),)

    def process_page(self, events: Sequence[DomainEventProtocol[UUID]], tracking: Tracking) -> None:
        registered = [event for event in events if isinstance(event, Candidate.Registered)]
        view = self.view
        with view.datastore.transaction(commit=True) as curs:
            view.start_page(curs, tracking.application_name)
            if registered:
                view.save_candidates(curs, registered)
            view.record_tracking(curs, tracking)
