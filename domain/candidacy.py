"""Candidacy: one candidate pursuing one position at one company; the stream of its follow-up."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID
from zoneinfo import ZoneInfo

from eventsourcing.domain import Aggregate, event

from domain.errors import CandidacyClosed, InvalidCommand
from domain.guards import require_aware, require_past
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

MAX_INTERVIEWERS = 50


class Candidacy(Aggregate):
    @event("Opened")
    def __init__(
        self,
        candidate_id: UUID,
        owner_id: UUID,
        team: str | None,
        company: str,
        position: str,
        timezone: str,
        country: str,
        subdivision: str | None,
        actor_id: UUID,
        correlation_id: str,
        occurred_at: datetime,
    ) -> None:
        self.candidate_id = candidate_id
        self.owner_id = owner_id
        self.team = team
        self.company = company
        self.position = position
        self.timezone = timezone
        self.country = country
        self.subdivision = subdivision
        self.interviews: list[InterviewRound] = []
        self.deadlines: list[StatedDeadline] = []
        self.notes: list[SentNote] = []
        self.check_ins: list[SentCheckIn] = []
        self.outcome: RecordedOutcome | None = None

    # Commands: each checks the rules, then records the fact.

    def record_interview(
        self,
        held_at: datetime,
        interviewer_ids: list[UUID],
        format: InterviewFormat,
        *,
        now: datetime,
        actor_id: UUID,
        correlation_id: str,
    ) -> None:
        self._require_open("an interview")
        require_past(held_at, now, "held_at")
        if not interviewer_ids:
            raise InvalidCommand("an interview needs at least one interviewer", field="interviewer_ids")
        if len(interviewer_ids) > MAX_INTERVIEWERS:
            raise InvalidCommand(f"at most {MAX_INTERVIEWERS} interviewers per round", field="interviewer_ids")
        if len(set(interviewer_ids)) != len(interviewer_ids):
            raise InvalidCommand("an interviewer is listed twice", field="interviewer_ids")
        self._interview(held_at, list(interviewer_ids), format, actor_id, correlation_id, held_at)

    def state_deadline(
        self, decide_by: date, stated_at: datetime, *, now: datetime, actor_id: UUID, correlation_id: str
    ) -> None:
        self._require_open("a decision date")
        require_past(stated_at, now, "stated_at")
        if self.interviews:
            latest_round_date = self._local_date(self.latest_round.held_at)
            if decide_by < latest_round_date:
                raise InvalidCommand(
                    f"decide_by {decide_by.isoformat()} is before the interview on {latest_round_date.isoformat()}",
                    field="decide_by",
                )
        stated_on = self._local_date(stated_at)
        if decide_by < stated_on:
            raise InvalidCommand(
                f"decide_by {decide_by.isoformat()} is before the day it was stated ({stated_on.isoformat()})",
                field="decide_by",
            )
        self._deadline_stated(decide_by, stated_at, actor_id, correlation_id, stated_at)

    def send_note(
        self,
        contact_id: UUID,
        kind: NoteKind,
        channel: Channel,
        sent_at: datetime,
        *,
        now: datetime,
        actor_id: UUID,
        correlation_id: str,
    ) -> None:
        require_past(sent_at, now, "sent_at")
        if kind is NoteKind.THANK_YOU:
            rounds_with_contact = [r for r in self.interviews if contact_id in r.interviewer_ids]
            if not rounds_with_contact:
                raise InvalidCommand(
                    "a thank-you note goes to someone who interviewed the candidate; "
                    f"contact {contact_id} did not interview for this candidacy",
                    field="contact_id",
                )
            if all(sent_at < r.held_at for r in rounds_with_contact):
                raise InvalidCommand(
                    "sent_at is before the interview with this contact: a thank-you follows the interview",
                    field="sent_at",
                )
        self._note_sent(contact_id, kind, channel, sent_at, actor_id, correlation_id, sent_at)

    def send_check_in(
        self,
        channel: Channel,
        contact_id: UUID | None,
        sent_at: datetime,
        *,
        now: datetime,
        actor_id: UUID,
        correlation_id: str,
    ) -> None:
        self._require_open("a check-in")
        require_past(sent_at, now, "sent_at")
        if not any(r.held_at <= sent_at for r in self.interviews):
            raise InvalidCommand(
                "a check-in follows an interview: no interview was held before sent_at", field="sent_at"
            )
        self._check_in_sent(channel, contact_id, sent_at, actor_id, correlation_id, sent_at)

    def record_outcome(
        self, outcome: Outcome, occurred_at: datetime, *, now: datetime, actor_id: UUID, correlation_id: str
    ) -> None:
        self._require_open("another outcome")
        require_past(occurred_at, now, "occurred_at")
        self._outcome_recorded(outcome, actor_id, correlation_id, occurred_at)

    # Events: the facts, named as the product names them.

    @event("Interview")
    def _interview(
        self,
        held_at: datetime,
        interviewer_ids: list[UUID],
        format: InterviewFormat,
        actor_id: UUID,
        correlation_id: str,
        occurred_at: datetime,
    ) -> None:
        self.interviews.append(InterviewRound(held_at, tuple(interviewer_ids), format))

    @event("DeadlineStated")
    def _deadline_stated(
        self, decide_by: date, stated_at: datetime, actor_id: UUID, correlation_id: str, occurred_at: datetime
    ) -> None:
        self.deadlines.append(StatedDeadline(decide_by, stated_at))

    @event("NoteSent")
    def _note_sent(
        self,
        contact_id: UUID,
        kind: NoteKind,
        channel: Channel,
        sent_at: datetime,
        actor_id: UUID,
        correlation_id: str,
        occurred_at: datetime,
    ) -> None:
        self.notes.append(SentNote(contact_id, kind, channel, sent_at))

    @event("CheckInSent")
    def _check_in_sent(
        self,
        channel: Channel,
        contact_id: UUID | None,
        sent_at: datetime,
        actor_id: UUID,
        correlation_id: str,
        occurred_at: datetime,
    ) -> None:
        self.check_ins.append(SentCheckIn(channel, sent_at, contact_id))

    @event("OutcomeRecorded")
    def _outcome_recorded(self, outcome: Outcome, actor_id: UUID, correlation_id: str, occurred_at: datetime) -> None:
        self.outcome = RecordedOutcome(outcome, occurred_at)

    # Reading.

    @property
    def is_closed(self) -> bool:
        return self.outcome is not None

    @property
    def latest_round(self) -> InterviewRound:
        return max(self.interviews, key=lambda r: r.held_at)

    @property
    def interviewer_ids(self) -> tuple[UUID, ...]:
        return self.facts().interviewer_ids

    def facts(self) -> CandidacyFacts:
        return CandidacyFacts(
            candidacy_id=self.id,
            candidate_id=self.candidate_id,
            timezone=self.timezone,
            country=self.country,
            subdivision=self.subdivision,
            interviews=tuple(self.interviews),
            deadlines=tuple(self.deadlines),
            notes=tuple(self.notes),
            check_ins=tuple(self.check_ins),
            outcome=self.outcome,
        )

    def _require_open(self, what: str) -> None:
        if self.outcome is not None:
            raise CandidacyClosed(
                f"the candidacy's outcome ({self.outcome.outcome.value}) is recorded: {what} can no longer be added"
            )

    def _local_date(self, instant: datetime) -> date:
        return require_aware(instant, "timestamp").astimezone(ZoneInfo(self.timezone)).date()
