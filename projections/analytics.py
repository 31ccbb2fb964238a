"""Follow-up analytics: per-interview and per-candidacy facts, and per-recruiter and per-team roll-ups.

Its tables (each candidacy's rows are recomputed from its facts, by the domain's rules,
whenever one of its events arrives):
- analytics_interviews: one row per interviewer of each interview round, with the
  thank-you note that answered it, how many hours it took and whether it was on time;
- analytics_candidacies: one row per candidacy, with its latest round, its check-in
  against the check-in window, the two-week guideline, the outcome, and the facts (JSON).

Its views, evaluated at now() so that nothing needs to run when a window closes:
- analytics_check_ins: each candidacy's check-in timing, with `missing` and `pending` resolved;
- analytics_recruiter_summary, analytics_team_summary: the compliance figures;
- analytics_recruiter_outcomes, analytics_team_outcomes: outcomes by whether a thank-you
  went out on time.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple
from uuid import UUID

import orjson
import psycopg

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Tracking
from eventsourcing.utils import get_topic
from psycopg import Copy, Cursor
from psycopg.copy import FileWriter
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier
from psycopg.types.json import Jsonb

from domain.candidacy import Candidacy
from domain.policy import FollowUpPolicy
from domain.rules import check_in_window, interview_items
from domain.values import (
    FLAG_EARLY,
    FLAG_LATE,
    CandidacyFacts,
    FollowUpItem,
    FollowUpKind,
    NoteKind,
)
from projections.candidacy_batches import (
    AFTER_EVERYTHING,
    CANDIDACY_FOLDS,
    CandidacyRowsView,
    ChunkToEvaluate,
    FactsInProgress,
    moved_on_json,
    opened_facts,
    read_stored_candidacies,
)
from projections.facts_codec import facts_from_json
from projections.helper_processes import HelpedProjection
from projections.paging import PagedProjection

# Check-in timings stored once known; `missing` (window closed, nothing sent) and
# `pending` (window still ahead) depend on the clock and are resolved by the views.
EARLY = "early"
ON_TIME = "on_time"
LATE = "late"
MISSING = "missing"
NOT_OWED = "not_owed"  # the outcome came before the window closed: no check-in was needed
CHECK_IN_TIMINGS = (EARLY, ON_TIME, LATE, MISSING, "pending", NOT_OWED)

# The compliance figures, defined once: the roll-up views below and the API's date-ranged
# queries (projections/queries.py) aggregate the same columns the same way.
THANK_YOU_FIGURES = """count(*) FILTER (WHERE thank_you_sent_at IS NOT NULL OR due_by < now()) AS thank_yous_owed,
    count(*) FILTER (WHERE on_time) AS thank_yous_on_time,
    count(*) FILTER (WHERE on_time IS false) AS thank_yous_late,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY hours_to_thank_you) AS median_hours_to_thank_you"""


def check_in_figures(timing_prefix: str = "") -> str:
    """Counts of check-ins by timing (named `timing_prefix` + timing) and of the 14-day guideline."""
    timings = ",\n    ".join(
        f"count(*) FILTER (WHERE timing = '{timing}') AS {timing_prefix}{timing}" for timing in CHECK_IN_TIMINGS
    )
    return f"""{timings},
    count(*) FILTER (WHERE followed_up_within_14_days
                     OR latest_round_held_at < now() - interval '14 days') AS follow_ups_measured,
    count(*) FILTER (WHERE followed_up_within_14_days) AS followed_up_within_14_days"""


@dataclass
class CandidacyRow:
    facts: CandidacyFacts
    owner_id: UUID
    team: str | None
    company: str


@dataclass(frozen=True)
class InterviewFact:
    """One interviewer of one round, and the thank-you that answered it."""

    candidacy_id: UUID
    held_at: datetime
    contact_id: UUID
    owner_id: UUID
    team: str | None
    format: str
    due_by: datetime
    thank_you_sent_at: datetime | None
    hours_to_thank_you: float | None
    on_time: bool | None
    channel: str | None


@dataclass(frozen=True)
class CandidacyFact:
    candidacy_id: UUID
    candidate_id: UUID
    owner_id: UUID
    team: str | None
    company: str
    interviews: int
    latest_round_held_at: datetime | None
    check_in_due_from: datetime | None
    check_in_due_by: datetime | None
    check_in_sent_at: datetime | None
    check_in_timing: str | None
    followed_up_within_14_days: bool | None
    outcome: str | None
    outcome_at: datetime | None
    thank_you_within_24h: bool
    facts: CandidacyFacts


def _summary_view(name: str, group_by: str) -> str:
    """A roll-up view of the compliance figures, grouped by `group_by` columns."""
    return f"""CREATE OR REPLACE VIEW {{schema}}.{name} AS
        WITH thank_yous AS (
            SELECT {group_by},
                   {THANK_YOU_FIGURES}
            FROM {{schema}}.analytics_interviews GROUP BY {group_by}),
        check_ins AS (
            SELECT {group_by},
                   {check_in_figures("check_ins_")}
            FROM {{schema}}.analytics_check_ins GROUP BY {group_by})
        SELECT {group_by},
               coalesce(t.thank_yous_owed, 0) AS thank_yous_owed,
               coalesce(t.thank_yous_on_time, 0) AS thank_yous_on_time,
               coalesce(t.thank_yous_late, 0) AS thank_yous_late,
               t.thank_yous_on_time::double precision / nullif(t.thank_yous_owed, 0) AS thank_you_on_time_rate,
               t.median_hours_to_thank_you,
               coalesce(c.check_ins_early, 0) AS check_ins_early,
               coalesce(c.check_ins_on_time, 0) AS check_ins_on_time,
               coalesce(c.check_ins_late, 0) AS check_ins_late,
               coalesce(c.check_ins_missing, 0) AS check_ins_missing,
               coalesce(c.check_ins_pending, 0) AS check_ins_pending,
               coalesce(c.check_ins_not_owed, 0) AS check_ins_not_owed,
               coalesce(c.follow_ups_measured, 0) AS follow_ups_measured,
               coalesce(c.followed_up_within_14_days, 0) AS followed_up_within_14_days,
               c.followed_up_within_14_days::double precision / nullif(c.follow_ups_measured, 0)
                   AS followed_up_within_14_days_share
        FROM thank_yous t FULL JOIN check_ins c USING ({group_by})"""


def _outcomes_view(name: str, group_by: str) -> str:
    return f"""CREATE OR REPLACE VIEW {{schema}}.{name} AS
        SELECT {group_by}, outcome, thank_you_within_24h, count(*) AS candidacies
        FROM {{schema}}.analytics_candidacies
        WHERE outcome IS NOT NULL
        GROUP BY {group_by}, outcome, thank_you_within_24h"""


class AnalyticsView(CandidacyRowsView):
    """The analytics tables and views, written with the tracking record in one transaction."""

    # A changed candidacy's rows, stored again whole (see insert_evaluated).
    candidacy_tables = ("analytics_candidacies", "analytics_interviews")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sql_create_statements.extend(
            self.sql(statement)
            for statement in (
                """CREATE TABLE IF NOT EXISTS {schema}.analytics_candidacies (
                    candidacy_id uuid PRIMARY KEY,
                    candidate_id uuid NOT NULL,
                    owner_id uuid NOT NULL,
                    team text,
                    company text NOT NULL,
                    interviews integer NOT NULL,
                    latest_round_held_at timestamptz,
                    check_in_due_from timestamptz,
                    check_in_due_by timestamptz,
                    check_in_sent_at timestamptz,
                    check_in_timing text,
                    followed_up_within_14_days boolean,
                    outcome text,
                    outcome_at timestamptz,
                    thank_you_within_24h boolean NOT NULL,
                    facts jsonb NOT NULL)""",
                """CREATE INDEX IF NOT EXISTS analytics_candidacies_by_owner
                    ON {schema}.analytics_candidacies (owner_id, latest_round_held_at)""",
                """CREATE INDEX IF NOT EXISTS analytics_candidacies_by_team
                    ON {schema}.analytics_candidacies (team, latest_round_held_at)""",
                """CREATE TABLE IF NOT EXISTS {schema}.analytics_interviews (
                    candidacy_id uuid NOT NULL,
                    held_at timestamptz NOT NULL,
                    contact_id uuid NOT NULL,
                    owner_id uuid NOT NULL,
                    team text,
                    format text NOT NULL,
                    due_by timestamptz NOT NULL,
                    thank_you_sent_at timestamptz,
                    hours_to_thank_you double precision,
                    on_time boolean,
                    channel text)""",
                """CREATE INDEX IF NOT EXISTS analytics_interviews_by_candidacy
                    ON {schema}.analytics_interviews (candidacy_id)""",
                """CREATE INDEX IF NOT EXISTS analytics_interviews_by_team
                    ON {schema}.analytics_interviews (team, held_at)""",
                """CREATE INDEX IF NOT EXISTS analytics_interviews_by_owner
                    ON {schema}.analytics_interviews (owner_id, held_at)""",
                """CREATE OR REPLACE VIEW {schema}.analytics_check_ins AS
                    SELECT candidacy_id, candidate_id, owner_id, team, company, latest_round_held_at,
                           check_in_due_from, check_in_due_by, check_in_sent_at,
                           CASE
                               WHEN check_in_timing IS NOT NULL THEN check_in_timing
                               WHEN latest_round_held_at IS NULL THEN NULL
                               WHEN check_in_due_by < now() THEN 'missing'
                               ELSE 'pending'
                           END AS timing,
                           followed_up_within_14_days, outcome, outcome_at
                    FROM {schema}.analytics_candidacies""",
                _summary_view("analytics_recruiter_summary", "owner_id, team"),
                _summary_view("analytics_team_summary", "team"),
                _outcomes_view("analytics_recruiter_outcomes", "owner_id, team"),
                _outcomes_view("analytics_team_outcomes", "team"),
            )
        )

    def sql(self, statement: str) -> Composed:
        return SQL(statement).format(schema=Identifier(self.datastore.schema))

    def insert_evaluated(self, curs: Cursor[DictRow], evaluated: EvaluatedAnalytics) -> None:
        """Insert the rows of an evaluated chunk: its COPY data as it came."""
        with curs.copy(self.sql(f"COPY {{schema}}.analytics_candidacies ({CANDIDACY_COLUMNS}) FROM STDIN (FORMAT BINARY)")) as copy:
            copy.write(evaluated.candidacies)
        with curs.copy(self.sql(f"COPY {{schema}}.analytics_interviews ({INTERVIEW_COLUMNS}) FROM STDIN (FORMAT BINARY)")) as copy:
            copy.write(evaluated.interviews)


CANDIDACY_COLUMNS = (
    "candidacy_id, candidate_id, owner_id, team, company, interviews, latest_round_held_at, check_in_due_from, "
    "check_in_due_by, check_in_sent_at, check_in_timing, followed_up_within_14_days, outcome, outcome_at, "
    "thank_you_within_24h, facts"
)
CANDIDACY_COLUMN_TYPES = ("uuid", "uuid", "uuid", "text", "text", "int4", "timestamptz", "timestamptz", "timestamptz",
                          "timestamptz", "text", "bool", "text", "timestamptz", "bool", "jsonb")
INTERVIEW_COLUMNS = ("candidacy_id, held_at, contact_id, owner_id, team, format, due_by, thank_you_sent_at, "
                     "hours_to_thank_you, on_time, channel")
INTERVIEW_COLUMN_TYPES = ("uuid", "timestamptz", "uuid", "uuid", "text", "text", "timestamptz", "timestamptz",
                          "float8", "bool", "text")


class EvaluatedAnalytics(NamedTuple):
    """A chunk of candidacies evaluated, ready to store: their rows of analytics_candidacies (facts moved
    on by the batch) and of analytics_interviews, each a whole binary COPY stream."""

    candidacies: bytes
    interviews: bytes


def evaluate_analytics_chunk(
    conn: psycopg.Connection[Any], schema: str, chunk: ChunkToEvaluate, policy: FollowUpPolicy,
) -> EvaluatedAnalytics:
    """Move each candidacy's facts on by what the batch adds to them and compute its rows. conn reads the
    stored facts: the storing transaction's own (in its process), or a helper's, which sees what the
    batches before committed, which is all it reads (see projections.helper_processes)."""
    entries = orjson.loads(chunk.candidacies)
    stored = read_stored_candidacies(conn, schema, "analytics_candidacies", ("owner_id", "team", "company"),
                                     [UUID(entry[0]) for entry in entries if entry[1] is None])
    formatting = conn.cursor()  # only what the COPY data is made with: it sends nothing
    candidacy_rows = []
    interviews = io.BytesIO()
    with Copy(formatting, binary=True, writer=FileWriter(interviews)) as copy:
        copy.set_types(INTERVIEW_COLUMN_TYPES)
        for candidacy_id, opened, *additions in entries:
            if opened is None:
                owner_id, team, company, facts = stored[UUID(candidacy_id)]
            else:
                owner_id, team, company, facts = UUID(opened[0]), opened[1], opened[2], opened[3]
            moved_on_json(facts, *additions)
            row = CandidacyRow(facts_from_json(facts), owner_id, team, company)
            items = interview_items(row.facts, AFTER_EVERYTHING, policy=policy)
            for f in interview_facts(row, items):
                copy.write_row((f.candidacy_id, f.held_at, f.contact_id, f.owner_id, f.team, f.format, f.due_by,
                                f.thank_you_sent_at, f.hours_to_thank_you, f.on_time, f.channel))
            candidacy_rows.append((candidacy_fact(row, items, policy), facts))
    candidacies = io.BytesIO()
    with Copy(formatting, binary=True, writer=FileWriter(candidacies)) as copy:
        copy.set_types(CANDIDACY_COLUMN_TYPES)
        for f, facts in candidacy_rows:
            copy.write_row((
                f.candidacy_id, f.candidate_id, f.owner_id, f.team, f.company, f.interviews, f.latest_round_held_at,
                f.check_in_due_from, f.check_in_due_by, f.check_in_sent_at, f.check_in_timing,
                f.followed_up_within_14_days, f.outcome, f.outcome_at, f.thank_you_within_24h,
                Jsonb(facts, dumps=orjson.dumps),
            ))
    return EvaluatedAnalytics(candidacies.getvalue(), interviews.getvalue())


# Catching up, analytics takes up to this many events in one transaction, so a candidacy whose
# events are spread over many pages is evaluated once (as for the follow-up queue, see its BATCH_EVENTS).
BATCH_EVENTS = 150_000


class AnalyticsProjection(HelpedProjection, PagedProjection[AnalyticsView]):
    name = "analytics"
    topics = tuple(
        get_topic(event_class)
        for event_class in (
            Candidacy.Opened, Candidacy.Interview, Candidacy.DeadlineStated, Candidacy.NoteSent,
            Candidacy.CheckInSent, Candidacy.OutcomeRecorded,
        )
    )

    batch_events = BATCH_EVENTS
    evaluate_in_helpers = staticmethod(evaluate_analytics_chunk)
    # With its chunks evaluated in the helper processes, a batch's write mostly waits for them: catching
    # up on a million events, 53.3-54.7 s written behind against 61.5 s in turn (peak RSS 335-342 MB
    # against 293 MB).
    write_behind = True

    def start_batch(self) -> AnalyticsBatch:
        return AnalyticsBatch(self)

    def process_page(self, events: Sequence[DomainEventProtocol[UUID]], tracking: Tracking) -> None:
        batch = self.start_batch()
        batch.add(events)
        batch.write(tracking)



class AnalyticsBatch:
    """Events taken in for one transaction: each changed candidacy's facts, moved on by its events as
    they come (read from the tables the first time the batch meets the candidacy). Its rows are
    computed when the batch is written."""

    def __init__(self, projection: AnalyticsProjection) -> None:
        self.projection = projection
        self.opened: dict[UUID, CandidacyRow] = {}  # opened in the batch: no rows stored for them yet
        self.moved: dict[UUID, FactsInProgress] = {}  # what the batch adds to each candidacy's facts

    def add(self, events: Sequence[DomainEventProtocol[UUID]]) -> None:
        for event in events:
            if (fold := CANDIDACY_FOLDS.get(type(event))) is not None:
                if (moved := self.moved.get(event.originator_id)) is None:
                    moved = self.moved[event.originator_id] = FactsInProgress()
                fold(moved, event)
            elif type(event) is Candidacy.Opened:
                self.opened[event.originator_id] = CandidacyRow(opened_facts(event), event.owner_id, event.team,
                                                                event.company)

    def write(self, tracking: Tracking) -> None:
        view = self.projection.view
        changed = sorted(self.moved.keys() | self.opened.keys())
        with view.datastore.transaction(commit=True) as curs:
            view.start_page(curs, tracking.application_name)
            # A chunk of candidacies at a time, as the follow-up queue writes them: each one's stored facts
            # read once and moved on by all its events of the batch. Catching up, in the helper processes,
            # while this one stores each chunk as it comes back.
            opened = {cid: (row.owner_id, row.team, row.company, row.facts) for cid, row in self.opened.items()}
            for chunk, evaluated in self.projection.evaluate_batch(curs.connection, changed, opened, self.moved):
                # A candidacy opened in this batch has nothing stored yet; the others' rows are stored again.
                with curs.connection.pipeline():
                    view.delete_candidacies(curs, [cid for cid in chunk if cid not in self.opened])
                view.insert_evaluated(curs, evaluated)
            view.record_tracking(curs, tracking)


def interview_facts(row: CandidacyRow, items: list[FollowUpItem]) -> list[InterviewFact]:
    """The candidacy's analytics_interviews rows, from the rules' items (interview_items)."""
    facts = row.facts
    formats = {round_.held_at: round_.format.value for round_ in facts.interviews}
    result = []
    for item in _of_kind(items, FollowUpKind.THANK_YOU):
        assert item.contact_id is not None  # a thank-you is always to one interviewer
        sent_at = item.done_at
        channel = next(
            (note.channel.value for note in facts.notes
             if note.kind is NoteKind.THANK_YOU and note.contact_id == item.contact_id
             and note.sent_at == sent_at),
            None,
        )
        result.append(InterviewFact(
            candidacy_id=facts.candidacy_id,
            held_at=item.opened_at,
            contact_id=item.contact_id,
            owner_id=row.owner_id,
            team=row.team,
            format=formats[item.opened_at],
            due_by=item.due_by,
            thank_you_sent_at=sent_at,
            hours_to_thank_you=_hours_between(item.opened_at, sent_at) if sent_at is not None else None,
            on_time=(FLAG_LATE not in item.flags) if sent_at is not None else None,
            channel=channel,
        ))
    return result


def candidacy_fact(row: CandidacyRow, items: list[FollowUpItem], policy: FollowUpPolicy) -> CandidacyFact:
    """The candidacy's analytics_candidacies row, from the rules' items (interview_items)."""
    facts = row.facts
    latest_round = max(facts.interviews, key=lambda r: r.held_at) if facts.interviews else None
    due_from = due_by = sent_at = None
    timing = followed_up = None
    if latest_round is not None:
        due_from, due_by, sent_at, timing = _check_in(facts, latest_round.held_at, items, policy)
        within = latest_round.held_at + timedelta(days=policy.follow_up_within_days)
        followed_up = any(latest_round.held_at <= c.sent_at <= within for c in facts.check_ins)
    thank_yous = _of_kind(items, FollowUpKind.THANK_YOU)
    return CandidacyFact(
        candidacy_id=facts.candidacy_id,
        candidate_id=facts.candidate_id,
        owner_id=row.owner_id,
        team=row.team,
        company=row.company,
        interviews=len(facts.interviews),
        latest_round_held_at=latest_round.held_at if latest_round is not None else None,
        check_in_due_from=due_from,
        check_in_due_by=due_by,
        check_in_sent_at=sent_at,
        check_in_timing=timing,
        followed_up_within_14_days=followed_up,
        outcome=facts.outcome.outcome.value if facts.outcome is not None else None,
        outcome_at=facts.outcome.occurred_at if facts.outcome is not None else None,
        thank_you_within_24h=any(i.done_at is not None and FLAG_LATE not in i.flags for i in thank_yous),
        facts=facts,
    )


def _check_in(
    facts: CandidacyFacts, latest_round_held_at: datetime, items: list[FollowUpItem], policy: FollowUpPolicy
) -> tuple[datetime, datetime, datetime | None, str | None]:
    """The check-in that answered the latest round: its window, when it went out, and how timely it was."""
    check_ins = sorted(_of_kind(items, FollowUpKind.CHECK_IN), key=lambda i: i.opened_at)
    if check_ins:
        first = check_ins[0]
        if first.done_at is None:
            return first.due_from, first.due_by, None, None
        timing = EARLY if FLAG_EARLY in first.flags else LATE if FLAG_LATE in first.flags else ON_TIME
        return first.due_from, first.due_by, first.done_at, timing
    # No item: the outcome came before any check-in, so none is owed now. It was
    # missed if the window, as the employer had stated it by then, had already closed.
    assert facts.outcome is not None
    stated = sorted((d for d in facts.deadlines if d.stated_at <= facts.outcome.occurred_at),
                    key=lambda d: d.stated_at)
    window = check_in_window(
        latest_round_held_at,
        stated[-1].decide_by if stated else None,
        timezone=facts.timezone, country=facts.country, subdivision=facts.subdivision, policy=policy,
    )
    timing = MISSING if facts.outcome.occurred_at > window.due_by else NOT_OWED
    return window.due_from, window.due_by, None, timing


def _of_kind(items: list[FollowUpItem], kind: FollowUpKind) -> list[FollowUpItem]:
    return [item for item in items if item.kind is kind]


def _hours_between(start: datetime, end: datetime) -> float:
    return round((end.astimezone(UTC) - start.astimezone(UTC)).total_seconds() / 3600, 2)
